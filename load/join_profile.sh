#!/usr/bin/env bash
# Where a join's time goes: `perf record -g` of a waitroom server while wrk sends it joins of new
# signed-in shoppers (50 connections, as load/join_ab.sh), then the samples grouped by what they
# were doing (load/bench.d/profile_groups.py). Needs `perf` (Debian's linux-perf) and a build
# with symbols (the release profile keeps them).
#
#   load/join_profile.sh STORE SECONDS WAITROOM_BIN      # STORE: memory or redis
#
# PERF_CALL_GRAPH=dwarf PERF_HZ=199 gives whole stacks (the release build keeps no frame
# pointers, so with the default, fp, only the leaf groups are sound).
#
# Prints the groups' shares of the server's samples, inclusive (a sample counts for every group
# on its stack) and by leaf (the group of the innermost frame that has one), and keeps
# perf.data and the folded stacks in load/results/tmp/join-profile-STORE.*.
set -euo pipefail
store=$1 seconds=$2 bin=$3
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
root="$(cd "$(dirname "$0")/.." && pwd)"
pin=(taskset -c "$(( $(nproc) - 1 ))")
command -v perf >/dev/null || { echo "needs perf (apt-get install -y linux-perf)" >&2; exit 2; }
# shellcheck source=bench.d/processes.sh
source "${here}/processes.sh"
scratch waitroom-join-profile
start_redis

admin_token="bench-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
user_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
python3 "${here}/tokens.py" "${user_secret}" 300000 >"${work}/tokens.txt"

port=$(free_port)
store_env=()
[ "${store}" = redis ] && store_env=(WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}")
env -u WAITROOM_CONFIG -u WAITROOM_REDIS_URL \
  WAITROOM_LISTEN="127.0.0.1:${port}" WAITROOM_ADMIN_TOKEN="${admin_token}" \
  WAITROOM_USER_JWT_SECRET="${user_secret}" WAITROOM_TRUSTED_PROXIES=127.0.0.0/8 \
  WAITROOM_LOG_FORMAT=json RUST_LOG=warn "${store_env[@]}" \
  "${bin}" serve >"${work}/server.log" 2>&1 &
started+=($!)
server=$!
url="http://127.0.0.1:${port}"
wait_http "${url}/healthz"

starts=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
curl -fs -o /dev/null -X POST "${url}/v1/admin/events" -H "Authorization: Bearer ${admin_token}" \
  -H 'Content-Type: application/json' \
  -d "{\"id\":\"profiled\",\"name\":\"bench\",\"starts_at\":\"${starts}\",\"outflow_per_second\":1,\"outflow_burst\":1,\"admission_ttl_seconds\":120,\"allow_anonymous\":false,\"inventory\":{\"sku-1\":1000},\"mode\":\"queue\",\"abandon_after_seconds\":600}"

# A second of joins first, so the profile sees the steady state, not the first connections.
TOKENS="${work}/tokens.txt" JOIN_PATH="/v1/events/profiled/tickets" "${pin[@]}" \
  wrk -t1 -c50 -d"$((seconds + 2))s" --latency -s "${here}/join.lua" "${url}" \
  | sed -n 's/^RESULT //p' >"${work}/result.json" &
load=$!
sleep 1
perf record -F "${PERF_HZ:-999}" --call-graph "${PERF_CALL_GRAPH:-fp}" -p "${server}" -o "${work}/perf.data" -- sleep "${seconds}" 2>"${work}/perf.log"
wait "${load}"

mkdir -p "${root}/load/results/tmp"
out="${root}/load/results/tmp/join-profile-${store}"
cp "${work}/perf.data" "${out}.perf.data"
perf script -i "${work}/perf.data" 2>/dev/null | python3 "${here}/profile_groups.py" --folded "${out}.folded"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("joins: %.0f/s, p50 %.3f ms, p99 %.3f ms, non-2xx %d" % (r["per_second"], r["p50_ms"], r["p99_ms"], r["non_2xx"]))' \
  "${work}/result.json"
