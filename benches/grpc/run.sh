#!/usr/bin/env bash
# The gRPC load comparison of docs/performance.md, in one command:
#
#     benches/grpc/run.sh
#
# Builds the server (release), then for each stack starts it pinned to one core, checks it
# answers OK with the token (and UNAUTHENTICATED without, where it authenticates), and loads
# it with h2load pinned to the other core: the same unary call (Customers/Get, a 10-byte
# request, the HTTP comparison's customer as the answer), the same HS256 token (~500 bytes,
# the HTTP comparison's), on loopback. Each round runs every stack once, bare tonic first and
# last; the table gives, per stack, the median over the rounds of calls/s, p50 and p99
# latency (from h2load's per-request log), and the ratio to bare tonic's median. After the
# load, the server's count of calls that reached the service must cover every call h2load
# saw succeed: a gRPC refusal is an HTTP 200 to h2load, so this is what proves the load was
# not refused.
#
# Then (unless INSTRUCTIONS=0) the instructions per call: each stack's server runs under
# valgrind's callgrind twice, for CALLS1 and CALLS2 calls (h2load -n, fixed connections), and
# (Ir(CALLS2) - Ir(CALLS1)) / (CALLS2 - CALLS1) cancels start-up and shutdown. Callgrind counts
# the user-space instructions of the server process only: not the kernel's network stack,
# not the load generator. The figure does not move with the machine's load.
#
# Needs: h2load (Debian: `apt-get install -y nghttp2-client`), valgrind (for the
# instructions), taskset (util-linux), python3.
# Settings (environment): ROUNDS=3 DURATION=6s WARMUP=2s CONNECTIONS=32 STREAMS=1
# SERVER_CPU=0 LOAD_CPU=1 STACKS="bare verify ..." INSTRUCTIONS=1 CALLS1=2000 CALLS2=12000
# CALLGRIND_CONNECTIONS=4 CARGO_TARGET_DIR (default: target).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
STREAMS=${STREAMS:-1}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
INSTRUCTIONS=${INSTRUCTIONS:-1}
CALLS1=${CALLS1:-2000}
CALLS2=${CALLS2:-12000}
CALLGRIND_CONNECTIONS=${CALLGRIND_CONNECTIONS:-4}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
STACKS=${STACKS:-"bare verify verify-cached verify-revocation-policy verify-revocation-policy-cached"}

tools="h2load taskset python3"
[ "$INSTRUCTIONS" = 0 ] || tools="$tools valgrind"
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian: apt-get install -y nghttp2-client util-linux python3 valgrind)" >&2; exit 1; }
done

echo "== building (release)" >&2
cargo build --release --quiet -p tollgate-benches --bin bench-grpc --target-dir "$TARGET"
SERVER="$TARGET/release/bench-grpc"
TOKEN=$("$SERVER" token)
WORK=$(mktemp -d)
"$SERVER" frame >"$WORK/frame"
echo "== token: ${#TOKEN} bytes, HS256; request frame: $(wc -c <"$WORK/frame") bytes" >&2
PATH_GET=/tollgate.benches.v1.Customers/Get

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_port PORT [SECONDS]
wait_port() {
  for _ in $(seq 1 $((${2:-10} * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# check STACK PORT: OK with the token, UNAUTHENTICATED without (bare: OK).
check() {
  local stack=$1 port=$2 with without expected=Unauthenticated
  with=$("$SERVER" call "$port" "$TOKEN")
  [ "$with" = Ok ] || { echo "$stack: answered $with with the token" >&2; return 1; }
  [ "$stack" != bare ] || expected=Ok
  without=$("$SERVER" call "$port")
  [ "$without" = "$expected" ] || { echo "$stack: answered $without without a token" >&2; return 1; }
}

# h2load_grpc ARGS...: h2load sending the call with the token.
h2load_grpc() {
  taskset -c "$LOAD_CPU" h2load "$@" -d "$WORK/frame" \
    -H 'content-type: application/grpc' -H 'te: trailers' \
    -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT$PATH_GET"
}

# succeeded OUTPUT: the calls h2load saw succeed (HTTP 200); fails unless every call did.
# (`requests: N total, N started, N done, N succeeded, 0 failed, 0 errored, 0 timeout`)
succeeded() {
  local requests statuses
  requests=$(echo "$1" | grep '^requests:')
  statuses=$(echo "$1" | grep '^status codes:')
  echo "$requests $statuses" | awk '{ if ($10 + $12 + $14 + $20 + $22 + $24 != 0) exit 1; print $8 }' || {
    echo "failed calls under load: $requests; $statuses" >&2
    return 1
  }
}

# stop PID LOG MINIMUM: stop the server; its count of answered calls must be at least MINIMUM.
stop() {
  local pid=$1 log=$2 minimum=$3 answered
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  answered=$(awk '/^answered/ {print $2}' "$log")
  if [ -z "$answered" ] || [ "$answered" -lt "$minimum" ]; then
    echo "the service answered ${answered:-no} calls of the $minimum h2load saw succeed: calls were refused" >&2
    return 1
  fi
}

RESULTS="$WORK/results"
run_stack() {
  local stack=$1 round=$2 pid out ok
  PORT=$(free_port)
  taskset -c "$SERVER_CPU" "$SERVER" "$stack" "$PORT" 2>"$WORK/server.log" &
  pid=$!
  wait_port "$PORT"
  check "$stack" "$PORT" || { kill "$pid"; return 1; }
  out=$(h2load_grpc -c"$CONNECTIONS" -m"$STREAMS" -t1 --warm-up-time="$WARMUP" -D"$DURATION" \
    --log-file="$WORK/calls.log")
  ok=$(succeeded "$out") || { kill "$pid"; return 1; }
  stop "$pid" "$WORK/server.log" "$((ok + 1))"
  python3 - "$round" "$stack" "$out" "$WORK/calls.log" >>"$RESULTS" <<'EOF'
import re, statistics, sys
round_, stack, out, log = sys.argv[1:]
rps = float(re.search(r"finished in [^,]+, ([0-9.]+) req/s", out).group(1))
times = sorted(int(line.split("\t")[2]) for line in open(log) if line.split("\t")[1] == "200")
q = statistics.quantiles(times, n=100)
print(round_, stack, rps, q[49], q[98])
EOF
  tail -1 "$RESULTS" | awk '{ printf "   round %s  %-34s %10.0f calls/s  p50 %7.0f us  p99 %7.0f us\n", $1, $2, $3, $4, $5 }' >&2
}

# instructions STACK CALLS: the server's instructions (callgrind's total) for CALLS calls,
# the two check calls included.
instructions() {
  local stack=$1 calls=$2 pid out ok
  PORT=$(free_port)
  taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$SERVER" "$stack" "$PORT" 2>"$WORK/server.log" &
  pid=$!
  wait_port "$PORT" 120
  check "$stack" "$PORT" || { kill "$pid"; return 1; }
  out=$(h2load_grpc -c"$CALLGRIND_CONNECTIONS" -m1 -t1 -n"$calls")
  ok=$(succeeded "$out") || { kill "$pid"; return 1; }
  [ "$ok" = "$calls" ] || { echo "$stack: $ok of $calls calls done" >&2; kill "$pid"; return 1; }
  stop "$pid" "$WORK/server.log" "$((ok + 1))"
  awk '/^(summary|totals):/ {print $2; exit}' "$WORK/callgrind.out"
}

runs=$((ROUNDS * ($(echo "$STACKS" | wc -w) + 1)))
echo "== $runs runs of ${WARMUP} + ${DURATION}, h2load -c$CONNECTIONS -m$STREAMS" >&2
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS" >&2
  for stack in $STACKS; do
    run_stack "$stack" "$round"
  done
  case " $STACKS " in *" bare "*) run_stack bare "$round" ;; esac
done
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

INSTR="$WORK/instructions"
: >"$INSTR"
if [ "$INSTRUCTIONS" != 0 ]; then
  echo "== instructions per call (callgrind, $CALLS1 and $CALLS2 calls, h2load -c$CALLGRIND_CONNECTIONS -m1)" >&2
  for stack in $STACKS; do
    ir1=$(instructions "$stack" "$CALLS1")
    ir2=$(instructions "$stack" "$CALLS2")
    echo "$stack $ir1 $ir2" >>"$INSTR"
    awk -v s="$stack" -v a="$ir1" -v b="$ir2" -v n1="$CALLS1" -v n2="$CALLS2" \
      'BEGIN { printf "   %-34s %8.0f instructions/call\n", s, (b - a) / (n2 - n1) }' >&2
  done
fi

# Medians per stack; ratios to bare tonic's median.
python3 - "$RESULTS" "$INSTR" "$STACKS" "$CONNECTIONS" "$STREAMS" "$DURATION" "$ROUNDS" "$CALLS1" "$CALLS2" <<'EOF'
import statistics, sys
path, instr, stacks, connections, streams, duration, rounds, calls1, calls2 = sys.argv[1:]
rows = {}
for line in open(path):
    _, stack, rps, p50, p99 = line.split()
    rows.setdefault(stack, []).append((float(rps), float(p50), float(p99)))
per_call = {}
for line in open(instr):
    stack, ir1, ir2 = line.split()
    per_call[stack] = (int(ir2) - int(ir1)) / (int(calls2) - int(calls1))
med = statistics.median
bare = med([r[0] for r in rows["bare"]]) if "bare" in rows else None
print(f"h2load -c{connections} -m{streams} -D{duration}, {rounds} round(s), medians")
print()
print("| stack | calls/s | ratio to bare | p50 (µs) | p99 (µs) | spread of calls/s | instructions/call | ratio to bare |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for stack in stacks.split():
    runs = rows.get(stack)
    if not runs:
        continue
    rps = med([r[0] for r in runs])
    ratio = f"{rps / bare:.2f}" if bare else "-"
    spread = f"{min(r[0] for r in runs):.0f}–{max(r[0] for r in runs):.0f}"
    ir = per_call.get(stack)
    ir_text = f"{ir:.0f}" if ir is not None else "-"
    ir_ratio = f"{ir / per_call['bare']:.2f}" if ir is not None and "bare" in per_call else "-"
    print(f"| {stack} | {rps:.0f} | {ratio} | {med([r[1] for r in runs]):.0f} | {med([r[2] for r in runs]):.0f} | {spread} | {ir_text} | {ir_ratio} |")
EOF
