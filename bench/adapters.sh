#!/bin/sh
# bench/adapters.sh BUILD_DIR — each bureau adapter's --dry-run throughput
# (parse, registry join, protobuf record, JSON rendering; no broker), one
# core, per input format, over examples/data repeated to ~50,000 records.
# Prints one line per format:
#   adapter_dryrun format=NAME records=N seconds=S records_per_s=R
# Environment: BENCH_ADAPTER_REPEAT (how many copies of each sample file, 10).
set -u
B=${1:-build-release}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
HERE=$(cd "$(dirname "$0")" && pwd)
EX=$HERE/../examples/data
REPEAT=${BENCH_ADAPTER_REPEAT:-10}
TMP=$(mktemp -d /tmp/sluice-bench-adapters-XXXXXX)
trap 'rm -rf "$TMP"' EXIT INT TERM
ONE=""
command -v taskset >/dev/null 2>&1 && ONE="taskset -c 0"

# repeat SRC DST [SKIP_FIRST_LINE_AFTER_THE_FIRST_COPY]
repeat() {
    : > "$2"
    i=0
    while [ $i -lt "$REPEAT" ]; do
        if [ $i -gt 0 ] && [ "${3:-0}" = 1 ]; then tail -n +2 "$1" >> "$2"; else cat "$1" >> "$2"; fi
        i=$((i + 1))
    done
}

# run NAME ADAPTER ARGS... INPUT: times one --dry-run; counts the records it printed
run() {
    name=$1; shift
    t0=$(date +%s.%N)
    $ONE "$@" --dry-run --quiet --quarantine "$TMP/q.jsonl" > "$TMP/out.jsonl" 2> "$TMP/err.txt"
    t1=$(date +%s.%N)
    n=$(wc -l < "$TMP/out.jsonl")
    awk -v n="$n" -v a="$t0" -v b="$t1" -v f="$name" \
        'BEGIN { s = b - a; printf "adapter_dryrun format=%s records=%d seconds=%.3f records_per_s=%.0f\n", f, n, s, (s > 0 ? n / s : 0) }'
    rm -f "$TMP/q.jsonl"
}

A=$B/adapters
repeat "$EX/water/wmbus-2026-11-28.jsonl" "$TMP/w.jsonl"
repeat "$EX/water/wmbus-2026-11-28.csv" "$TMP/w.csv" 1
repeat "$EX/power/p1-2026-11-28.txt" "$TMP/p1.txt"
# the hospital's and the car parks' day is smaller: ten times the copies
REPEAT=$((REPEAT * 10))
repeat "$EX/health/adt-2026-11-28.hl7" "$TMP/adt.hl7"
repeat "$EX/health/dft-2026-11-28.hl7" "$TMP/dft.hl7"
repeat "$EX/parking/sessions-2026-11-28.jsonl" "$TMP/apds.jsonl"
run wmbus-json "$A/water/sluice-water-adapter" --meters "$EX/water-meters.csv" "$TMP/w.jsonl"
run wmbus-fields "$A/water/sluice-water-adapter" --meters "$EX/water-meters.csv" --timezone Europe/Amsterdam "$TMP/w.csv"
run dsmr-p1 "$A/power/sluice-power-adapter" --meters "$EX/power-meters.csv" "$TMP/p1.txt"
run hl7-adt "$A/health/sluice-health-adapter" "$TMP/adt.hl7"
run hl7-dft "$A/health/sluice-health-adapter" "$TMP/dft.hl7"
run apds-v4 "$A/parking/sluice-parking-adapter" --plates "$EX/plates.csv" --places "$EX/places.csv" "$TMP/apds.jsonl"
