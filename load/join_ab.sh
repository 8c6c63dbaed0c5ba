#!/usr/bin/env bash
# The two join figures of load/bench (HTTP joins on the memory store beside the bare axum route;
# on the Redis store beside redis-benchmark ZADD), for one or more builds of waitroom, in
# alternation: each round runs bare, then every build on memory, then ZADD, then every build on
# Redis. Servers run exactly as load/bench starts them (JSON logs, RUST_LOG=warn, the shipped
# rate-limit rules, loopback trusted as a proxy); load generators are pinned to the last core,
# 50 connections, each join a new signed-in shopper on a fresh event.
#
#   load/join_ab.sh ROUNDS SECONDS BARE_BIN NAME=WAITROOM_BIN [NAME=WAITROOM_BIN …]
#
# Prints one CSV line per run:
#   round,what,per_second,p50_ms,p99_ms,non_2xx,cpu_us_per_request,redis_cpu_us_per_request,
#   load_cpu_us_per_request
# (the CPU time, user and system, that the server process, redis-server and the load generator
# spent per request answered: on a shared machine steadier figures for comparing builds than the
# rate itself, and together the bound of the rate: two cores give 2,000,000 µs a second).
set -euo pipefail
rounds=$1 seconds=$2 bare_bin=$3
shift 3
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
root="$(cd "$(dirname "$0")/.." && pwd)"
connections=50
pin=(taskset -c "$(( $(nproc) - 1 ))")
# shellcheck source=bench.d/processes.sh
source "${here}/processes.sh"
scratch waitroom-join-ab
start_redis

join_credentials 300000

bare_port=$(free_port)
"${bare_bin}" "127.0.0.1:${bare_port}" >"${work}/bare.log" 2>&1 &
started+=($!)
bare_pid=$!
wait_http "http://127.0.0.1:${bare_port}/" -X POST

declare -A url pid
names=()
for spec in "$@"; do
  name=${spec%%=*} bin=${spec#*=}
  names+=("${name}")
  for store in memory redis; do
    store_env=()
    [ "${store}" = redis ] && store_env=(WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}")
    start_join_server "${name}-${store}" "${bin}" "${store_env[@]}"
    pid["${name}-${store}"]=${server_pid}
    url["${name}-${store}"]=${server_url}
  done
done

# load_cpu: sets `load_cpu` to the user + system seconds of this shell's finished children (the
# load generators); `times` runs in this shell itself, since a subshell starts from nothing.
load_cpu() {
  times >"${work}/times"
  load_cpu=$(awk 'NR == 2 { split($1, u, /[ms]/); split($2, s, /[ms]/); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }' "${work}/times")
}
wrk_csv() { # WHAT PID SCRIPT URL [ENV…]
  local what=$1 server=$2 script=$3 target=$4 before after redis_before redis_after load_before load_after
  shift 4
  before=$(cpu_ticks "${server}")
  redis_before=$(cpu_ticks "${redis_pid}")
  load_cpu
  load_before=${load_cpu}
  env "$@" "${pin[@]}" wrk -t1 -c"${connections}" -d"${seconds}s" --latency -s "${script}" "${target}" \
    | sed -n 's/^RESULT //p' >"${work}/result.json"
  after=$(cpu_ticks "${server}")
  redis_after=$(cpu_ticks "${redis_pid}")
  load_cpu
  load_after=${load_cpu}
  python3 -c '
import json, os, sys
r = json.load(open(sys.argv[3]))
hz, n = os.sysconf("SC_CLK_TCK"), max(r["requests"], 1)
server = (int(sys.argv[5]) - int(sys.argv[4])) / hz * 1e6 / n
redis = (int(sys.argv[7]) - int(sys.argv[6])) / hz * 1e6 / n
load = (float(sys.argv[9]) - float(sys.argv[8])) * 1e6 / n
print("%s,%s,%.1f,%.3f,%.3f,%d,%.1f,%.1f,%.1f" % (sys.argv[1], sys.argv[2], r["per_second"], r["p50_ms"], r["p99_ms"], r["non_2xx"], server, redis, load))' \
    "${round}" "${what}" "${work}/result.json" "${before}" "${after}" "${redis_before}" "${redis_after}" \
    "${load_before}" "${load_after}"
}
event_n=0
join() { # NAME-STORE
  event_n=$((event_n + 1))
  create_join_event "${url[$1]}" "ab-${event_n}"
  wrk_csv "join_$1" "${pid[$1]}" "${here}/join.lua" "${url[$1]}" TOKENS="${work}/tokens.txt" JOIN_PATH="/v1/events/ab-${event_n}/tickets"
}

echo "round,what,per_second,p50_ms,p99_ms,non_2xx,cpu_us_per_request,redis_cpu_us_per_request,load_cpu_us_per_request"
for round in $(seq 1 "${rounds}"); do
  wrk_csv bare "${bare_pid}" "${here}/plain.lua" "http://127.0.0.1:${bare_port}/" METHOD=POST
  for name in "${names[@]}"; do join "${name}-memory"; done
  load_cpu
  redis_before=$(cpu_ticks "${redis_pid}") load_before=${load_cpu}
  "${pin[@]}" redis-benchmark -p "${redis_port}" -c "${connections}" -n 200000 -r 100000000 --csv \
    ZADD bench:zset __rand_int__ member:__rand_int__ 2>/dev/null >"${work}/zadd.csv"
  load_cpu
  redis_after=$(cpu_ticks "${redis_pid}") load_after=${load_cpu}
  awk -F'","' -v r="${round}" -v hz="$(getconf CLK_TCK)" -v rd="$((redis_after - redis_before))" \
    -v ld="$(echo "${load_after} ${load_before}" | awk '{ print $1 - $2 }')" \
    'NR == 2 { printf "%s,zadd,%s,%s,%s,0,,%.1f,%.1f\n", r, $2, $5, $7, rd / hz * 1e6 / 200000, ld * 1e6 / 200000 }' \
    "${work}/zadd.csv"
  for name in "${names[@]}"; do join "${name}-redis"; done
done
