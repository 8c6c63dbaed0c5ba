#!/usr/bin/env bash
# Property-based API testing with schemathesis against a live waitroom, from its own
# /openapi.json: no request it generates may get a server error (5xx) or an answer that
# contradicts the document, in single requests and in the stateful phase, which follows the
# document's links (join → ticket → checkout → pay, create event → change it, ban → lift).
# Usage: tests/schemathesis/run.sh [extra schemathesis options]
#
# Starts target/release/waitroom when it exists (WAITROOM_BIN overrides), else builds and starts
# the debug binary, on the embedded store, with an admin token, dev login and the demo event.
# Every request carries the admin bearer token, so the admin API is explored too; shopper routes
# then answer 401, as documented. Installs schemathesis from PyPI when it is missing.
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
  if [ -x target/release/waitroom ]; then
    bin=target/release/waitroom
  else
    cargo build --quiet --bin waitroom || fail "cargo build failed"
    bin=target/debug/waitroom
  fi
fi

out="$root/target/schemathesis"
mkdir -p "$out"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
admin_token="schemathesis-admin-token"

env -u WAITROOM_CONFIG -u WAITROOM_REDIS_URL \
  WAITROOM_LISTEN="127.0.0.1:$port" \
  WAITROOM_ADMIN_TOKEN="$admin_token" \
  WAITROOM_DEV_LOGIN=true \
  WAITROOM_DEMO=true \
  WAITROOM_LOG_FORMAT=json \
  WAITROOM_STATIC_DIR="$root/static" \
  "$bin" serve >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || fail "the server exited at start; see $out/server.log"
  sleep 0.2
done

api() { # METHOD PATH TOKEN [BODY]: the answer's body
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

# schemathesis sends thousands of requests from one address: put it on the limiter's allow list
# (through the admin API) so that it explores the API, not the rate limiter's ban.
rules="$(api GET /v1/admin/ratelimit "$admin_token")"
rules="$(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); r.setdefault("access",{})["allow_ips"]=["127.0.0.1/32"]; print(json.dumps(r))' "$rules")"
api PUT /v1/admin/ratelimit "$admin_token" "$rules" >/dev/null || fail "could not allow 127.0.0.1"
user_token="$(api POST /v1/dev/login none '{"user_id":"schemathesis"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')"

run() { # NAME TOKEN [options]
  local name="$1" token="$2"
  shift 2
  echo "== schemathesis: $name"
  python3 -m schemathesis.cli run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,response_schema_conformance \
    --header "Authorization: Bearer $token" \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" \
    --request-timeout 15 \
    --seed "${SCHEMATHESIS_SEED:-1}" \
    "$@" || fail "$name: failures found; the server's log is $out/server.log"
}

# Shoppers' routes with a shopper's token; everything else with the admin token. The dashboard's
# stream never ends by design: the Rust tests check it.
run "shopper routes" "$user_token" --include-path-regex '^/v1/events/' "$@"
run "admin and operations routes" "$admin_token" --exclude-path-regex '^/v1/events/' \
  --exclude-path /v1/admin/stream "$@"

if grep -q '"level":"ERROR"' "$out/server.log"; then
  fail "the server logged errors; see $out/server.log"
fi
echo "schemathesis: passed"
