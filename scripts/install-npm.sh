#!/usr/bin/env bash
# Installs the npm test tools the suite uses, pinned by their lockfiles, with
# `npm ci` (never at run time; nothing from npm ships in a program):
#   tests/openapi   @seriousme/openapi-schema-validator, validates the
#                   gateway's OpenAPI 3.1 document
#   tests/console   puppeteer-core, drives Debian's chromium for the web
#                   console's browser tests (it downloads no browser)
# Skips a directory whose node_modules already matches its lockfile. Without
# node/npm it says so and exits 0: the tests that need them then skip with
# the same message. Called by scripts/install-deps.sh (as any user).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "install-npm: node/npm not installed (Debian package nodejs, npm): the OpenAPI check and the console browser tests will be skipped" >&2
  exit 0
fi
export PUPPETEER_SKIP_DOWNLOAD=1
for dir in tests/openapi tests/console; do
  stamp=$dir/node_modules/.sluice-lock.sha256
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    continue
  fi
  echo "install-npm: npm ci in $dir"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
done
