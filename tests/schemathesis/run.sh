#!/usr/bin/env bash
# Property-based API testing with schemathesis against a live waitroom, from its own
# /openapi.json: no request it generates may get a server error (5xx) or an answer that
# contradicts the document (a status code it does not list, another content type, a missing
# documented header, a body off its schema), in single requests and in the stateful phase,
# which follows the document's links (join → ticket → checkout → pay, create event → change it,
# ban → lift).
# Usage: tests/schemathesis/run.sh [extra schemathesis options]
#
# Builds the debug binary from this tree and tests it (WAITROOM_BIN overrides; a release binary
# left in target/ is never picked up, it may be stale). Two servers, each with an admin token,
# dev login and the demo event:
# 1. the embedded store, with loopback on the limiter's allow list, so that the API is explored
#    rather than the limiter (SCHEMATHESIS_MAX_EXAMPLES per operation, 40 by default);
# 2. a private redis-server with the shipped rate-limit rules in force, on a budget of its own
#    (SCHEMATHESIS_REDIS_MAX_EXAMPLES, 10 by default, requests paced by Retry-After, at most
#    SCHEMATHESIS_REDIS_SECONDS, 120 by default, per part); fewer than half of its answers may be
#    429s, or the run explored only the limiter.
# Every request carries a bearer token (the admin's, or a shopper's on shoppers' routes).
# Installs schemathesis from PyPI when it is missing.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

fail() {
  echo "schemathesis: $*" >&2
  exit 1
}

if ! python3 -c 'import schemathesis' 2>/dev/null; then
  python3 -m pip install -q 'schemathesis>=4,<5' || fail "pip install schemathesis failed"
fi

bin="${WAITROOM_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet --bin waitroom || fail "cargo build failed"
  bin=target/debug/waitroom
fi

out="$root/target/schemathesis"
mkdir -p "$out"
admin_token="schemathesis-admin-token"
children=()
trap 'for child in "${children[@]}"; do kill "$child" 2>/dev/null || true; done' EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_server NAME [VAR=value…]: starts the binary with the common settings and the given ones;
# sets $port.
start_server() {
  local name="$1"
  shift
  port="$(free_port)"
  env -u WAITROOM_CONFIG -u WAITROOM_REDIS_URL \
    WAITROOM_LISTEN="127.0.0.1:$port" \
    WAITROOM_ADMIN_TOKEN="$admin_token" \
    WAITROOM_DEV_LOGIN=true \
    WAITROOM_DEMO=true \
    WAITROOM_LOG_FORMAT=json \
    WAITROOM_STATIC_DIR="$root/static" \
    "$@" \
    "$bin" serve >"$out/$name.log" 2>&1 &
  local server=$!
  children+=("$server")
  for _ in $(seq 1 150); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
      return 0
    fi
    kill -0 "$server" 2>/dev/null || fail "the $name server exited at start; see $out/$name.log"
    sleep 0.2
  done
  fail "the $name server did not answer /healthz; see $out/$name.log"
}

api() { # METHOD PATH TOKEN [BODY]: the answer's body, from the server on $port
  python3 - "$port" "$@" <<'PY'
import json, sys, urllib.request
port, method, path, token = sys.argv[1:5]
body = sys.argv[5].encode() if len(sys.argv) > 5 else None
request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method)
request.add_header("Authorization", f"Bearer {token}")
request.add_header("Content-Type", "application/json")
print(urllib.request.urlopen(request, timeout=5).read().decode())
PY
}

shopper_token() {
  api POST /v1/dev/login none '{"user_id":"schemathesis"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}

run() { # NAME TOKEN [options]: one schemathesis run against the server on $port
  local name="$1" token="$2"
  shift 2
  echo "== schemathesis: $name"
  python3 -m schemathesis.cli run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful \
    --request-timeout 15 \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    "$@" || fail "$name: failures found; the servers' logs are in $out"
}

# Both parts on the server on $port: shoppers' routes with a shopper's token, everything else
# with the admin token. The dashboard's stream never ends by design: the Rust tests check it.
run_both_parts() { # LABEL [options]
  local label="$1"
  shift
  local user_token
  user_token="$(shopper_token)"
  run "$label: shopper routes" "$user_token" --include-path-regex '^/v1/events/' "$@"
  run "$label: admin and operations routes" "$admin_token" --exclude-path-regex '^/v1/events/' \
    --exclude-path /v1/admin/stream "$@"
}

# 1. The embedded store. schemathesis sends thousands of requests from one address: put it on
# the limiter's allow list (through the admin API) so that it explores the API, not the ban.
start_server memory
rules="$(api GET /v1/admin/ratelimit "$admin_token")"
rules="$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.setdefault("access",{})["allow_ips"]=["127.0.0.1/32"]; print(json.dumps(r))' "$rules")"
api PUT /v1/admin/ratelimit "$admin_token" "$rules" >/dev/null || fail "could not allow 127.0.0.1"
run_both_parts "memory store" --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" "$@"

# 2. Redis, with the shipped limiter in force.
redis_port="$(free_port)"
redis_dir="$(mktemp -d)"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$redis_dir" \
  >"$out/redis.log" 2>&1 &
children+=("$!")
for _ in $(seq 1 50); do
  [ "$(redis-cli -p "$redis_port" PING 2>/dev/null)" = "PONG" ] && break
  sleep 0.1
done
start_server redis WAITROOM_REDIS_URL="redis://127.0.0.1:$redis_port/"
run_both_parts "Redis, shipped limiter" \
  --max-examples "${SCHEMATHESIS_REDIS_MAX_EXAMPLES:-10}" \
  --rate-limit auto \
  --max-time "${SCHEMATHESIS_REDIS_SECONDS:-120}" "$@"

# The limited run must have reached the API: fewer than half of its answers may be 429s.
# (The metrics go through a file: they are too long for a command line.)
curl -fsS "http://127.0.0.1:$port/metrics" >"$out/redis-metrics.txt" ||
  fail "could not read the Redis server's metrics"
python3 - "$out/redis-metrics.txt" <<'PY' || fail "the Redis run met mostly the limiter"
import re, sys
answered = limited = 0
for line in open(sys.argv[1], encoding="utf-8").read().splitlines():
    if not line.startswith("waitroom_http_requests_total{"):
        continue
    count = float(line.rsplit(" ", 1)[1])
    answered += count
    if re.search(r'status="429"', line):
        limited += count
print(f"schemathesis: the Redis run got {int(answered)} answers, {int(limited)} of them 429")
sys.exit(0 if answered > 0 and limited < answered / 2 else 1)
PY
rm -rf "$redis_dir"

if grep -q '"level":"ERROR"' "$out"/memory.log "$out"/redis.log; then
  fail "a server logged errors; see $out"
fi
echo "schemathesis: passed"
