# Sourced by the load scripts: a scratch folder, the processes they start (stopped and the folder
# removed on exit), free ports, and a private Redis.
#
#   source load/bench.d/processes.sh; scratch waitroom-NAME; start_redis
# sets `work`, `redis_port` and `redis_pid`; `started+=($!)` registers a process to stop.

started=()
cleanup() {
  for pid in "${started[@]}"; do kill "${pid}" 2>/dev/null || true; done
  for pid in "${started[@]}"; do wait "${pid}" 2>/dev/null || true; done
  rm -rf "${work:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A scratch folder under /tmp, named after the script.
scratch() { work=$(mktemp -d "/tmp/$1.XXXXXX"); }

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# cpu_ticks PID: user + system clock ticks the process has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# Waits until `curl -fs ARGS` answers (30 s at most).
wait_http() {
  for _ in $(seq 1 300); do
    curl -fs "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

# A Redis of the script's own, without persistence, on a free port (`redis_port`).
start_redis() {
  redis_port=$(free_port)
  redis-server --port "${redis_port}" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "${work}" >"${work}/redis.log" 2>&1 &
  started+=($!)
  redis_pid=$!
  for _ in $(seq 1 100); do redis-cli -p "${redis_port}" PING >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "redis-server did not start" >&2
  return 1
}

# The join scripts' shoppers: an admin token, a user-token secret and COUNT signed-in shoppers'
# tokens, one a line (sets `admin_token` and `user_secret`; writes `${work}/tokens.txt`).
join_credentials() {
  admin_token="bench-$(python3 -c 'import secrets; print(secrets.token_hex(12))')"
  user_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  python3 "$(dirname "${BASH_SOURCE[0]}")/tokens.py" "${user_secret}" "$1" >"${work}/tokens.txt"
}

# start_join_server NAME BIN [ENV…]: waitroom as load/bench runs it (JSON logs at warn, the
# shipped rate-limit rules, loopback trusted as a proxy) with the tokens of `join_credentials`,
# on a free port, logging to `${work}/NAME.log`; ENV adds settings (the store's URL). Sets
# `server_pid` and `server_url` once it answers.
start_join_server() {
  local name=$1 bin=$2 port
  shift 2
  port=$(free_port)
  env -u WAITROOM_CONFIG -u WAITROOM_REDIS_URL \
    WAITROOM_LISTEN="127.0.0.1:${port}" WAITROOM_ADMIN_TOKEN="${admin_token}" \
    WAITROOM_USER_JWT_SECRET="${user_secret}" WAITROOM_TRUSTED_PROXIES=127.0.0.0/8 \
    WAITROOM_LOG_FORMAT=json RUST_LOG=warn "$@" \
    "${bin}" serve >"${work}/${name}.log" 2>&1 &
  started+=($!)
  server_pid=$!
  server_url="http://127.0.0.1:${port}"
  wait_http "${server_url}/healthz"
}

# create_join_event URL ID: an open event that started a second ago, for joins of signed-in
# shoppers (one admitted a second, so nearly every join waits).
create_join_event() {
  local starts
  starts=$(date -u -d '-1 second' +%Y-%m-%dT%H:%M:%SZ)
  curl -fs -o /dev/null -X POST "$1/v1/admin/events" -H "Authorization: Bearer ${admin_token}" \
    -H 'Content-Type: application/json' \
    -d "{\"id\":\"$2\",\"name\":\"bench\",\"starts_at\":\"${starts}\",\"outflow_per_second\":1,\"outflow_burst\":1,\"admission_ttl_seconds\":120,\"allow_anonymous\":false,\"inventory\":{\"sku-1\":1000},\"mode\":\"queue\",\"abandon_after_seconds\":600}"
}
