#!/usr/bin/env bash
# Plays the smoke scenario against a fresh waitroom on a free loopback port: builds both
# binaries, starts the server, runs the simulator, stops the server. Exits with the
# simulator's code: 0 when the sale held (no oversell, no 5xx, no order inversion).
#
#   bash load/smoke.sh                      # report in load/results/tmp/smoke
#   SCENARIO=load/scenarios/prequeue.toml bash load/smoke.sh
#   SCENARIO=load/scenarios/ws-hold.toml bash load/smoke.sh --shoppers 3000 --max-seconds 20
#   SIGN_IN=secret bash load/smoke.sh       # tokens minted with a shared secret, no dev login
#   BUILD_ARGS=--release bash load/smoke.sh # release binaries (extra cargo build arguments)
set -euo pipefail
cd "$(dirname "$0")/.."

scenario=${SCENARIO:-load/scenarios/smoke.toml}
out=${OUT:-load/results/tmp/$(basename "$scenario" .toml)}
mkdir -p "$out"

read -r -a build_args <<<"${BUILD_ARGS:-}"
cargo build --quiet "${build_args[@]}" --bin waitroom
cargo build --quiet "${build_args[@]}" -p waitroom-sim
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
profile=debug
if [[ " ${build_args[*]} " == *" --release "* ]]; then
  profile=release
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
admin_token="smoke-$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
base_url="http://127.0.0.1:${port}"
secret_env=()
sim_secret=()
if [ "${SIGN_IN:-dev-login}" = secret ]; then
  user_secret=$(python3 -c 'import secrets; print(secrets.token_hex(32))')
  secret_env=(WAITROOM_USER_JWT_SECRET="${user_secret}")
  sim_secret=(--user-jwt-secret "${user_secret}")
fi

# The shipped rate-limit rules, with the simulator's own address (its sampling and admin reads
# carry no X-Forwarded-For) let through, so a long run's sampling is never banned; the simulated
# shoppers come through X-Forwarded-For and stay under the rules.
sed 's|^allow_ips = \[\]|allow_ips = ["127.0.0.1/32"]|' config/ratelimit.toml >"${out}/ratelimit.toml"
printf '[ratelimit]\nfile = "%s"\n' "${out}/ratelimit.toml" >"${out}/server.toml"

env -u WAITROOM_CONFIG \
  WAITROOM_CONFIG="${out}/server.toml" \
  WAITROOM_LISTEN="127.0.0.1:${port}" \
  WAITROOM_ADMIN_TOKEN="${admin_token}" \
  WAITROOM_DEV_LOGIN=true \
  WAITROOM_TRUSTED_PROXIES=127.0.0.0/8 \
  "${secret_env[@]}" \
  "${target_dir}/${profile}/waitroom" serve >"${out}/server.log" 2>&1 &
server=$!
trap 'kill "${server}" 2>/dev/null || true; wait "${server}" 2>/dev/null || true' EXIT

for _ in $(seq 1 150); do
  if curl -fs "${base_url}/healthz" >/dev/null 2>&1; then
    break
  fi
  if ! kill -0 "${server}" 2>/dev/null; then
    echo "the server did not start:" >&2
    cat "${out}/server.log" >&2
    exit 2
  fi
  sleep 0.2
done

"${target_dir}/${profile}/waitroom-sim" --scenario "${scenario}" --base-url "${base_url}" \
  --admin-token "${admin_token}" "${sim_secret[@]}" --out "${out}" --quiet "$@"
