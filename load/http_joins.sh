#!/bin/sh
# HTTP joins against release builds, beside the bare axum route and redis-benchmark ZADD on the
# same Redis, in alternation (wrk -t1 and redis-benchmark pinned to core 1, 50 connections,
# DURATION / 100,000 commands each), ROUNDS times. Each run joins a fresh event, so every
# request is a new signed-in shopper.
#   load/http_joins.sh REDIS_PORT ROUNDS DURATION TOKENS BARE_BIN [NAME=WAITROOM_BIN ...]
# Prints one CSV line per run: round,what,requests_per_second,p50,p99,non_2xx
set -eu
redis_port=$1 rounds=$2 duration=$3 tokens=$4 bare=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
# Fixed, known secrets (the tokens file is minted with this one): dev mode, where they are allowed.
secret=load-secret-0123456789abcdef0123456789
admin=load-admin-token
pids=""
cleanup() { for pid in $pids; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

"$bare" 127.0.0.1:8090 & pids="$pids $!"
port=8100
servers=""
for spec in "$@"; do
  name=${spec%%=*} bin=${spec#*=}
  for store in memory redis; do
    if [ "$store" = redis ]; then url="redis://127.0.0.1:$redis_port/"; else url=""; fi
    WAITROOM_LISTEN=127.0.0.1:$port WAITROOM_DEV_LOGIN=true WAITROOM_ADMIN_TOKEN=$admin WAITROOM_USER_JWT_SECRET=$secret \
      WAITROOM_REDIS_URL=$url RUST_LOG=info taskset -c 0,1 "$bin" > "/tmp/waitroom-load-$name-$store.log" 2>&1 &
    pids="$pids $!"
    servers="$servers $name-$store:$port"
    port=$((port + 1))
  done
done
sleep 2

run() { # what, url, script, args...
  what=$1 url=$2 script=$3
  shift 3
  taskset -c 1 wrk -t1 -c50 -d"$duration" --latency -s "$script" "$url" -- "$@" 2>&1 | awk -v what="$what" -v r="$round" '
    /Requests\/sec/ { rps = $2 }
    /^ +50%/ { p50 = $2 } /^ +99%/ { p99 = $2 }
    /Non-2xx/ { bad = $NF }
    END { printf "%s,%s,%s,%s,%s,%s\n", r, what, rps, p50, p99, bad + 0 }'
}

echo "round,what,rps,p50,p99,non_2xx"
round=1
while [ "$round" -le "$rounds" ]; do
  taskset -c 1 redis-benchmark -p "$redis_port" -c 50 -n 100000 -r 100000000 --csv \
    ZADD bench:z __rand_int__ m:__rand_int__ \
    | awk -F'","' -v r="$round" 'NR == 2 { printf "%s,zadd,%s,%sms,%sms,0\n", r, $2, $5, $7 }'
  run bare http://127.0.0.1:8090/ "$here/wrk/post_empty.lua"
  for server in $servers; do
    what=${server%%:*} port=${server#*:}
    event="load-$round-$(date +%s%N | tail -c 7)"
    "$here/bench_setup.sh" "http://127.0.0.1:$port" "$admin" "$event"
    run "join_$what" "http://127.0.0.1:$port/v1/events/$event/tickets" "$here/wrk/join_users.lua" "$tokens"
  done
  round=$((round + 1))
done
