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
join_credentials 300000
start_join_server server "${bin}" WAITROOM_REDIS_URL="redis://127.0.0.1:${redis_port}"
create_join_event "${server_url}" calls
redis-cli -p "${redis_port}" CONFIG RESETSTAT >/dev/null
TOKENS="${work}/tokens.txt" JOIN_PATH=/v1/events/calls/tickets \
  taskset -c "$(( $(nproc) - 1 ))" wrk -t1 -c50 -d"${seconds}s" -s "${here}/join.lua" \
  "${server_url}" | sed -n 's/^RESULT //p'
redis-cli -p "${redis_port}" INFO commandstats | grep '^cmdstat_evalsha:'
echo "joined=$(redis-cli -p "${redis_port}" HGET 'wr:{calls}:st' joined)"
