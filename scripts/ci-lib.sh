# Shared helpers for .ci/run and scripts/ci-*.sh (sourced, not run).
#
# A stage is a command run under ci_stage NAME CMD...: it prints a banner,
# times the command, and prints one summary line
#   "== stage NAME: PASS|FAIL in Ns — DETAIL"
# where DETAIL is the last line the command wrote to $CI_SUMMARY (each
# ci-*.sh script writes its own one-line result there). Results accumulate
# in CI_RESULTS for ci_report.

CI_RESULTS=()
CI_PASSED=0
CI_FAILED=0

ci_banner () {
  local line='=================================================================='
  printf '\n%s\n== %s\n%s\n' "$line" "$*" "$line"
}

ci_stage () {
  local name=$1; shift
  local start end rc detail
  export CI_SUMMARY
  CI_SUMMARY=$(mktemp)
  ci_banner "stage $name: $*"
  start=$(date +%s)
  set +e
  "$@"
  rc=$?
  set -e
  end=$(date +%s)
  detail=$(tail -n 1 "$CI_SUMMARY" 2>/dev/null || true)
  rm -f "$CI_SUMMARY"
  if [ "$rc" -eq 0 ]; then
    CI_PASSED=$((CI_PASSED + 1))
    CI_RESULTS+=("== stage $name: PASS in $((end - start))s${detail:+ — $detail}")
  else
    CI_FAILED=$((CI_FAILED + 1))
    CI_RESULTS+=("== stage $name: FAIL (exit $rc) in $((end - start))s${detail:+ — $detail}")
  fi
  printf '%s\n' "${CI_RESULTS[-1]}"
  return 0
}

ci_report () {
  ci_banner "summary"
  printf '%s\n' "${CI_RESULTS[@]}"
  echo "$CI_PASSED passed, $CI_FAILED failed"
  [ "$CI_FAILED" -eq 0 ]
}

# Writes the one-line result of a stage (see above).
ci_summary () {
  if [ -n "${CI_SUMMARY:-}" ]; then
    printf '%s\n' "$*" >> "$CI_SUMMARY"
  fi
  printf '%s\n' "$*"
}

# Counts meson's test results in the newest BUILD/meson-logs/testlog*.json
# (meson names it testlog-WRAPPER.json under --wrap):
# prints "N passed, N failed, N skipped".
ci_meson_counts () {
  local log pass=0 fail=0 skip=0
  log=$(ls -t "$1"/meson-logs/testlog*.json 2>/dev/null | head -n 1)
  if [ -n "$log" ] && [ -f "$log" ]; then
    pass=$(grep -c '"result": "OK"' "$log" || true)
    fail=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
    skip=$(grep -c '"result": "SKIP"' "$log" || true)
  fi
  echo "$pass passed, $fail failed, $skip skipped"
}

# Number of parallel jobs: CI_JOBS, else the number of cores.
ci_jobs () {
  echo "${CI_JOBS:-$(nproc 2>/dev/null || echo 2)}"
}
