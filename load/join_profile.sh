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

join_credentials 300000
store_env=()
[ "${store}" = redis ] && store_env=(WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}")
start_join_server server "${bin}" "${store_env[@]}"
server=${server_pid}
url=${server_url}
create_join_event "${url}" profiled

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
