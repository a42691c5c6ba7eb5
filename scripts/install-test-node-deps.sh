#!/usr/bin/env bash
# Installs the browser-test tools of tests/console (puppeteer-core, pinned in
# tests/console/package-lock.json) into tests/console/node_modules with
# `npm ci`, unless that lockfile is installed already. Run by
# scripts/install-deps.sh; node_modules is never committed. The browser is
# Debian's chromium (scripts/install-deps.sh): puppeteer downloads none.
set -euo pipefail
cd "$(dirname "$0")/../tests/console"
stamp=node_modules/.sluice-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
if ! command -v npm >/dev/null; then
  echo "npm is not installed: the console's browser tests need it (Debian package npm," \
       "or the nodejs package that ships it)" >&2
  exit 1
fi
echo "installing the console's browser-test tools (npm ci in tests/console)"
PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null
echo "$want" >"$stamp"
