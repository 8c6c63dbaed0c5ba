#!/usr/bin/env bash
# How many Redis script calls the HTTP joins of one build cost: the build on a Redis of its own,
# the shipped rate-limit rules on, wrk (pinned to the last core, 50 connections) joining new
# signed-in shoppers to one open event for SECONDS, then Redis's `INFO commandstats` for
# EVALSHA (the limiter's decisions and the join script's calls together) and the event's
# `joined` counter.
#
#   load/join_calls.sh SECONDS WAITROOM_BIN [unlimited]
#
# With `unlimited`, the shipped rules' `joins` rule is made exempt first (through
# PUT /v1/admin/ratelimit), so the joins cost no limiter decision: what the decision costs is
# the difference. Prints wrk's result line (JSON), the cmdstat_evalsha line, joined=N, and the
# CPU µs per join of the server and of redis-server.
set -euo pipefail
seconds=$1 bin=$2 limits=${3:-limited}
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
# shellcheck source=bench.d/processes.sh
source "$(dirname "$0")/bench.d/processes.sh"
scratch waitroom-join-calls
start_redis
join_credentials 300000
start_join_server server "${bin}" WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}"
if [ "${limits}" = unlimited ]; then
  rules=$(curl -fs -H "Authorization: Bearer ${admin_token}" "${server_url}/v1/admin/ratelimit" \
    | python3 -c '
import json, sys
rules = json.load(sys.stdin)
for rule in rules["rules"]:
    if rule["name"] == "joins":
        rule["exempt"], rule["limit"] = True, 0
print(json.dumps(rules))')
  curl -fs -o /dev/null -X PUT -H "Authorization: Bearer ${admin_token}" \
    -H 'Content-Type: application/json' --data "${rules}" "${server_url}/v1/admin/ratelimit"
fi
create_join_event "${server_url}" calls
redis-cli -p "${redis_port}" CONFIG RESETSTAT >/dev/null
redis_before=$(cpu_ticks "${redis_pid}") server_before=$(cpu_ticks "${server_pid}")
TOKENS="${work}/tokens.txt" JOIN_PATH=/v1/events/calls/tickets \
  taskset -c "$(( $(nproc) - 1 ))" wrk -t1 -c50 -d"${seconds}s" -s "${here}/join.lua" \
  "${server_url}" | sed -n 's/^RESULT //p'
redis_after=$(cpu_ticks "${redis_pid}") server_after=$(cpu_ticks "${server_pid}")
redis-cli -p "${redis_port}" INFO commandstats | grep '^cmdstat_evalsha:'
joined=$(redis-cli -p "${redis_port}" HGET 'wr:{calls}:st' joined)
echo "joined=${joined}"
awk -v hz="$(getconf CLK_TCK)" -v j="${joined}" -v s="$((server_after - server_before))" \
  -v r="$((redis_after - redis_before))" \
  'BEGIN { printf "cpu_us_per_join server=%.1f redis=%.1f\n", s / hz * 1e6 / j, r / hz * 1e6 / j }'
