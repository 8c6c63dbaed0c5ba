#!/usr/bin/env bash
# The rate-limit row of load/bench (decisions on Redis through HTTP: the socket route without an
# upgrade, which answers 426 once the limiter let it by, each request from a new client address)
# for one or more builds in alternation, each on a Redis of its own, with the CPU that the server
# and redis-server spent per request.
#
#   load/limiter_ab.sh ROUNDS SECONDS NAME=WAITROOM_BIN [NAME=WAITROOM_BIN …]
#
# Prints one CSV line per run:
#   round,what,per_second,p50_ms,p99_ms,server_cpu_us_per_request,redis_cpu_us_per_request
set -euo pipefail
rounds=$1 seconds=$2
shift 2
here="$(cd "$(dirname "$0")" && pwd)/bench.d"
# shellcheck source=bench.d/processes.sh
source "${here}/processes.sh"
scratch waitroom-limiter-ab
join_credentials 1
path="/v1/events/bench-limited/tickets/00000000-0000-4000-8000-000000000000/ws"

declare -A url pid redis
names=()
for spec in "$@"; do
  name=${spec%%=*} bin=${spec#*=}
  names+=("${name}")
  start_redis
  redis["${name}"]=${redis_pid}
  start_join_server "${name}" "${bin}" WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}"
  pid["${name}"]=${server_pid}
  url["${name}"]=${server_url}
done

echo "round,what,per_second,p50_ms,p99_ms,server_cpu_us_per_request,redis_cpu_us_per_request"
for round in $(seq 1 "${rounds}"); do
  for name in "${names[@]}"; do
    server_before=$(cpu_ticks "${pid[${name}]}") redis_before=$(cpu_ticks "${redis[${name}]}")
    taskset -c "$(( $(nproc) - 1 ))" wrk -t1 -c50 -d"${seconds}s" -s "${here}/plain.lua" \
      "${url[${name}]}${path}" | sed -n 's/^RESULT //p' >"${work}/result.json"
    server_after=$(cpu_ticks "${pid[${name}]}") redis_after=$(cpu_ticks "${redis[${name}]}")
    python3 -c '
import json, os, sys
r = json.load(open(sys.argv[3]))
hz, n = os.sysconf("SC_CLK_TCK"), max(r["requests"], 1)
cpu = lambda a, b: (int(b) - int(a)) / hz * 1e6 / n
print("%s,%s,%.1f,%.3f,%.3f,%.1f,%.1f" % (sys.argv[1], sys.argv[2], r["per_second"], r["p50_ms"],
      r["p99_ms"], cpu(sys.argv[4], sys.argv[5]), cpu(sys.argv[6], sys.argv[7])))' \
      "${round}" "${name}" "${work}/result.json" "${server_before}" "${server_after}" \
      "${redis_before}" "${redis_after}"
  done
done
