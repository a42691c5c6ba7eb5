#!/usr/bin/env bash
# Builds every libFuzzer target (meson option fuzz=true, clang) in BUILD
# (default build-fuzz) and fuzzes each for FUZZ_SECONDS (default 45),
# FUZZ_JOBS targets at a time (default: the number of cores).
#
# The whole tree is compiled with -fsanitize=fuzzer-no-link plus ASan and
# UBSan (b_sanitize), so the libraries a target links — the parsers, the
# policy engine, the broker — are coverage-instrumented and checked, not
# only the target's own file.
#
# A target is an executable named fuzz_* or fuzz-* that defines
# LLVMFuzzerTestOneInput. Its seed corpus is looked up next to its source:
#   DIR/corpus/NAME, DIR/fuzz_corpus/NAME, DIR/fuzz_corpus
# (NAME = the target name without "fuzz_"/"fuzz-"), plus DIR/regress/NAME
# (inputs that once crashed) when present. A target without seeds fails.
# The seeds are read only; new inputs go to BUILD/fuzz-work/NAME.
#
# Fails if any target crashes, leaks, times out or breaks a check; prints the
# executions per target and where the crashing input was saved.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ci-lib.sh
build=${1:-build-fuzz}
seconds=${FUZZ_SECONDS:-45}
jobs=${FUZZ_JOBS:-$(ci_jobs)}

command -v clang >/dev/null || { echo "clang is not installed (scripts/install-deps.sh)"; exit 1; }
if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
    -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
fi

# build only the fuzz targets (the rest of the tree is tested elsewhere)
mapfile -t targets < <(meson introspect "$build" --targets | python3 -c '
import json, re, sys
for t in json.load(sys.stdin):
    if t["type"] == "executable" and re.match(r"fuzz[_-]", t["name"]):
        print(t["filename"][0])')
if [ ${#targets[@]} -eq 0 ]; then
  ci_summary "fuzz: no fuzz targets found"
  exit 1
fi
rel=()
for t in "${targets[@]}"; do rel+=("${t#"$PWD/$build/"}"); done
ninja -C "$build" -j "$(ci_jobs)" "${rel[@]}"

work=$PWD/$build/fuzz-work
rm -rf "$work"
mkdir -p "$work/logs" "$work/crashes"

# Runs one target; writes a result line to $work/logs/NAME.result.
s_run () {
  local exe=$1 name short src dirs=() d
  name=$(basename "$exe")
  short=${name#fuzz_}; short=${short#fuzz-}
  src=$(dirname "${exe#"$PWD/$build/"}")
  for d in "$src/corpus/$short" "$src/fuzz_corpus/$short" "$src/fuzz_corpus"; do
    if [ -d "$d" ] && [ -n "$(ls -A "$d")" ]; then dirs+=("$d"); break; fi
  done
  # (no `grep -q` here: it would close the pipe early, and pipefail would
  # turn nm's SIGPIPE into a failure)
  if [ "$(nm "$exe" 2>/dev/null | grep -c ' T LLVMFuzzerTestOneInput$')" -eq 0 ]; then
    echo "$name: SKIP (not a libFuzzer target)" > "$work/logs/$name.result"
    return 0
  fi
  if [ ${#dirs[@]} -eq 0 ]; then
    echo "$name: FAIL no seed corpus (looked in $src/corpus/$short, $src/fuzz_corpus[/$short])" \
      > "$work/logs/$name.result"
    return 0
  fi
  [ -d "$src/regress/$short" ] && dirs+=("$src/regress/$short")
  mkdir -p "$work/$name"
  local log=$work/logs/$name.log rc=0
  ASAN_OPTIONS="detect_leaks=1:print_stacktrace=1" UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" \
  "$exe" "$work/$name" "${dirs[@]}" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/crashes/$name-" -close_fd_mask=3 \
    > "$log" 2>&1 || rc=$?
  local execs per_s units
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  per_s=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  units=$(find "$work/$name" -type f | wc -l)
  if [ "$rc" -eq 0 ]; then
    echo "$name: ok ${execs:-?} executions (${per_s:-?}/s), seeds from ${dirs[*]}, $units new inputs" \
      > "$work/logs/$name.result"
  else
    local art
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
    echo "$name: FAIL exit $rc after ${execs:-?} executions; input ${art:-not saved}; log $log" \
      > "$work/logs/$name.result"
  fi
}

echo "fuzzing ${#targets[@]} targets, ${seconds}s each, $jobs at a time"
running=0
for exe in "${targets[@]}"; do
  s_run "$exe" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

failed=0 total=0 execs_all=0
for exe in "${targets[@]}"; do
  name=$(basename "$exe")
  r=$(cat "$work/logs/$name.result")
  echo "$r"
  case "$r" in
    *": SKIP"*) continue ;;
    *": FAIL"*) failed=$((failed + 1))
      if [ -f "$work/logs/$name.log" ]; then
        echo "---- $name: the report"
        # the first report and its stack, without libFuzzer's progress
        # lines and ASan's shadow-byte map
        grep -vE '^#[0-9]+\s+(NEW|REDUCE|pulse|INITED|RELOAD)|^  0x|^=>0x|^Shadow|^  [A-Z][a-z ]+:|^  Addressable' \
          "$work/logs/$name.log" | grep -m1 -A40 -E 'ERROR: |runtime error|deadly signal|^fuzz_|==[0-9]+== ' | head -n 45
        grep -E 'Test unit written' "$work/logs/$name.log" | tail -n 1
        echo "----"
      fi ;;
  esac
  total=$((total + 1))
  n=$(echo "$r" | sed -n 's/.* \([0-9][0-9]*\) executions.*/\1/p')
  execs_all=$((execs_all + ${n:-0}))
done
ci_summary "fuzz: $total targets, $failed failed, $execs_all executions in all (${seconds}s each)"
[ "$failed" -eq 0 ] && [ "$total" -gt 0 ]
