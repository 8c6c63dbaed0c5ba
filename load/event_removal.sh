#!/usr/bin/env bash
# What removing an ended sale gives back: a waitroom on a Redis of its own, one open event that
# wrk fills with new signed-in shoppers for SECONDS (50 connections, as load/join_ab.sh), one
# shopper admitted, then the event closed and removed with DELETE /v1/admin/events/{event}.
# Prints Redis's used_memory before the event, with it and after its removal, the DELETE's time,
# the longest command Redis ran meanwhile (SLOWLOG, every command over 1 ms recorded), how many
# of the event's keys are left without an expiry of their own, and all the keys Redis holds.
#
#   load/event_removal.sh SECONDS WAITROOM_BIN
set -euo pipefail
seconds=$1 bin=$2
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
# shellcheck source=bench.d/processes.sh
source "${here}/processes.sh"
scratch waitroom-event-removal
start_redis
join_credentials 1000000
cli() { redis-cli -p "${redis_port}" "$@"; }
used_memory() { cli INFO memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p'; }

start_join_server server "${bin}" WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}"
before=$(used_memory)
create_join_event "${server_url}" ended
TOKENS="${work}/tokens.txt" JOIN_PATH=/v1/events/ended/tickets \
  taskset -c "$(( $(nproc) - 1 ))" wrk -t1 -c50 -d"${seconds}s" -s "${here}/join.lua" \
  "${server_url}" | sed -n 's/^RESULT //p'
sleep 2 # an admission or two, and the presence reports of the joins
joined=$(cli HGET 'wr:{ended}:st' joined)
with_event=$(used_memory)
admin() { curl -s -o /dev/null -w '%{http_code} %{time_total}\n' -X "$1" \
  -H "Authorization: Bearer ${admin_token}" -H 'Content-Type: application/json' "${@:2}"; }
admin PATCH "${server_url}/v1/admin/events/ended" -d '{"status":"closed"}' >/dev/null
cli CONFIG SET slowlog-log-slower-than 1000 >/dev/null
cli SLOWLOG RESET >/dev/null
read -r status took <<<"$(admin DELETE "${server_url}/v1/admin/events/ended")"
longest=$(cli SLOWLOG GET 128 | awk 'NR % 6 == 3 { if ($1 > m) m = $1 } END { print m + 0 }')
# UNLINK frees the big values off the main thread, and the limiter's buckets of the joins
# (keys of their own, not the event's) expire within seconds.
sleep 5
after=$(used_memory)
lasting=0
while read -r key; do
  [ -z "${key}" ] && continue
  [ "$(cli PTTL "${key}")" = "-1" ] && lasting=$((lasting + 1))
done < <(cli --scan --pattern 'wr:{ended}:*')
python3 -c '
import sys
before, with_event, after, joined = (int(x) for x in sys.argv[1:5])
print("joined=%d used_memory before=%d with_event=%d after=%d" % (joined, before, with_event, after))
print("event_bytes=%d per_shopper=%.1f left_after_removal=%d" % (
    with_event - before, (with_event - before) / max(joined, 1), after - before))
print("delete_status=%s delete_seconds=%s longest_command_us_over_1ms=%s lasting_keys=%s" % tuple(sys.argv[5:9]))
print("redis_keys_after=%s" % sys.argv[9])
' "${before}" "${with_event}" "${after}" "${joined}" "${status}" "${took}" "${longest}" "${lasting}" \
  "$(cli DBSIZE)"
