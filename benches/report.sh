#!/usr/bin/env bash
# Every figure of docs/performance.md, in one session, one command:
#
#     benches/report.sh [output folder]        (default: target/perf-report)
#
# First the measurements that time things (they need a quiet machine: nothing else running),
# then those that count (instructions under callgrind, bytes of memory), which the load of the
# machine does not move. Each step writes its own file into the output folder; the console
# shows progress. About 35 minutes on 2 cores.
#
#   1. http.md       benches/http/run.sh, without its instruction counts (step 7 does them)
#   2. grpc.md       benches/grpc/run.sh, calls/s and instructions per call
#   3. criterion-*.txt  cargo bench: verify (per algorithm, floor parts, stack), policy,
#                    stores (in process at 1k..10M revoked, Redis at 1k..1M), scaling; the
#                    `stack` group again with the `metrics` feature (cost of recording)
#   4. memory.txt    bench-memory: the in-process store at 1k..10M revoked jtis, the verified
#                    cache at 1k..1M tokens, Redis at 1k..1M revoked jtis (a private server)
#   5. stack.txt     instructions per request in process (bench-stack), per mode
#   6. claims.txt    instructions per claims parse / verify / route (bench-claims)
#   7. http-instructions.md: the HTTP servers' instructions per request (instructions.sh)
#
# Needs what the scripts above need: wrk, h2load (nghttp2-client), valgrind, redis-server,
# taskset, curl, python3.
# Settings (environment): MEASUREMENT_TIME=2 (criterion, seconds per benchmark), SKIP="..."
# (step names to skip: http grpc criterion memory stack claims instructions).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-target/perf-report}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
MEASUREMENT_TIME=${MEASUREMENT_TIME:-2}
SKIP=${SKIP:-}
CRITERION=(--warm-up-time 1 --measurement-time "$MEASUREMENT_TIME")

step() { case " $SKIP " in *" $1 "*) return 1 ;; esac; echo "== $(date -u +%H:%M:%S) $1" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

REDIS_PID=
cleanup() { [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT

# A private Redis for the criterion Redis group and the memory figures (used_memory counts the
# whole server), on the load generator's core.
REDIS_PORT=$(free_port)
taskset -c 1 redis-server --port "$REDIS_PORT" --save '' --appendonly no --logfile /dev/null &
REDIS_PID=$!
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
sleep 0.5

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "memory: $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "rustc: $(rustc --version)"
  echo "redis: $(redis-server --version | awk '{print $3}')"
  echo "wrk: $(wrk --version 2>&1 | head -1 || true)"
  echo "h2load: $(h2load --version 2>&1 | head -1 || true)"
  echo "valgrind: $(valgrind --version)"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

echo "== building (release)" >&2
cargo build --release --quiet -p tollgate-benches --bins --target-dir "$TARGET"
cargo bench --quiet -p tollgate-benches --no-run --target-dir "$TARGET" 2>/dev/null

if step http; then
  INSTRUCTIONS=0 benches/http/run.sh >"$OUT/http.md"
fi
if step grpc; then
  benches/grpc/run.sh >"$OUT/grpc.md"
fi
if step criterion; then
  for bench in verify policy scaling; do
    cargo bench --quiet -p tollgate-benches --bench "$bench" -- "${CRITERION[@]}" \
      >"$OUT/criterion-$bench.txt" 2>&1
  done
  TOLLGATE_TEST_REDIS_URL="$REDIS_URL" cargo bench --quiet -p tollgate-benches --bench stores \
    -- "${CRITERION[@]}" >"$OUT/criterion-stores.txt" 2>&1
  cargo bench --quiet -p tollgate-benches --features metrics --bench verify -- stack \
    "${CRITERION[@]}" >"$OUT/criterion-stack-metrics.txt" 2>&1
fi
echo "== load average after the timed steps: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/machine.txt" >&2

if step memory; then
  MEMORY="$TARGET/release/bench-memory"
  {
    for count in 1000 10000 100000 1000000 10000000; do "$MEMORY" store "$count"; done
    for count in 1000 10000 100000 1000000; do "$MEMORY" cache "$count"; done
    for count in 1000 10000 100000 1000000; do "$MEMORY" redis "$REDIS_URL" "$count"; done
  } >"$OUT/memory.txt" 2>&1
fi

# Instructions per operation of a program run with two counts, given in place of the
# argument `N`: (Ir(n2) - Ir(n1)) / (n2 - n1), so that start-up cancels.
per_op() {
  local n1=$1 n2=$2 ir1 ir2
  shift 2
  ir1=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "${@/#N/$n1}" 2>&1 | awk '/Collected :/ {print $4}')
  ir2=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "${@/#N/$n2}" 2>&1 | awk '/Collected :/ {print $4}')
  echo $(((ir2 - ir1) / (n2 - n1)))
}

if step stack; then
  for mode in empty verify verify-cached verify-policy verify-revocation verify-revocation-policy \
    verify-revocation-policy-cached rejected; do
    echo "$mode $(per_op 1000 6000 "$TARGET/release/bench-stack" "$mode" N)"
  done >"$OUT/stack.txt"
fi
if step claims; then
  for mode in parse verify route route-claims; do
    echo "$mode $(per_op 1000 11000 "$TARGET/release/bench-claims" "$mode" N)"
  done >"$OUT/claims.txt"
  for status in active revoked; do
    echo "check-$status $(per_op 100000 200000 "$TARGET/release/bench-check" 10000 N "$status")"
  done >>"$OUT/claims.txt"
fi
if step instructions; then
  benches/http/instructions.sh >"$OUT/http-instructions.md"
fi
echo "== done: $OUT" >&2
