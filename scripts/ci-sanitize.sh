#!/usr/bin/env bash
# Builds the whole tree with AddressSanitizer + UndefinedBehaviorSanitizer in
# BUILD (default build-asan) and runs the whole suite there.
#
# Every process the suite starts (test binaries, Criterion's workers, the
# sluiced and sluicectl they spawn) inherits ASAN_OPTIONS/UBSAN_OPTIONS and
# writes its report to BUILD/sanitizer-logs/ rather than to a stderr the
# test may have redirected into a temporary directory it then deletes. The
# stage fails if any test fails or any report was written, and prints the
# reports.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ci-lib.sh
build=${1:-build-asan}

# GCC links libasan and libubsan as two shared runtimes; then UBSan ignores
# its log_path and writes to stderr, which a test may have redirected into a
# directory it deletes: a UBSan report of a child process was lost. Both
# runtimes linked statically into each program honour their own log_path.
san_link='-static-libasan -static-libubsan'
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dc_link_args="$san_link" -Dcpp_link_args="$san_link"
else
  meson configure "$build" -Dc_link_args="$san_link" -Dcpp_link_args="$san_link"
fi
ninja -C "$build" -j "$(ci_jobs)"

logs=$PWD/$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"

# Canary: a child process built like the suite must leave both kinds of
# report in the log directory, or this stage could pass while losing them.
canary_logs=$PWD/$build/sanitizer-canary-logs
rm -rf "$canary_logs"
mkdir -p "$canary_logs"
${CC:-cc} -g -fsanitize=address,undefined $san_link scripts/ci-sanitize-canary.c \
  -o "$build/sanitizer-canary"
ASAN_OPTIONS="halt_on_error=1:detect_leaks=0:log_path=$canary_logs/asan" \
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$canary_logs/ubsan" \
  "$build/sanitizer-canary" 2>"$canary_logs/stderr" || true
if ! grep -qs 'runtime error' "$canary_logs"/ubsan.* \
   || ! grep -qs 'AddressSanitizer' "$canary_logs"/asan.*; then
  echo "sanitizer canary: a child's reports did not reach log_path:"
  ls -la "$canary_logs"; head -n 20 "$canary_logs/stderr"
  ci_summary "asan+ubsan: the sanitizer runtimes ignore log_path in child processes"
  exit 1
fi
echo "sanitizer canary: UBSan and ASan reports of a child process reach $canary_logs"
# halt_on_error: the first error ends the process, so it cannot be missed.
# detect_leaks: LeakSanitizer at exit of every process.
# No suppression file: the suite runs clean of libzmq/protobuf-c reports
# (protobuf-c's and libzmq's allocations are all freed by the code that
# owns them); add one here only with the report that justifies each line.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:print_stacktrace=1:abort_on_error=0:log_path=$logs/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan"
export LSAN_OPTIONS="print_suppressions=0"
# Instrumented code runs 2-3x slower: the harnesses stretch their waits (and
# Criterion's timeouts) by this factor, and skip checks that are properties of
# timing alone (how many publishes one commit groups).
export SLUICE_TEST_TIME_SCALE=${SLUICE_TEST_TIME_SCALE:-3}

set +e
# (the Debian package test builds its own package from the sources: it has
# nothing instrumented to check, stage 1 runs it)
meson test -C "$build" --print-errorlogs --num-processes "$(ci_jobs)" \
  --timeout-multiplier 3 --no-suite deb
rc=$?
set -e
counts=$(ci_meson_counts "$build")

reports=()
for f in "$logs"/*; do
  [ -s "$f" ] && reports+=("$f")
done
if [ ${#reports[@]} -gt 0 ]; then
  echo
  echo "sanitizer reports (${#reports[@]} processes):"
  for f in "${reports[@]}"; do
    echo "---- $f"
    head -n 40 "$f"
  done
  echo "----"
  echo "distinct first findings:"
  grep -hE 'runtime error|ERROR: (Address|Leak)Sanitizer|SUMMARY: ' "${reports[@]}" \
    | sed -E 's/0x[0-9a-f]+/0x…/g; s/==[0-9]+==//' | sort | uniq -c | sort -rn | head -30
  rc=1
fi
ci_summary "asan+ubsan: tests $counts; sanitizer reports from ${#reports[@]} processes"
exit $rc
