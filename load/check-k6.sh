#!/usr/bin/env bash
# Type-checks the k6 scripts against @types/k6 (k6 itself is not needed, and not run).
#
# Usage: load/check-k6.sh [DIR]   (DIR: the scripts to check; load/k6 by default)
#
# Prints the compiler's errors, then "k6: N passed, M failed", counting every script under DIR
# (its lib/ included) that the compiler found an error in; exits 1 when any failed, or when the
# compiler failed without naming a script.
set -euo pipefail
cd "$(dirname "$0")"
scripts_dir="$(cd "${1:-k6}" && pwd)"
# One check at a time: `npm ci` empties node_modules before it fills it, so a second check
# running meanwhile (the suite runs two at once) would find no compiler.
exec 9>.check-k6.lock
flock 9
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi

# The shipped compiler settings, pointed at DIR (a config beside tsconfig.json, so that @types/k6
# resolves from this directory's node_modules whatever DIR is).
config="$(mktemp -p . --suffix=.json .tsconfig-check-XXXXXX)"
trap 'rm -f "$config"' EXIT
printf '{"extends": "./tsconfig.json", "include": ["%s/**/*.js"]}\n' "$scripts_dir" >"$config"

status=0
output="$(npx --no-install tsc -p "$config" --pretty false 2>&1)" || status=$?
[ -z "$output" ] || printf '%s\n' "$output"

passed=0
failed=0
while IFS= read -r script; do
  # tsc names files relative to the working directory: `k6/bots.js(12,5): error TS…`.
  shown="$(realpath --relative-to=. "$script")"
  if grep -qF -- "$shown(" <<<"$output"; then
    failed=$((failed + 1))
    echo "k6: FAILED $shown"
  else
    passed=$((passed + 1))
  fi
done < <(find "$scripts_dir" -name '*.js' -type f | sort)

echo "k6: ${passed} passed, ${failed} failed"
if [ "$failed" -gt 0 ]; then
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "k6: the type check failed (exit $status) without naming a script" >&2
  exit 1
fi
