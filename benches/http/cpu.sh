#!/usr/bin/env bash
# CPU time per request of each stack: the server's user and system time (from /proc) over a
# wrk run, divided by the requests served. Less sensitive to a noisy machine than requests/s.
#
#     benches/http/cpu.sh [stack...]      (after benches/http/run.sh has built the servers)
#
# Same pinning and settings as run.sh (SERVER_CPU, LOAD_CPU, CONNECTIONS, DURATION,
# CARGO_TARGET_DIR); the Redis stacks need REDIS_URL (default redis://127.0.0.1:6379/).
set -euo pipefail
cd "$(dirname "$0")/../.."
TARGET=${CARGO_TARGET_DIR:-$PWD/target}
SERVER="$TARGET/release/bench-server"
PEERS="$TARGET/release/tollgate-bench-peers"
DURATION=${DURATION:-8s}
CONNECTIONS=${CONNECTIONS:-32}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/}
TOKEN=$("$SERVER" token)
TICK=$(getconf CLK_TCK)
stacks=("$@")
[ ${#stacks[@]} -gt 0 ] || stacks=(bare empty-layer verify verify-cached verify-policy verify-revocation verify-redis-cached verify-redis-direct jwt-authorizer handwritten handwritten-redis)

printf '| stack | requests/s | user µs/req | system µs/req | total µs/req |\n|---|---:|---:|---:|---:|\n'
for stack in "${stacks[@]}"; do
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  if [ "$stack" = jwt-authorizer ]; then
    taskset -c "$SERVER_CPU" "$PEERS" "$port" 2>/dev/null &
  else
    taskset -c "$SERVER_CPU" "$SERVER" "$stack" "$port" "$REDIS_URL" 2>/dev/null &
  fi
  pid=$!
  for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
  url="http://127.0.0.1:$port/customer"
  taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d2s -H "Authorization: Bearer $TOKEN" "$url" >/dev/null
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  out=$(taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" -H "Authorization: Bearer $TOKEN" "$url")
  read -r u2 s2 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  n=$(echo "$out" | awk '/requests in/ {print $1}')
  rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
  awk -v st="$stack" -v n="$n" -v r="$rps" -v u=$((u2 - u1)) -v s=$((s2 - s1)) -v t="$TICK" 'BEGIN {
    us = 1000000 / t
    printf "| %s | %.0f | %.2f | %.2f | %.2f |\n", st, r, u * us / n, s * us / n, (u + s) * us / n
  }'
done
