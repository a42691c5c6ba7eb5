#!/bin/sh
# bench/run.sh BUILD_DIR — every sluice benchmark and its baselines in ONE run,
# on this machine, printed with ratios against the baselines and the targets.
#
#   baselines  raw libzmq PUSH/PULL with CURVE (bench/e2e/baseline_zmq.c)
#              Eclipse Mosquitto, QoS 1, persistence (bench/e2e/baseline_mosquitto.c)
#              RabbitMQ, durable queue, persistent messages, publisher confirms,
#              manual consumer acks (bench/e2e/baseline_rabbitmq.c)
#   sluice     bench-e2e (N publishers -> sluiced -> M consumers, 256-byte records;
#              policies: transform on half the traffic, consent on a quarter; and
#              identity permits, 4->4 and 1->1)
#              bench-scale (RSS with 100 members, restart with 1,000,000 queued,
#              recovery after SIGKILL), bench-policy, bench_audit,
#              bench-descset (a run-time registered record type against the
#              same type compiled in: decode, decode + encode)
#              bench-city (32 member bureaus, 1,000 rules, 1,000,000 consents:
#              start-up, records/s and latency with consent checks, RSS)
#              bench-gateway (HTTP/JSON through sluice-gateway: NDJSON batches and
#              single POSTs as a ratio of direct libsluice; added p50 per POST)
#   profile    perf record of sluiced during the saturation phase
#
# Environment: BENCH_SECONDS (per e2e phase, 3), BENCH_QUEUED (1000000),
# BENCH_MEMBERS (100), BENCH_PUBLISHERS / BENCH_CONSUMERS (4 / 4),
# BENCH_PERF (1: profile with perf if installed), BENCH_OUT (keep raw output
# there; default a temporary directory that is removed), BENCH_BUREAUS (32),
# BENCH_RULES (1000), BENCH_CONSENTS (1000000) for bench-city.
# Everything is loopback, on ephemeral ports and temporary directories, and
# each program stops by itself.
set -u
B=${1:-build-release}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
SECONDS_PER_PHASE=${BENCH_SECONDS:-3}
QUEUED=${BENCH_QUEUED:-1000000}
MEMBERS=${BENCH_MEMBERS:-100}
NPUB=${BENCH_PUBLISHERS:-4}
NCON=${BENCH_CONSUMERS:-4}
PERF=${BENCH_PERF:-1}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -n "${BENCH_OUT:-}" ]; then OUT=$BENCH_OUT; mkdir -p "$OUT"; KEEP=1
else OUT=$(mktemp -d /tmp/sluice-bench-run-XXXXXX); KEEP=0; fi
cleanup() { [ "$KEEP" = 1 ] || rm -rf "$OUT"; }
trap cleanup EXIT INT TERM

SLUICED=$B/broker/sluiced
SLUICECTL=$B/cli/sluicectl
for p in "$SLUICED" "$B/bench/e2e/bench-e2e" "$B/bench/e2e/bench-scale" "$B/bench/e2e/baseline-zmq"; do
    [ -x "$p" ] || { echo "bench/run.sh: $p is missing: build first (make bench)" >&2; exit 1; }
done
if ! command -v perf >/dev/null 2>&1; then PERF=0; fi

load() { cut -d' ' -f1-3 /proc/loadavg; }
# kv FILE PREFIX KEY: the value of KEY= on the first line starting with PREFIX
kv() { awk -v p="$2" -v k="$3" '$1 == p { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { print a[2]; exit } } }' "$1"; }
# kvw FILE PREFIX WHERE=VAL KEY: same, on the line that also has WHERE=VAL
kvw() { awk -v p="$2" -v w="$3" -v k="$4" '$1 == p { hit = 0; for (i = 2; i <= NF; i++) if ($i == w) hit = 1; if (!hit) next; for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) { print a[2]; exit } } }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "n/a"; else printf "%.2fx", a / b }'; }
meets() { awk -v v="$1" -v op="$2" -v t="$3" 'BEGIN { if (v == "") { print "n/a"; exit } ok = (op == ">=") ? (v + 0 >= t + 0) : (v + 0 <= t + 0); print ok ? "met" : "NOT met" }'; }

step() {   # step NAME CMD...: runs it, keeps stdout in $OUT/NAME.txt, stderr in NAME.err
    name=$1; shift
    echo "-- $name   (load $(load))" >&2
    echo "load_before $(load)" > "$OUT/$name.load"
    "$@" > "$OUT/$name.txt" 2> "$OUT/$name.err"
    rc=$?
    echo "load_after $(load)" >> "$OUT/$name.load"
    [ $rc -eq 0 ] || { echo "   $name failed (exit $rc); last lines of its stderr:" >&2; grep -v 'level=info' "$OUT/$name.err" | tail -5 >&2; }
    return 0
}

echo "sluice benchmarks — $(date -u '+%Y-%m-%d %H:%M UTC')" >&2
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)" >&2
T0=$(date +%s)

step zmq "$B/bench/e2e/baseline-zmq" 1000000 256
if [ -x "$B/bench/e2e/baseline-mosquitto" ] && command -v mosquitto >/dev/null 2>&1; then
    step mosquitto "$B/bench/e2e/baseline-mosquitto" 200000 256
else
    echo "   mosquitto baseline skipped: needs Debian's mosquitto and libmosquitto-dev (make deps)" >&2
    : > "$OUT/mosquitto.txt"
fi
if [ -x "$B/bench/e2e/baseline-rabbitmq" ] && [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
    step rabbitmq "$B/bench/e2e/baseline-rabbitmq" 100000 256
else
    echo "   rabbitmq baseline skipped: needs Debian's rabbitmq-server and librabbitmq-dev (make deps)" >&2
    : > "$OUT/rabbitmq.txt"
fi
PERFARG=""
[ "$PERF" = 1 ] && PERFARG="--perf $OUT/perf-e2e.data"
SETUP="--setup $HERE/e2e/city-setup.sh --sluicectl $SLUICECTL"
# The issue's configuration: a field transform on half the traffic, a
# consent check on a quarter (bench/e2e/policy/mixed), audit, group commit.
step e2e "$B/bench/e2e/bench-e2e" --sluiced "$SLUICED" --publishers "$NPUB" --consumers "$NCON" \
    --seconds "$SECONDS_PER_PHASE" --policy mixed $SETUP $PERFARG
# The same with identity permits (no transform, no consent look-up).
step e2e_plain "$B/bench/e2e/bench-e2e" --sluiced "$SLUICED" --publishers "$NPUB" --consumers "$NCON" \
    --seconds "$SECONDS_PER_PHASE" --policy plain $SETUP
# One publisher -> one consumer, identity permit: the shape of the baselines.
step e2e_1to1 "$B/bench/e2e/bench-e2e" --sluiced "$SLUICED" --publishers 1 --consumers 1 \
    --seconds "$SECONDS_PER_PHASE" --policy plain $SETUP
[ -x "$B/bench/policy/bench-policy" ] && step policy "$B/bench/policy/bench-policy" || : > "$OUT/policy.txt"
[ -x "$B/bench/schemas/bench-descset" ] && step descset "$B/bench/schemas/bench-descset" || : > "$OUT/descset.txt"
[ -x "$B/bench/audit/bench_audit" ] && step audit "$B/bench/audit/bench_audit" || : > "$OUT/audit.txt"
# Each bureau adapter's --dry-run records/s per input format, one core (bench/adapters.sh).
step adapters sh "$HERE/adapters.sh" "$B"
step scale "$B/bench/e2e/bench-scale" --sluiced "$SLUICED" --members "$MEMBERS" --queued "$QUEUED" $SETUP
# The scale case: 32 bureaus, 1,000 rules, 1,000,000 consents (bench/scale).
CITYPERF=""
[ "$PERF" = 1 ] && CITYPERF="--perf $OUT/perf-city.data"
if [ -x "$B/bench/scale/bench-city" ]; then
    step city "$B/bench/scale/bench-city" --sluiced "$SLUICED" --sluicectl "$SLUICECTL" \
        --bureaus "${BENCH_BUREAUS:-32}" --rules "${BENCH_RULES:-1000}" \
        --consents "${BENCH_CONSENTS:-1000000}" --seconds "$SECONDS_PER_PHASE" $CITYPERF
else
    : > "$OUT/city.txt"
fi

# The gateway: HTTP/JSON through sluice-gateway against direct libsluice (bench/gateway).
if [ -x "$B/bench/gateway/bench-gateway" ] && [ -x "$B/adapters/gateway/sluice-gateway" ]; then
    step gateway "$B/bench/gateway/bench-gateway" --sluiced "$SLUICED" \
        --gateway "$B/adapters/gateway/sluice-gateway" --seconds "$SECONDS_PER_PHASE"
else
    : > "$OUT/gateway.txt"
fi

# ---------------------------------------------------------------- summary
ZMQ=$(kv "$OUT/zmq.txt" zmq_curve_pushpull msgs_per_s)
MOSQ=$(kv "$OUT/mosquitto.txt" mosquitto_qos1 msgs_per_s)
RMQ=$(kv "$OUT/rabbitmq.txt" rabbitmq_confirms msgs_per_s)
SAT=$(kv "$OUT/e2e.txt" sluice_e2e saturation_rps)
PUB=$(kv "$OUT/e2e.txt" sluice_e2e publish_rps)
DUR=$(kv "$OUT/e2e.txt" sluice_e2e consumed_while_publishing_rps)
DRN=$(kv "$OUT/e2e.txt" sluice_e2e drain_rps)
echo
echo "== sluice benchmark summary ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load at end $(load))"
printf "load average (1 min) at the start of each step:"
for f in zmq mosquitto rabbitmq e2e e2e_plain e2e_1to1 policy audit scale city; do
    [ -f "$OUT/$f.load" ] && printf " %s %s" "$f" "$(awk 'NR == 1 { print $2 }' "$OUT/$f.load")"
done
echo
printf "%-44s %14s %10s %10s  %s\n" "figure" "value" "vs zmq" "vs mosq" "target"
printf "%-44s %14s %10s %10s\n" "raw zmq PUSH/PULL CURVE, msgs/s (baseline)" "${ZMQ:-n/a}" "1.00x" "$(ratio "$ZMQ" "$MOSQ")"
printf "%-44s %14s %10s %10s\n" "mosquitto QoS1 persist, msgs/s (baseline)" "${MOSQ:-n/a}" "$(ratio "$MOSQ" "$ZMQ")" "1.00x"
printf "%-44s %14s %10s %10s\n" "rabbitmq confirms+acks, msgs/s (baseline)" "${RMQ:-n/a}" "$(ratio "$RMQ" "$ZMQ")" "$(ratio "$RMQ" "$MOSQ")"
printf "%-44s %14s %10s %10s  >= 100000: %s\n" "sluice e2e ${NPUB}->${NCON}, policies, records/s" "${SAT:-n/a}" "$(ratio "$SAT" "$ZMQ")" "$(ratio "$SAT" "$MOSQ")" "$(meets "$SAT" ">=" 100000)"
printf "%-44s %14s %21s  >= 2x: %s\n" "  vs rabbitmq (confirms, manual acks)" "$(ratio "$SAT" "$RMQ")" "" "$(meets "$(awk -v a="$SAT" -v b="$RMQ" 'BEGIN { if (a != "" && b + 0 > 0) print a / b }')" ">=" 2)"
printf "%-44s %14s %10s %10s\n" "  publish (ACKed after fsync), records/s" "${PUB:-n/a}" "$(ratio "$PUB" "$ZMQ")" "$(ratio "$PUB" "$MOSQ")"
printf "%-44s %14s\n" "  consumed while publishing, records/s" "${DUR:-n/a}"
printf "%-44s %14s %10s %10s\n" "  delivery after publishing stops, rec/s" "${DRN:-n/a}" "$(ratio "$DRN" "$ZMQ")" "$(ratio "$DRN" "$MOSQ")"
for l in 10 50 90; do
    p50=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" p50_us)
    p99=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" p99_us)
    p999=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" p999_us)
    got=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" achieved_rps)
    off=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" offered_rps)
    n=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" samples)
    tgt=""
    [ $l = 50 ] && tgt="p99 <= 5000 us: $(meets "$p99" "<=" 5000)"
    if [ "${n:-0}" = 0 ]; then p50=none; p99=none; p999=none; tgt="no record reached a consumer in the window"; fi
    printf "%-44s %14s %10s %10s  %s\n" "  latency at $l% (${off:-?} offered, ${got:-?} got)" "p50 ${p50:-?} us" "p99 ${p99:-?}" "p99.9 ${p999:-?}" "$tgt"
    a50=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" ack_p50_us)
    a99=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" ack_p99_us)
    a999=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" ack_p999_us)
    printf "%-44s %14s %10s %10s\n" "    publish -> durable ACK at $l%" "p50 ${a50:-?} us" "p99 ${a99:-?}" "p99.9 ${a999:-?}"
done
PSAT=$(kv "$OUT/e2e_plain.txt" sluice_e2e saturation_rps)
printf "%-44s %14s %10s %10s\n" "sluice e2e ${NPUB}->${NCON}, identity permits, records/s" "${PSAT:-n/a}" "$(ratio "$PSAT" "$ZMQ")" "$(ratio "$PSAT" "$MOSQ")"
p99=$(kvw "$OUT/e2e_plain.txt" sluice_e2e_latency load_pct=50 p99_us)
a99=$(kvw "$OUT/e2e_plain.txt" sluice_e2e_latency load_pct=50 ack_p99_us)
printf "%-44s %14s %21s\n" "  latency at 50%, p99 (ACK p99)" "${p99:-n/a} us" "(${a99:-n/a} us)"
S11=$(kv "$OUT/e2e_1to1.txt" sluice_e2e saturation_rps)
printf "%-44s %14s %10s %10s\n" "sluice e2e 1->1, identity permit, records/s" "${S11:-n/a}" "$(ratio "$S11" "$ZMQ")" "$(ratio "$S11" "$MOSQ")"
p99=$(kvw "$OUT/e2e_1to1.txt" sluice_e2e_latency load_pct=50 p99_us)
a99=$(kvw "$OUT/e2e_1to1.txt" sluice_e2e_latency load_pct=50 ack_p99_us)
printf "%-44s %14s %21s\n" "  latency at 50%, p99 (ACK p99)" "${p99:-n/a} us" "(${a99:-n/a} us)"
if [ -s "$OUT/policy.txt" ]; then
    PP50=$(awk '$1 == "rules=100000" { for (i = 1; i <= NF; i++) if ($i == "p50=") { print $(i + 1); exit } }' "$OUT/policy.txt")
    PP99=$(awk '$1 == "rules=100000" { for (i = 1; i <= NF; i++) if ($i == "p99=") { print $(i + 1); exit } }' "$OUT/policy.txt")
    printf "%-44s %14s %21s  p50 <= 1000 ns: %s\n" "policy decision at 100,000 rules" "p50 ${PP50:-?} ns" "p99 ${PP99:-?} ns" "$(meets "$PP50" "<=" 1000)"
fi
if [ -s "$OUT/descset.txt" ]; then
    # record types are registered at run time: their descriptors are built
    # from the FileDescriptorSet; this compares them with protoc-c's compiled
    # ones for the same type on the broker's per-record body work
    for c in decode decode+encode; do
        DR=$(kvw "$OUT/descset.txt" sluice_descset case=$c ratio)
        DC=$(kvw "$OUT/descset.txt" sluice_descset case=$c compiled_rps)
        DT=$(kvw "$OUT/descset.txt" sluice_descset case=$c runtime_rps)
        printf "%-44s %14s %21s  >= 0.90: %s\n" "run-time type vs compiled, $c, rec/s" "${DT:-n/a}" "${DR:-?} of ${DC:-?}" "$(meets "$DR" ">=" 0.90)"
    done
fi
if [ -s "$OUT/audit.txt" ]; then
    AV=$(awk '$1 == "audit" && $2 == "verify" { print $3; exit }' "$OUT/audit.txt")
    AB=$(awk '$1 == "blake2b+cursor" { print $3; exit }' "$OUT/audit.txt")
    printf "%-44s %14s %10s %10s  >= 1000000: %s\n" "audit verify, entries/s" "${AV:-n/a}" "vs blake2b" "$(ratio "$AV" "$AB")" "$(meets "$AV" ">=" 1000000)"
fi
RSS=$(kv "$OUT/scale.txt" sluice_rss rss_anon_connected_kib)
RSS0=$(kv "$OUT/scale.txt" sluice_rss rss_anon_idle_kib)
RSSM=$(awk -v k="$RSS" 'BEGIN { if (k != "") printf "%.1f", k / 1024 }')
printf "%-44s %14s %21s  <= 64 MiB: %s\n" "RssAnon, $MEMBERS members connected" "${RSSM:-n/a} MiB" "(idle ${RSS0:-?} KiB)" "$(meets "$RSSM" "<=" 64)"
FR=$(kv "$OUT/scale.txt" sluice_fill rps); FN=$(kv "$OUT/scale.txt" sluice_fill records)
printf "%-44s %14s %10s %10s\n" "  queue fill, 1024-record batches, rec/s" "${FR:-n/a}" "$(ratio "$FR" "$ZMQ")" "$(ratio "$FR" "$MOSQ")"
for w in restart recovery; do
    r=$(kv "$OUT/scale.txt" sluice_$w ready_ms); h=$(kv "$OUT/scale.txt" sluice_$w hello_ms)
    f=$(kv "$OUT/scale.txt" sluice_$w first_delivery_ms); q=$(kv "$OUT/scale.txt" sluice_$w queued)
    lost=$(kv "$OUT/scale.txt" sluice_$w lost)
    t=""
    [ $w = restart ] && t="<= 2000 ms: $(meets "$f" "<=" 2000)"
    [ $w = recovery ] && t="(after SIGKILL under load; acked records lost: ${lost:-?})"
    printf "%-44s %14s %21s  %s\n" "$w with ${q:-?} queued, to first delivery" "${f:-n/a} ms" "ready ${r:-?} hello ${h:-?}" "$t"
done
if [ -s "$OUT/city.txt" ]; then
    C=$OUT/city.txt
    cw() { kvw "$C" sluice_city_start "state=$1" "$2"; }
    echo "-- scale: $(kv "$C" sluice_city_setup bureaus) member bureaus ($(kv "$C" sluice_city_setup members) members with their admins), $(kv "$C" sluice_city_setup rules) rules, $(kv "$C" sluice_city_consents loaded) consents"
    printf "%-44s %14s %21s\n" "  consents loaded (sl_consent_apply), /s" "$(kv "$C" sluice_city_consents rps)" "(store $(awk -v k="$(kv "$C" sluice_city_consents store_kib)" 'BEGIN { printf "%.0f MiB", k / 1024 }'))"
    printf "%-44s %14s %21s\n" "  consent check in process, p50 / p99" "$(kv "$C" sluice_city_consent_check p50_ns) ns" "$(kv "$C" sluice_city_consent_check p99_ns) ns"
    printf "%-44s %14s %21s\n" "  policy.apply x5 (city + 4 owners), s" "$(kv "$C" sluice_city_setup apply_s)" "(max $(kv "$C" sluice_city_setup apply_max_ms) ms)"
    for w in empty consents full; do
        r=$(cw $w ready_ms); a=$(cw $w admin_ms)
        printf "%-44s %14s %21s  %s\n" "  start-up, store $w, to endpoints" "${r:-n/a} ms" "admin answer ${a:-?} ms" "$([ $w != empty ] && echo "$(ratio "$r" "$(cw empty ready_ms)") of empty")"
    done
    printf "%-44s %14s\n" "    full: first HELLO answered" "$(cw full hello_ms) ms"
    CS=$(kv "$C" sluice_city_e2e saturation_rps)
    printf "%-44s %14s %10s %10s  %s of e2e mixed\n" "sluice e2e 4->4 at scale, records/s" "${CS:-n/a}" "$(ratio "$CS" "$ZMQ")" "$(ratio "$CS" "$MOSQ")" "$(ratio "$CS" "$SAT")"
    printf "%-44s %14s %21s\n" "  published / denied (no consent)" "$(kv "$C" sluice_city_e2e published)" "$(kv "$C" sluice_city_e2e denied)"
    for l in 10 50; do
        p50=$(kvw "$C" sluice_city_latency "load_pct=$l" p50_us); p99=$(kvw "$C" sluice_city_latency "load_pct=$l" p99_us)
        p999=$(kvw "$C" sluice_city_latency "load_pct=$l" p999_us); got=$(kvw "$C" sluice_city_latency "load_pct=$l" achieved_rps)
        e99=$(kvw "$OUT/e2e.txt" sluice_e2e_latency "load_pct=$l" p99_us)
        printf "%-44s %14s %10s %10s  %s\n" "  latency at $l% (${got:-?}/s got)" "p50 ${p50:-?} us" "p99 ${p99:-?}" "p99.9 ${p999:-?}" "e2e mixed p99 ${e99:-?} us$([ $l = 50 ] && echo "; <= 5000 us: $(meets "$p99" "<=" 5000)")"
    done
    R0=$(cw full rss_anon_kib); R1=$(kv "$C" sluice_city_rss rss_anon_after_traffic_kib)
    printf "%-44s %14s %21s\n" "  broker RssAnon after start / after traffic" "${R0:-?} KiB" "${R1:-?} KiB"
    if [ -s "$OUT/perf-city.data" ]; then
        echo "   decision cost in the broker (perf, self time, % of broker samples, saturation):"
        perf report -i "$OUT/perf-city.data" --no-children --sort dso,symbol -g none 2>/dev/null \
            | awk '/^#/ || NF == 0 { next }
                   /sl_consent_/ { c += $1 } /sl_policy_/ { p += $1 } /sl_govern_/ { g += $1 }
                   /liblmdb/ { m += $1 } /sl_audit_/ { a += $1 }
                   END { printf "   consent %.1f%%  policy %.1f%%  govern %.1f%%  audit %.1f%%  (all of LMDB %.1f%%)\n", c, p, g, a, m }'
    fi
fi
G=$OUT/gateway.txt
if [ -s "$G" ]; then
    echo
    printf "%-44s %14s %10s  %s\n" "sluice-gateway (HTTP/JSON), one publisher" "records/s" "of direct" "target"
    printf "%-44s %14s %10s\n" "  direct libsluice, windows of 1,000" "$(kv "$G" bench_gateway direct_rps)" "1.00x"
    printf "%-44s %14s %10s  >= 0.50x: %s\n" "  NDJSON batches of 1,000" "$(kv "$G" bench_gateway ndjson_rps)" "$(kv "$G" bench_gateway ndjson_ratio)x" "$(meets "$(kv "$G" bench_gateway ndjson_ratio)" ">=" 0.5)"
    printf "%-44s %14s %10s\n" "  single POSTs, one client" "$(kv "$G" bench_gateway single_rps)" "$(kv "$G" bench_gateway single_ratio)x"
    printf "%-44s %14s %10s\n" "  single POSTs, 16 clients at once" "$(kv "$G" bench_gateway single16_rps)" "$(kv "$G" bench_gateway single16_ratio)x"
    printf "%-44s %14s %21s  <= 1000 us: %s\n" "  p50 added per POST at 10% ($(kv "$G" bench_gateway rate)/s)" "$(kv "$G" bench_gateway added_p50_us) us" "(p50 $(kv "$G" bench_gateway p50_gateway_us) vs $(kv "$G" bench_gateway p50_direct_us) us)" "$(meets "$(kv "$G" bench_gateway added_p50_us)" "<=" 1000)"
fi
if [ -s "$OUT/perf-e2e.data" ]; then
    echo
    echo "== profile: sluiced during the e2e saturation phase (perf, % of broker samples)"
    perf report -i "$OUT/perf-e2e.data" --no-children --sort comm,dso -g none 2>/dev/null \
        | awk '/^#/ || NF == 0 { next } { print "   " $0 }' | head -8
    echo "   top symbols:"
    perf report -i "$OUT/perf-e2e.data" --no-children --sort dso,symbol -g none 2>/dev/null \
        | awk '/^#/ || NF == 0 { next } { print "   " $0 }' | head -25
fi
if [ -s "$OUT/adapters.txt" ]; then
    echo
    echo "== adapters: --dry-run throughput, one core (parse, registry join, record, JSON; no broker)"
    awk '$1 == "adapter_dryrun" { for (i = 2; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
         printf "   %-14s %8s records/s  (%s records in %s s)\n", v["format"], v["records_per_s"], v["records"], v["seconds"] }' "$OUT/adapters.txt"
fi
echo "total benchmark time: $(( $(date +%s) - T0 )) s; raw output: $([ "$KEEP" = 1 ] && echo "$OUT" || echo "set BENCH_OUT=DIR to keep it")"
