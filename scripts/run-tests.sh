#!/usr/bin/env bash
# Runs the meson test suite in build dir $1 (default: build) and ends with
# one line "N passed, N failed, N skipped" counted from meson's test log.
set -uo pipefail
build=${1:-build}
shift || true
meson test -C "$build" --print-errorlogs "$@"
rc=$?
log="$build/meson-logs/testlog.json"
if [ -f "$log" ]; then
  pass=$(grep -c '"result": "OK"' "$log" || true)
  fail=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
  skip=$(grep -c '"result": "SKIP"' "$log" || true)
  echo "tests: $pass passed, $fail failed, $skip skipped"
fi
exit $rc
