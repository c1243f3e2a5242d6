#!/usr/bin/env bash
# The HTTP load comparison of docs/performance.md, in one command:
#
#     benches/http/run.sh
#
# Builds the servers (release), then for each stack starts its server pinned to one core,
# checks it answers 200 with the token (and 401 without, where it authenticates), warms it
# up and loads it with wrk pinned to the other core: same route (GET /customer, ~170 bytes
# of JSON), same HS256 token (~500 bytes), on loopback. Each round runs every stack once,
# bare axum first and last (its two figures show the drift within a round); the table gives,
# per stack, the median over the rounds of requests/s, p50 and p99 latency, and the ratio to
# bare axum's median.
#
# Needs: wrk (Debian: `apt-get install -y wrk`), redis-server (a private one is started on a
# free port, pinned with the load generator, and stopped at the end), taskset (util-linux).
# Settings (environment): ROUNDS=3 DURATION=10s WARMUP=2s CONNECTIONS=32 SERVER_CPU=0
# LOAD_CPU=1 STACKS="bare verify ..." CARGO_TARGET_DIR (default: target).
set -euo pipefail
cd "$(dirname "$0")/../.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
STACKS=${STACKS:-"bare empty-layer verify verify-cached verify-policy verify-revocation verify-redis-cached verify-redis-direct jwt-authorizer handwritten handwritten-redis"}

for tool in wrk redis-server taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian: apt-get install -y wrk redis-server util-linux curl)" >&2; exit 1; }
done

echo "== building (release)" >&2
cargo build --release --quiet -p tollgate-benches --bin bench-server --target-dir "$TARGET"
(cd benches/http/peers && cargo build --release --quiet --target-dir "$TARGET")
SERVER="$TARGET/release/bench-server"
PEERS="$TARGET/release/tollgate-bench-peers"
TOKEN=$("$SERVER" token)
echo "== token: ${#TOKEN} bytes, HS256" >&2

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
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
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

RESULTS=$(mktemp)
run_stack() {
  local stack=$1 round=$2 port pid out
  port=$(free_port)
  if [ "$stack" = jwt-authorizer ]; then
    taskset -c "$SERVER_CPU" "$PEERS" "$port" 2>/dev/null &
  else
    taskset -c "$SERVER_CPU" "$SERVER" "$stack" "$port" "$REDIS_URL" 2>/dev/null &
  fi
  pid=$!
  wait_port "$port"
  local url="http://127.0.0.1:$port/customer"
  local ok
  ok=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$url")
  [ "$ok" = 200 ] || { echo "$stack: answered $ok with the token" >&2; kill "$pid"; return 1; }
  if [ "$stack" != bare ] && [ "$stack" != empty-layer ]; then
    local refused
    refused=$(curl -s -o /dev/null -w '%{http_code}' "$url")
    [ "$refused" = 401 ] || { echo "$stack: answered $refused without a token" >&2; kill "$pid"; return 1; }
  fi
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$WARMUP" -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authorization: Bearer $TOKEN" "$url")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$stack: non-2xx answers under load" >&2
    echo "$out" >&2
    return 1
  fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
  p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
  echo "$round $stack $rps $p50 $p99" >>"$RESULTS"
  printf '   round %s  %-22s %10.0f req/s  p50 %7.0f us  p99 %7.0f us\n' "$round" "$stack" "$rps" "$p50" "$p99" >&2
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
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# Medians per stack; ratios to bare axum's median.
python3 - "$RESULTS" "$STACKS" "$CONNECTIONS" "$DURATION" "$ROUNDS" <<'EOF'
import statistics, sys
path, stacks, connections, duration, rounds = sys.argv[1:]
rows = {}
for line in open(path):
    _, stack, rps, p50, p99 = line.split()
    rows.setdefault(stack, []).append((float(rps), float(p50), float(p99)))
med = lambda xs: statistics.median(xs)
bare = med([r[0] for r in rows["bare"]]) if "bare" in rows else None
print(f"wrk -t1 -c{connections} -d{duration}, {rounds} round(s), medians")
print()
print("| stack | requests/s | ratio to bare | p50 (µs) | p99 (µs) | spread of req/s |")
print("|---|---:|---:|---:|---:|---:|")
for stack in stacks.split():
    runs = rows.get(stack)
    if not runs:
        continue
    rps = med([r[0] for r in runs])
    ratio = f"{rps / bare:.2f}" if bare else "-"
    spread = f"{min(r[0] for r in runs):.0f}–{max(r[0] for r in runs):.0f}"
    print(f"| {stack} | {rps:.0f} | {ratio} | {med([r[1] for r in runs]):.0f} | {med([r[2] for r in runs]):.0f} | {spread} |")
EOF
rm -f "$RESULTS"
