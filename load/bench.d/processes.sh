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
