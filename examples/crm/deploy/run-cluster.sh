#!/usr/bin/env bash
# A local cluster: three crm instances on one PostgreSQL database and one Redis, behind
# HAProxy (haproxy.cfg beside this script). Ctrl-C stops everything (each instance drains
# first, as in production). docs/deployment.md, "Local cluster", describes it.
#
# Settings (environment variables, with their defaults):
#   CLUSTER_DATABASE_URL  postgres://postgres@127.0.0.1:5432/test
#   CLUSTER_REDIS_URL     redis://127.0.0.1:6379
#   CLUSTER_REDIS_PREFIX  crm:
#   CLUSTER_LB_PORT       8080   HAProxy, where clients connect
#   CLUSTER_STATS_PORT    8404   HAProxy's statistics page (/stats)
#   CLUSTER_BASE_PORT     8081   the instances listen on this port and the two next ones
#   CLUSTER_CHECK_INTERVAL 2s    HAProxy's health check interval (out after 2 failures)
#   CLUSTER_DRAIN_PERIOD  5s     each instance's --drain-period (above interval x 2)
#   CRM_BIN               the crm binary; unset: built with cargo (release) and run from target/
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"

database_url="${CLUSTER_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
redis_url="${CLUSTER_REDIS_URL:-redis://127.0.0.1:6379}"
redis_prefix="${CLUSTER_REDIS_PREFIX:-crm:}"
lb_port="${CLUSTER_LB_PORT:-8080}"
stats_port="${CLUSTER_STATS_PORT:-8404}"
base_port="${CLUSTER_BASE_PORT:-8081}"
check_interval="${CLUSTER_CHECK_INTERVAL:-2s}"
drain_period="${CLUSTER_DRAIN_PERIOD:-5s}"

command -v haproxy >/dev/null || { echo "haproxy is not installed (Debian: apt-get install haproxy)" >&2; exit 1; }
if [ -z "${CRM_BIN:-}" ]; then
  (cd "$root" && cargo build --release -p crm --quiet)
  CRM_BIN="$root/target/release/crm"
fi

pids=()
stopping=0
stop() {
  trap - INT TERM EXIT
  stopping=1
  echo "stopping (each instance drains for $drain_period first)"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

wait_healthy() {
  local port=$1
  for _ in $(seq 1 300); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the crm on port $port did not answer /health within 30 s" >&2
  exit 1
}

# A URL without its credentials.
mask() { sed -E 's#//[^@/]*@#//***@#' <<<"$1"; }

start_instance() {
  local port=$1
  # The other settings (CRM_ACCESS_TTL, CRM_JWT_SECRET, ...) come from this shell's CRM_*
  # variables, the same for every instance.
  "$CRM_BIN" --listen "127.0.0.1:$port" \
    --database-url "$database_url" \
    --redis-url "$redis_url" --redis-prefix "$redis_prefix" \
    --trusted-proxies 127.0.0.1 --drain-period "$drain_period" --refresh-grace 10s &
  pids+=("$!")
}

# The first instance alone, so that it creates the tables and the signing secret; then the
# two others.
start_instance "$base_port"
wait_healthy "$base_port"
start_instance "$((base_port + 1))"
start_instance "$((base_port + 2))"
wait_healthy "$((base_port + 1))"
wait_healthy "$((base_port + 2))"

CRM_LB_LISTEN="127.0.0.1:$lb_port" CRM_LB_STATS="127.0.0.1:$stats_port" \
  CRM_CHECK_INTERVAL="$check_interval" \
  CRM1_ADDRESS="127.0.0.1:$base_port" CRM2_ADDRESS="127.0.0.1:$((base_port + 1))" \
  CRM3_ADDRESS="127.0.0.1:$((base_port + 2))" \
  haproxy -db -f "$here/haproxy.cfg" &
pids+=("$!")

cat <<TEXT

crm cluster up:
  HAProxy (clients):     http://127.0.0.1:$lb_port
  HAProxy statistics:    http://127.0.0.1:$stats_port/stats
  instances:             http://127.0.0.1:$base_port http://127.0.0.1:$((base_port + 1)) http://127.0.0.1:$((base_port + 2))
  database:              $(mask "$database_url")
  Redis:                 $(mask "$redis_url") (prefix $redis_prefix)
Ctrl-C stops everything.
TEXT
wait -n "${pids[@]}" || true
[ "$stopping" = 1 ] || echo "a process of the cluster exited: stopping the others" >&2
