#!/usr/bin/env bash
# Type-checks the k6 scripts against @types/k6 (k6 itself is not needed, and not run).
set -euo pipefail
cd "$(dirname "$0")"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
else
  npm install --no-audit --no-fund --loglevel=error
fi
npx --no-install tsc --allowJs --checkJs --noEmit -p tsconfig.json
scripts=$(ls k6/*.js | wc -l)
echo "k6: ${scripts} passed, 0 failed"
