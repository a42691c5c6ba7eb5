#!/usr/bin/env bash
# Runs the integration tests of BUILD (default build, a plain build as
# `make test` makes it) under valgrind memcheck.
#
# Which tests: the integration tests — those that run the real sluiced, in
# a child process or in process — chosen by name with the regular
# expression VG_TESTS (default: broker_it_*, sdk_e2e, sdk_cli, adapters/e2e,
# fuzz_replay_*). The unit suites and the pure libraries (policy, audit,
# consent) are covered by the sanitizer stage; under valgrind they would
# cost minutes and find nothing ASan does not.
#
# Timing: valgrind runs code 20-50x slower. meson's timeouts are multiplied
# by 10, and SLUICE_TEST_TIME_SCALE=10 is exported for test harnesses that
# scale their own waits by it.
#
# The test binaries fork and exec sluiced, sluicectl and the adapters, so
# valgrind follows children (--trace-children=yes): each process writes
# BUILD/valgrind-logs/vg.PID.log, whatever the test does with its stderr.
# Leaf helpers that are not ours (rm, tail, python3...) are not traced. The
# stage fails if a test fails, or if any log reports an error or a
# definite leak (--errors-for-leak-kinds=definite makes those errors).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ci-lib.sh
build=${1:-build}
select=${VG_TESTS:-'^(broker_it_|sdk_e2e$|sdk_cli$|adapters/e2e$|fuzz_replay_)'}
export SLUICE_TEST_TIME_SCALE=${SLUICE_TEST_TIME_SCALE:-10}

command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/install-deps.sh)"; exit 1; }
[ -f "$build/build.ninja" ] || meson setup "$build"
ninja -C "$build" -j "$(ci_jobs)"

logs=$PWD/$build/valgrind-logs
rm -rf "$logs"
mkdir -p "$logs"
supp=$PWD/scripts/ci-valgrind.supp

tests=()
while IFS= read -r t; do
  name=${t##* / }
  [[ "$name" =~ $select ]] && tests+=("$name")
done < <(meson test -C "$build" --list 2>/dev/null | grep ' / ')
if [ ${#tests[@]} -eq 0 ]; then
  ci_summary "valgrind: no test matches '$select'"
  exit 1
fi
echo "under valgrind: ${tests[*]}"

wrap="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite"
wrap+=" --show-leak-kinds=definite --track-origins=no --num-callers=30"
wrap+=" --trace-children=yes --trace-children-skip=*/rm,*/tail,*/cat,*/python3*,*/sleep,*/ss,*/ip"
wrap+=" --child-silent-after-fork=no --suppressions=$supp"
wrap+=" --log-file=$logs/vg.%p.log"

set +e
# valgrind runs code 20-50x slower: give each test 10x its timeout
meson test -C "$build" --print-errorlogs --num-processes "$(ci_jobs)" \
  --timeout-multiplier 10 --wrap="$wrap" "${tests[@]}"
rc=$?
set -e
counts=$(ci_meson_counts "$build")

bad=()
for f in "$logs"/vg.*.log; do
  [ -f "$f" ] || continue
  if grep -qE 'ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|definitely lost: [1-9]|Mismatched free|overlap|Syscall param' "$f"; then
    bad+=("$f")
  fi
done
nlogs=$(find "$logs" -name 'vg.*.log' | wc -l)
if [ ${#bad[@]} -gt 0 ]; then
  echo
  echo "valgrind reports (${#bad[@]} of $nlogs processes):"
  for f in "${bad[@]}"; do
    echo "---- $f: $(grep -m1 'Command:' "$f" | sed 's/.*Command: //')"
    grep -vE '^==[0-9]+== *$' "$f" | head -n 60
  done
  rc=1
fi
ci_summary "valgrind: tests $counts; $nlogs processes checked, ${#bad[@]} with errors or definite leaks"
exit $rc
