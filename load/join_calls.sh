#!/usr/bin/env bash
# How many Redis script calls the HTTP joins of one build cost: the build on a Redis of its own,
# the shipped rate-limit rules on, wrk (pinned to the last core, 50 connections) joining new
# signed-in shoppers to one open event for SECONDS, then Redis's `INFO commandstats` for
# EVALSHA (the limiter's decisions and the join script's calls together) and the event's
# `joined` counter.
#
#   load/join_calls.sh SECONDS WAITROOM_BIN
#
# Prints wrk's result line (JSON), the cmdstat_evalsha line, and joined=N.
set -euo pipefail
seconds=$1 bin=$2
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
# shellcheck source=bench.d/processes.sh
source "$(dirname "$0")/bench.d/processes.sh"
scratch waitroom-join-calls
start_redis
port=$(free_port)

admin_token="bench-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
user_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
python3 "${here}/tokens.py" "${user_secret}" 300000 >"${work}/tokens.txt"
env -u WAITROOM_CONFIG WAITROOM_LISTEN="127.0.0.1:${port}" WAITROOM_ADMIN_TOKEN="${admin_token}" \
  WAITROOM_USER_JWT_SECRET="${user_secret}" WAITROOM_TRUSTED_PROXIES=127.0.0.0/8 \
  WAITROOM_LOG_FORMAT=json RUST_LOG=warn WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}" \
  "${bin}" serve >"${work}/server.log" 2>&1 &
started+=($!)
wait_http "http://127.0.0.1:${port}/healthz"

starts=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
curl -fs -o /dev/null -X POST "http://127.0.0.1:${port}/v1/admin/events" \
  -H "Authorization: Bearer ${admin_token}" -H 'Content-Type: application/json' \
  -d "{\"id\":\"calls\",\"name\":\"bench\",\"starts_at\":\"${starts}\",\"outflow_per_second\":1,\"outflow_burst\":1,\"admission_ttl_seconds\":120,\"allow_anonymous\":false,\"inventory\":{\"sku-1\":1000},\"mode\":\"queue\",\"abandon_after_seconds\":600}"
redis-cli -p "${redis_port}" CONFIG RESETSTAT >/dev/null
TOKENS="${work}/tokens.txt" JOIN_PATH=/v1/events/calls/tickets \
  taskset -c "$(( $(nproc) - 1 ))" wrk -t1 -c50 -d"${seconds}s" -s "${here}/join.lua" \
  "http://127.0.0.1:${port}" | sed -n 's/^RESULT //p'
redis-cli -p "${redis_port}" INFO commandstats | grep '^cmdstat_evalsha:'
echo "joined=$(redis-cli -p "${redis_port}" HGET 'wr:{calls}:st' joined)"
