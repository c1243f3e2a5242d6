#!/usr/bin/env bash
# Instructions per request of each stack's server, counted by callgrind: the figure of the
# HTTP comparison that the load of a shared machine does not move.
#
#     benches/http/instructions.sh [stack...]        (default: every stack of run.sh)
#
# For each stack: start its release server under `valgrind --tool=callgrind` (pinned to one
# core), send exactly N1 requests with `bench-load` (pinned to the other core: CONNECTIONS
# keep-alive HTTP/1.1 connections, one request in flight on each, the stack's token, every
# answer checked to be 200), stop the server with SIGTERM (callgrind writes its counts as the
# process ends); then the same with N2 requests. Instructions per request =
# (Ir(N2) - Ir(N1)) / (N2 - N1): start-up, key preparation, filling the revocation stores,
# the first requests (cache misses, lazy initialization), the connections' set-up and the exit
# are the same in both runs and cancel.
#
# Callgrind counts the instructions the server process executes in user space (all its
# threads): tollgate, axum, hyper, tokio, the allocator, libc. Not the kernel's work for it
# (system calls, the TCP stack on loopback), which costs each request about as much again:
# run.sh's "system µs/req" column shows that share. The count does not depend on the machine's
# load; it does depend on the binary (compiler, dependency versions) and a little on how many
# requests each wake-up finds ready, which the fixed concurrency keeps steady.
#
# Prints a markdown table: stack, instructions per request, instructions over bare axum, and
# bare's count divided by the stack's (the ratio requests/s would have if only user-space
# instructions counted).
#
# Needs: valgrind (Debian: `apt-get install -y valgrind`), redis-server (a private one is
# started on a free port when a Redis stack is measured and REDIS_URL is unset), taskset
# (util-linux), python3.
# Settings (environment): N1=1000 N2=4000 CONNECTIONS=32 SERVER_CPU=0 LOAD_CPU=1
# REDIS_URL BUILD=1 (0: use the binaries already built) CARGO_TARGET_DIR (default: target)
# CALLGRIND_DIR (keep the callgrind files there, for callgrind_annotate) TSV=file (also write
# "stack<TAB>instructions per request" lines to it: run.sh reads them).
set -euo pipefail
cd "$(dirname "$0")/../.."

N1=${N1:-1000}
N2=${N2:-4000}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
BUILD=${BUILD:-1}
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
stacks=("$@")
[ ${#stacks[@]} -gt 0 ] || stacks=(bare empty-layer verify verify-cached verify-reads-claims
  verify-cached-reads-claims verify-policy verify-revocation verify-revocation-policy
  verify-revocation-policy-cached verify-redis-cached verify-redis-policy-cached
  verify-redis-direct es256-cached rs256-cached eddsa-cached jwt-authorizer handwritten
  handwritten-redis)
[ "$N2" -gt "$N1" ] || { echo "N2 ($N2) must be larger than N1 ($N1)" >&2; exit 2; }

for tool in valgrind redis-server taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (Debian: apt-get install -y valgrind redis-server util-linux python3)" >&2; exit 1; }
done

if [ "$BUILD" != 0 ]; then
  echo "== building (release)" >&2
  cargo build --release --quiet -p tollgate-benches --bin bench-server --bin bench-load --target-dir "$TARGET"
  (cd benches/http/peers && cargo build --release --quiet --target-dir "$TARGET")
fi
SERVER="$TARGET/release/bench-server"
LOAD="$TARGET/release/bench-load"
PEERS="$TARGET/release/tollgate-bench-peers"

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until something listens on port $1 (a server under valgrind starts slowly), while
# process $2 (if given) lives.
wait_port() {
  for _ in $(seq 1 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    [ -z "${2:-}" ] || kill -0 "$2" 2>/dev/null || break
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
OUT_DIR=${CALLGRIND_DIR:-$WORK}
mkdir -p "$OUT_DIR"

if [ -z "${REDIS_URL:-}" ] && printf '%s\n' "${stacks[@]}" | grep -q redis; then
  REDIS_PORT=$(free_port)
  taskset -c "$LOAD_CPU" redis-server --port "$REDIS_PORT" --save '' --appendonly no \
    --logfile /dev/null >/dev/null &
  PIDS+=($!)
  wait_port "$REDIS_PORT"
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT/"
fi
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/}

# The instructions the server of stack $1 executes while answering $2 requests (and starting
# and stopping), from callgrind's totals.
count() {
  local stack=$1 requests=$2 port pid token out="$OUT_DIR/callgrind.$1.$2"
  port=$(free_port)
  if [ "$stack" = jwt-authorizer ]; then
    token=$("$SERVER" token)
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --collect-atstart=yes \
      --callgrind-out-file="$out" "$PEERS" "$port" 2>"$WORK/valgrind.log" &
  else
    token=$("$SERVER" token "$stack")
    taskset -c "$SERVER_CPU" valgrind --tool=callgrind --collect-atstart=yes \
      --callgrind-out-file="$out" "$SERVER" "$stack" "$port" "$REDIS_URL" 2>"$WORK/valgrind.log" &
  fi
  pid=$!
  wait_port "$port" "$pid" || { echo "$stack: the server did not start:" >&2; tail -20 "$WORK/valgrind.log" >&2; kill "$pid" 2>/dev/null; return 1; }
  if ! taskset -c "$LOAD_CPU" "$LOAD" "127.0.0.1:$port" "$requests" "$CONNECTIONS" "$token" 2>"$WORK/load.log"; then
    echo "$stack: $(cat "$WORK/load.log")" >&2
    kill "$pid"
    return 1
  fi
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  local total
  total=$(awk '/^(summary|totals):/ {print $2; exit}' "$out")
  [ -n "$total" ] || { echo "$stack: no totals in $out" >&2; cat "$WORK/valgrind.log" >&2; return 1; }
  echo "$total"
}

RESULTS="$WORK/results"
: >"$RESULTS"
echo "== instructions per request: callgrind, $N1 and $N2 requests, $CONNECTIONS connections" >&2
for stack in "${stacks[@]}"; do
  start=$SECONDS
  ir1=$(count "$stack" "$N1")
  ir2=$(count "$stack" "$N2")
  per=$(( (ir2 - ir1) / (N2 - N1) ))
  printf '%s\t%s\n' "$stack" "$per" >>"$RESULTS"
  printf '   %-32s %8d instructions/request  (%ds)\n' "$stack" "$per" $((SECONDS - start)) >&2
done
[ -z "${TSV:-}" ] || cp "$RESULTS" "$TSV"

python3 - "$RESULTS" "$N1" "$N2" "$CONNECTIONS" <<'PY'
import sys
path, n1, n2, connections = sys.argv[1:]
rows = [line.split("\t") for line in open(path).read().splitlines()]
counts = {stack: int(per) for stack, per in rows}
bare = counts.get("bare")
print(f"callgrind, user-space instructions of the server, (Ir({n2}) - Ir({n1})) / {int(n2) - int(n1)} requests, {connections} connections")
print()
print("| stack | instructions per request | over bare | bare / stack |")
print("|---|---:|---:|---:|")
for stack, per in counts.items():
    over = f"{per - bare:+d}" if bare else "-"
    ratio = f"{bare / per:.2f}" if bare else "-"
    print(f"| {stack} | {per} | {over} | {ratio} |")
PY
