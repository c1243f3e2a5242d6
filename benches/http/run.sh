#!/usr/bin/env bash
# The HTTP load comparison of docs/performance.md, in one command:
#
#     benches/http/run.sh
#
# Builds the servers (release), then for each stack starts its server pinned to one core,
# checks it answers 200 with the stack's token (and 401 without, where it authenticates) and
# as many bytes as every other stack, warms it up and loads it with wrk pinned to the other
# core: same route (GET /customer, ~170 bytes of JSON), on loopback, the token of the stack's
# algorithm (HS256, ~500 bytes, unless the stack names another). Each round runs every stack
# once, bare axum first and last (its two figures show the drift within a round). Per stack
# and run it also reads the server's user and system CPU time from /proc, so the table gives
# the CPU time per request and the kernel's share of it (system time), which instruction
# counts do not see.
#
# Then (unless INSTRUCTIONS=0) it runs benches/http/instructions.sh on the same stacks: the
# server's user-space instructions per request under callgrind, the figure the machine's load
# does not move. The report is one markdown table: per stack, the median over the rounds of
# requests/s, p50 and p99 latency, user and system CPU µs per request; the ratio of the
# requests/s median to bare axum's; the spread of requests/s over the rounds; instructions per
# request and bare's count divided by the stack's.
#
# Needs: wrk (Debian: `apt-get install -y wrk`), valgrind (for the instructions), redis-server
# (a private one is started on a free port, pinned with the load generator, and stopped at the
# end), taskset (util-linux), curl, python3.
# Settings (environment): ROUNDS=3 DURATION=6s WARMUP=1s CONNECTIONS=32 SERVER_CPU=0
# LOAD_CPU=1 STACKS="bare verify ..." INSTRUCTIONS=1 (0: no instruction counts) N1, N2 (see
# instructions.sh) CARGO_TARGET_DIR (default: target).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-6s}
WARMUP=${WARMUP:-1s}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
INSTRUCTIONS=${INSTRUCTIONS:-1}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
STACKS=${STACKS:-"bare empty-layer verify verify-cached verify-reads-claims verify-cached-reads-claims verify-policy verify-revocation verify-revocation-policy verify-revocation-policy-cached verify-redis-cached verify-redis-policy-cached verify-redis-direct es256-cached rs256-cached eddsa-cached jwt-authorizer handwritten handwritten-redis"}

tools="wrk redis-server taskset curl python3"
[ "$INSTRUCTIONS" = 0 ] || tools="$tools valgrind"
for tool in $tools; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian: apt-get install -y wrk valgrind redis-server util-linux curl python3)" >&2; exit 1; }
done

seconds() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /m$/) n *= 60; print n }'; }
runs=$(( $(echo "$STACKS" | wc -w) + 1 ))
estimate=$(awk -v r="$ROUNDS" -v n="$runs" -v d="$(seconds "$DURATION")" -v w="$(seconds "$WARMUP")" \
  'BEGIN { printf "%.0f", r * n * (d + w + 1) / 60 }')
# About 13 s per stack under callgrind (two runs, start-up included).
echo "== $ROUNDS round(s) of $runs runs of $WARMUP + $DURATION: about $estimate min; instructions: about $(( (runs - 1) * 13 / 60 + 1 )) min more unless INSTRUCTIONS=0" >&2

echo "== building (release)" >&2
cargo build --release --quiet -p tollgate-benches --bin bench-server --bin bench-load --target-dir "$TARGET"
(cd benches/http/peers && cargo build --release --quiet --target-dir "$TARGET")
SERVER="$TARGET/release/bench-server"
PEERS="$TARGET/release/tollgate-bench-peers"
TICK=$(getconf CLK_TCK)

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  return 1
}

PIDS=()
WORK=$(mktemp -d)
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

REDIS_PORT=$(free_port)
taskset -c "$LOAD_CPU" redis-server --port "$REDIS_PORT" --save '' --appendonly no \
  --logfile /dev/null >/dev/null &
PIDS+=($!)
wait_port "$REDIS_PORT"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"

# wrk prints latencies as 123.45us, 1.23ms or 1.02s: in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n
  }'
}

RESULTS="$WORK/results"
: >"$RESULTS"
BODY_BYTES=
run_stack() {
  local stack=$1 round=$2 port pid out token
  port=$(free_port)
  if [ "$stack" = jwt-authorizer ]; then
    token=$("$SERVER" token)
    taskset -c "$SERVER_CPU" "$PEERS" "$port" 2>/dev/null &
  else
    token=$("$SERVER" token "$stack")
    taskset -c "$SERVER_CPU" "$SERVER" "$stack" "$port" "$REDIS_URL" 2>/dev/null &
  fi
  pid=$!
  wait_port "$port"
  local url="http://127.0.0.1:$port/customer"
  local ok bytes
  read -r ok bytes < <(curl -s -o /dev/null -w '%{http_code} %{size_download}\n' -H "Authorization: Bearer $token" "$url")
  [ "$ok" = 200 ] || { echo "$stack: answered $ok with the token" >&2; kill "$pid"; return 1; }
  BODY_BYTES=${BODY_BYTES:-$bytes}
  [ "$bytes" = "$BODY_BYTES" ] || { echo "$stack: answered $bytes bytes, not $BODY_BYTES" >&2; kill "$pid"; return 1; }
  if [ "$stack" != bare ] && [ "$stack" != empty-layer ]; then
    local refused
    refused=$(curl -s -o /dev/null -w '%{http_code}' "$url")
    [ "$refused" = 401 ] || { echo "$stack: answered $refused without a token" >&2; kill "$pid"; return 1; }
  fi
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $token" "$url" >/dev/null
  local u1 s1 u2 s2
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $token" "$url")
  read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$stack: non-2xx answers under load" >&2
    echo "$out" >&2
    return 1
  fi
  local rps p50 p99 n user system
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  user=$(awk -v t=$((u2 - u1)) -v n="$n" -v hz="$TICK" 'BEGIN { printf "%.2f", t * 1000000 / hz / n }')
  system=$(awk -v t=$((s2 - s1)) -v n="$n" -v hz="$TICK" 'BEGIN { printf "%.2f", t * 1000000 / hz / n }')
  echo "$round $stack $rps $p50 $p99 $user $system" >>"$RESULTS"
  printf '   round %s  %-32s %10.0f req/s  p50 %7.0f us  p99 %7.0f us  user %5.2f  system %5.2f us/req\n' \
    "$round" "$stack" "$rps" "$p50" "$p99" "$user" "$system" >&2
}

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')" >&2
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for round in $(seq 1 "$ROUNDS"); do
  echo "== round $round/$ROUNDS" >&2
  for stack in $STACKS; do
    run_stack "$stack" "$round"
  done
  case " $STACKS " in *" bare "*) run_stack bare "$round" ;; esac
done
echo "== load average after the load runs: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

INSTRUCTION_COUNTS="$WORK/instructions"
: >"$INSTRUCTION_COUNTS"
if [ "$INSTRUCTIONS" != 0 ]; then
  # shellcheck disable=SC2086 # one stack per word
  TSV="$INSTRUCTION_COUNTS" BUILD=0 REDIS_URL="$REDIS_URL" CONNECTIONS="$CONNECTIONS" \
    SERVER_CPU="$SERVER_CPU" LOAD_CPU="$LOAD_CPU" CARGO_TARGET_DIR="$TARGET" \
    benches/http/instructions.sh $STACKS >/dev/null
fi

# Medians per stack; ratios to bare axum's median.
python3 - "$RESULTS" "$INSTRUCTION_COUNTS" "$STACKS" "$CONNECTIONS" "$DURATION" "$ROUNDS" "$(nproc)" <<'PY'
import statistics, sys
path, instructions_path, stacks, connections, duration, rounds, cores = sys.argv[1:]
rows = {}
for line in open(path):
    _, stack, *values = line.split()
    rows.setdefault(stack, []).append([float(v) for v in values])
instructions = dict(line.split("\t") for line in open(instructions_path).read().splitlines())
med = statistics.median
column = lambda runs, i: med([r[i] for r in runs])
bare = column(rows["bare"], 0) if "bare" in rows else None
bare_ir = int(instructions["bare"]) if "bare" in instructions else None
print(f"wrk -t1 -c{connections} -d{duration}, {rounds} round(s), medians; {cores} cores")
print()
print("| stack | requests/s | ratio to bare | p50 (µs) | p99 (µs) | spread of req/s | user µs/req | system µs/req | instructions/req | instructions, bare / stack |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for stack in stacks.split():
    runs = rows.get(stack)
    if not runs:
        continue
    rps = column(runs, 0)
    ratio = f"{rps / bare:.2f}" if bare else "-"
    spread = f"{min(r[0] for r in runs):.0f}–{max(r[0] for r in runs):.0f}"
    ir = instructions.get(stack)
    ir_text = ir if ir else "-"
    ir_ratio = f"{bare_ir / int(ir):.2f}" if ir and bare_ir else "-"
    print(f"| {stack} | {rps:.0f} | {ratio} | {column(runs, 1):.0f} | {column(runs, 2):.0f} | {spread} "
          f"| {column(runs, 3):.2f} | {column(runs, 4):.2f} | {ir_text} | {ir_ratio} |")
PY
