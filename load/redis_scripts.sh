#!/bin/sh
# The Redis side of the join benchmark: redis-benchmark (pinned to core 1, 50 connections) on
# one Redis, in alternation, ROUNDS times: ZADD, a minimal EVALSHA, the shared Lua prelude alone,
# and the join script of each given version on an open event of its own.
#   load/redis_scripts.sh PORT ROUNDS N [NAME=DIR_WITH_LUA ...]
# Prints one CSV line per run: round,what,requests_per_second,p50_ms,p99_ms
set -eu
port=$1 rounds=$2 n=$3
shift 3
cli="redis-cli -p $port"
bench() { # what, command...
  what=$1
  shift
  taskset -c 1 redis-benchmark -p "$port" -c 50 -n "$n" -r 100000000 --csv "$@" \
    | awk -F'","' -v what="$what" -v r="$round" 'NR == 2 { printf "%s,%s,%s,%s,%s\n", r, what, $2, $5, $7 }'
}
lib() { # dir: the library as the store prepends it (lua/lib/ in order; an older lib.lua)
  if [ -d "$1/lib" ]; then
    for part in time keys settings stock status presence tickets settle; do
      cat "$1/lib/$part.lua"
      echo
    done
  else
    cat "$1/lib.lua"
  fi
}
script() { # dir, name: the library, the arrival windows, then the script, as the store compiles them
  windows=""
  [ -f "$1/window.lua" ] && windows=$(cat "$1/window.lua")
  printf '%s\n%s\n%s' "$(lib "$1")" "$windows" "$(cat "$1/$2.lua")"
}
minimal=$($cli SCRIPT LOAD "return 1")
now=$(($(date +%s) * 1000))
start=$((now - 60000))
versions=""
for spec in "$@"; do
  name=${spec%%=*} dir=${spec#*=}
  config="{\"id\":\"bench-$name\",\"name\":\"bench\",\"created_at\":$start,\"starts_at\":$start,
    \"prequeue_opens_at\":null,\"outflow_milli_per_second\":1000,\"outflow_burst\":1,
    \"max_active\":null,\"cap_follows_stock\":false,\"admission_ttl_seconds\":300,
    \"reservation_ttl_seconds\":600,\"mode\":\"queue\",\"abandon_after_seconds\":60,
    \"operator_status\":\"open\",\"seed\":\"bench\",\"inventory\":{\"tee\":1000}}"
  $cli EVAL "$(script "$dir" create_event)" 1 "wr:{bench-$name}:" '' "$config" > /dev/null
  prelude=$($cli SCRIPT LOAD "$(printf '%s\nreturn 1' "$(lib "$dir")")")
  join=$($cli SCRIPT LOAD "$(script "$dir" join)")
  versions="$versions $name:$prelude:$join"
done
echo "round,what,rps,p50_ms,p99_ms"
round=1
while [ "$round" -le "$rounds" ]; do
  bench zadd ZADD bench:z __rand_int__ m:__rand_int__
  bench evalsha_minimal EVALSHA "$minimal" 0
  for v in $versions; do
    name=${v%%:*} rest=${v#*:}
    prelude=${rest%%:*} join=${rest#*:}
    bench "evalsha_prelude_$name" EVALSHA "$prelude" 1 "wr:{bench-$name}:"
    bench "evalsha_join_$name" EVALSHA "$join" 1 "wr:{bench-$name}:" '' \
      'u:__rand_int__' 'tid-__rand_int__'
  done
  round=$((round + 1))
done
