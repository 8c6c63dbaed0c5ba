#!/usr/bin/env bash
# What open events with nobody in them cost Redis: one build on a Redis of its own, EVENTS open
# events created and left alone, then Redis's `INFO commandstats` over SECONDS (after a warm-up
# of ten seconds). Counts every command, those run inside scripts included. With `closed` as
# the fourth argument the events are closed by the operator after their creation: old sales.
#
#   load/idle_events.sh WAITROOM_BIN EVENTS SECONDS [open|closed]
#
# Prints commands=N per_second=R per_event_per_second=R, then the five busiest commands.
set -euo pipefail
bin=$1 events=$2 seconds=$3 state=${4:-open}
# shellcheck source=bench.d/processes.sh
source "$(dirname "$0")/bench.d/processes.sh"
scratch waitroom-idle
start_redis
port=$(free_port)

admin_token="idle-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
env -u WAITROOM_CONFIG WAITROOM_LISTEN="127.0.0.1:${port}" WAITROOM_ADMIN_TOKEN="${admin_token}" \
  RUST_LOG=warn WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}" \
  "${bin}" serve >"${work}/server.log" 2>&1 &
started+=($!)
wait_http "http://127.0.0.1:${port}/healthz"

starts=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
for n in $(seq 1 "${events}"); do
  curl -fs -o /dev/null -X POST "http://127.0.0.1:${port}/v1/admin/events" \
    -H "Authorization: Bearer ${admin_token}" -H 'Content-Type: application/json' \
    -d "{\"id\":\"idle-${n}\",\"name\":\"idle\",\"starts_at\":\"${starts}\",\"outflow_per_second\":10,\"outflow_burst\":5,\"admission_ttl_seconds\":120,\"allow_anonymous\":false,\"inventory\":{\"sku-1\":1000},\"mode\":\"queue\",\"abandon_after_seconds\":60}"
  if [ "${state}" = closed ]; then
    curl -fs -o /dev/null -X PATCH "http://127.0.0.1:${port}/v1/admin/events/idle-${n}" \
      -H "Authorization: Bearer ${admin_token}" -H 'Content-Type: application/json' -d '{"status":"closed"}'
  fi
done
sleep 10
redis-cli -p "${redis_port}" CONFIG RESETSTAT >/dev/null
sleep "${seconds}"
stats=$(redis-cli -p "${redis_port}" INFO commandstats | tr -d '\r')
total=$(sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\2/p' <<<"${stats}" | paste -sd+ | bc)
python3 -c "t=${total}; s=${seconds}; e=${events}; print(f'commands={t} per_second={t/s:.1f} per_event_per_second={t/s/e:.2f}')"
sed -n 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),.*/\2 \1/p' <<<"${stats}" | sort -rn | head -5
