#!/usr/bin/env bash
# The admission push delay across instances, for one or more builds of waitroom, in alternation:
# each round runs every build as three instances on one Redis (flushed between runs) with the
# simulator's shoppers all on sockets of the last instance, so most admissions are made by a
# drain of another instance. The scenario is the outflow step of load/bench.
#
#   load/push_ab.sh ROUNDS SECONDS RATE SIM_BIN NAME=WAITROOM_BIN [NAME=WAITROOM_BIN …]
#
# Prints one CSV line per run (sockets_peak: the most sockets open at once), and keeps each run's
# report as load/results/tmp/push-ROUND-NAME.json:
#   round,what,admitted,per_second,push_p50_ms,push_p90_ms,push_p99_ms,push_max_ms,server_errors,sockets_peak
set -euo pipefail
rounds=$1 seconds=$2 rate=$3 sim_bin=$4
shift 4
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
root="$(cd "$(dirname "$0")/.." && pwd)"
pin=(taskset -c "$(( $(nproc) - 1 ))")
# shellcheck source=bench.d/processes.sh
source "${here}/processes.sh"
scratch waitroom-push-ab
start_redis
redis-cli -p "${redis_port}" CONFIG SET maxclients 20000 >/dev/null

admin_token="bench-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
user_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
# The shipped rules, with the simulator's own sampler (127.0.0.1, no X-Forwarded-For) allowed.
sed 's|^allow_ips = \[\]|allow_ips = ["127.0.0.1/32"]|' "${root}/config/ratelimit.toml" >"${work}/ratelimit.toml"
printf '[ratelimit]\nfile = "%s"\n' "${work}/ratelimit.toml" >"${work}/server.toml"
cat >"${work}/outflow.toml" <<TOML
name = "outflow"

[event]
outflow_per_second = ${rate}
outflow_burst = ${rate}
units = 1000000
admission_ttl_seconds = 120
abandon_after_seconds = 600

[shoppers]
count = $(( rate * (seconds + 10) ))
arrival = "ramp"
arrival_seconds = 2
websocket_share = 1.0
abandon_share = 0.0
unpaid_share = 0.0

[run]
lead_seconds = 6
max_seconds = ${seconds}
http_connections = 128
sockets_per_address = 5000
forwarded_for = true
TOML

run() { # NAME BIN
  local name=$1 bin=$2 instances=() port server_url=""
  redis-cli -p "${redis_port}" FLUSHALL >/dev/null
  for i in 1 2 3; do
    port=$(free_port)
    env -u WAITROOM_REDIS_URL WAITROOM_CONFIG="${work}/server.toml" \
      WAITROOM_LISTEN="127.0.0.1:${port}" WAITROOM_ADMIN_TOKEN="${admin_token}" \
      WAITROOM_USER_JWT_SECRET="${user_secret}" WAITROOM_TRUSTED_PROXIES=127.0.0.0/8 \
      WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}" \
      WAITROOM_LOG_FORMAT=json RUST_LOG=warn "${bin}" serve >"${work}/${name}-${i}.log" 2>&1 &
    started+=($!)
    instances+=($!)
    server_url="http://127.0.0.1:${port}"
    wait_http "${server_url}/healthz"
  done
  mkdir -p "${work}/out"
  "${pin[@]}" "${sim_bin}" --scenario "${work}/outflow.toml" --base-url "${server_url}" \
    --admin-token "${admin_token}" --user-jwt-secret "${user_secret}" --out "${work}/out" \
    --quiet >"${work}/out/stdout.log" 2>&1 || true
  for pid in "${instances[@]}"; do kill "${pid}" 2>/dev/null || true; wait "${pid}" 2>/dev/null || true; done
  python3 -c '
import json, sys
r = json.load(open(sys.argv[3]))
p = r.get("admission_push_delay") or {}
o = r.get("outflow") or {}
print("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s" % (sys.argv[1], sys.argv[2], p.get("count"), o.get("actual_per_second"),
      p.get("p50_ms"), p.get("p90_ms"), p.get("p99_ms"), p.get("max_ms"), r.get("server_errors"),
      (r.get("crowd") or {}).get("sockets_peak")))' \
    "${round}" "${name}" "${work}/out/report.json"
  mkdir -p "${root}/load/results/tmp"
  cp "${work}/out/report.json" "${root}/load/results/tmp/push-${round}-${name}.json" 2>/dev/null || true
  rm -rf "${work}/out"
}

echo "round,what,admitted,per_second,push_p50_ms,push_p90_ms,push_p99_ms,push_max_ms,server_errors,sockets_peak"
for round in $(seq 1 "${rounds}"); do
  for spec in "$@"; do run "${spec%%=*}" "${spec#*=}"; done
done
