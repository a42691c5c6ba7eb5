#!/usr/bin/env bash
# CI stage: the release configuration `make bench` uses (-O3, warnings as
# errors, no tests) must build, so a warning only -O3 raises cannot break
# `make bench` on a clean clone again.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-release}
[ -f "$dir/build.ninja" ] || meson setup "$dir" --buildtype=release -Dtests=false >/dev/null
rc=0
ninja -C "$dir" || rc=$?
if [ -n "${CI_SUMMARY:-}" ]; then
  if [ $rc -eq 0 ]; then echo "release (-O3) build ok" >> "$CI_SUMMARY"
  else echo "release (-O3) build failed" >> "$CI_SUMMARY"; fi
fi
exit $rc
