#!/usr/bin/env bash
# Browser tests in a real headless Chromium against a freshly built waitroom on the embedded
# store: the shopper's journey (journey.mjs), the queue page on a busy server and a bad network
# (conditions.mjs), the pages' headers, languages, branding and accessibility (pages.mjs), the
# operators' dashboard (dashboard.mjs) and the queue page's check of the draw (draw.mjs). The
# server runs from an empty directory with no static_dir: every page comes out of the binary.
# Usage: tests/browser/run.sh [journey|conditions|pages|dashboard|branding|draw]...   (all by default;
# screenshots go to target/browser/)
#
# Needs Debian's chromium (apt-get install -y chromium) and Node.js with npm; playwright-core
# comes from npm (package-lock.json) and drives /usr/bin/chromium: it never downloads a browser.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"

fail() {
  echo "browser test: $*" >&2
  exit 1
}

[ -x "$chromium" ] || fail "Chromium not found at $chromium. Install it with 'apt-get install -y chromium', or set CHROMIUM=/path/to/chromium."
command -v node >/dev/null || fail "Node.js not found. Install it with 'apt-get install -y nodejs npm'."
command -v npm >/dev/null || fail "npm not found. Install it with 'apt-get install -y npm'."

(cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed in $here"

cd "$root"
# `cargo test` passes the binary it built; run by hand, the script builds it.
bin="${WAITROOM_BIN:-}"
if [ -z "$bin" ]; then
  cargo build --quiet --bin waitroom || fail "cargo build failed"
  bin="$root/target/debug/waitroom"
fi

out="$root/target/browser"
profile="$(mktemp -d)"
mkdir -p "$out"
port="$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")"

(cd "$profile" && exec env -u WAITROOM_CONFIG -u WAITROOM_REDIS_URL -u WAITROOM_STATIC_DIR \
  WAITROOM_LISTEN="127.0.0.1:$port" \
  WAITROOM_DEV_LOGIN=true \
  WAITROOM_ADMIN_TOKEN=browser-test-admin \
  "$bin" serve) >"$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -rf "$profile"' EXIT

for _ in $(seq 1 100); do
  if node -e "fetch('http://127.0.0.1:$port/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"; then
    break
  fi
  kill -0 "$server" 2>/dev/null || fail "the server exited at start; see $out/server.log"
  sleep 0.2
done

scripts=("$@")
[ ${#scripts[@]} -gt 0 ] || scripts=(journey conditions pages dashboard branding draw)
for script in "${scripts[@]}"; do
  WAITROOM_URL="http://127.0.0.1:$port" \
    WAITROOM_ADMIN_TOKEN=browser-test-admin \
    CHROMIUM="$chromium" \
    SCREENSHOT_DIR="$out" \
    HOME="$profile" \
    node "$here/$script.mjs" || fail "$script failed; the server's log is $out/server.log"
done
echo "browser test: passed (${scripts[*]}); screenshots in $out/"
