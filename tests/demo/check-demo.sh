#!/usr/bin/env bash
# Runs examples/demo.sh (what `make demo` runs) in a temporary directory and
# checks its exit status and the lines that carry the story: the fields an
# owner withheld are absent, parking is denied without consent, permitted
# with it and denied after the withdrawal, power is denied hospital data,
# the audit log verifies — online in the demo and offline afterwards on the
# data directory it leaves behind — and no process of the demo is left.
#
# usage: tests/demo/check-demo.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
BUILD=$1 SRC=$2
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo-test-XXXXXX")
trap 'rm -rf "$TMP"' EXIT
export SLUICE_DEMO_DIR=$TMP/demo
unset SLUICE_DATA SLUICE_KEY SLUICE_ENDPOINT SLUICE_BROKER_KEY

rc=0
bash "$SRC/examples/demo.sh" "$BUILD" >"$TMP/out.txt" 2>"$TMP/err.txt" || rc=$?
failed=0
if [ "$rc" != 0 ]; then
  echo "FAIL: examples/demo.sh exited with $rc"; failed=1
fi
expect() {   # expect FIXED-STRING WHAT
  grep -qF -- "$1" "$TMP/out.txt" || { echo "FAIL: $2: no line with '$1'"; failed=1; }
}
expect "applied water policy version 1" "water's administrator applies water's policy"
expect "role 'admin:water' may not apply the policy of 'power'" "separation of duties"
expect "water: 7200 published, 7200 stored, 0 refused by the broker, 0 rejected" "water publishes"
expect "power: 7200 published, 7200 stored, 0 refused by the broker, 0 rejected" "power publishes"
expect "power: 7200 records received" "power receives water's readings"
expect "water: 7200 records received" "water receives power's readings"
expect "not released, absent from power's copy: id, ref_device, max_flow_m3h, meter_name" "water's withheld fields"
expect "not released, absent from water's copy: id, ref_device, active_energy_import_t1_kwh" "power's withheld fields"
expect "parking-fee-waiver (consent-missing)" "parking denied before consent"
expect "failed: consent (missing)" "policy explain names the missing consent"
expect "consent app-consent-0001 given by CIT-100252: applied by the broker" "the app's consent"
expect "permitted: 2 record(s)" "parking permitted with consent"
expect "gateway: 2 record(s) as JSON, the same fields the desk got" "parking asks through its gateway with curl"
expect "received through the gateway: 1 collection" "the fifth bureau publishes through its gateway"
expect "parking-fee-waiver (consent-withdrawn)" "parking denied after withdrawal"
expect "power may not receive health.v1.Encounter for purpose joint-metering (no-matching-rule)" "power denied hospital data"
expect "Encounters power received: 0." "power received no encounters"
expect "registered waste.v1.Collection version 1 (new type)" "a fifth bureau registers its type at run time"
expect "applied waste policy version 1" "the fifth bureau's administrator applies its rule"
expect "waste.v1.Collection: 3 published, 3 stored, 0 refused by the broker, 0 rejected" "sluicectl pub"
expect "housing received 3 collections" "sluicectl sub receives under the rule"
expect "breaking: field 'district' (4): removed (rule removed" "a change dropping a used field is refused"
expect "field 'district' of waste.v1.Collection is used by rule 'waste-to-housing-fee-rebate'" "--breaking cannot drop a field a policy names"
expect "reason=no-matching-rule stage=publish" "the denial in the audit log"
expect "deliver  power        water.v1.MeterReading    joint-metering     water/water-to-power-joint-metering@1" "water's audit summary"
expect "consent.withdraw city-app   parking" "the citizen's report shows the withdrawal"
expect "audit verify: OK" "the summary's verify status"
expect "Demo complete." "the end"
grep -qE '^ +OK: [0-9]+ entries' "$TMP/out.txt" || { echo "FAIL: audit verify did not say OK"; failed=1; }
grep -q "consent-missing\|no-matching-rule" "$TMP/err.txt" && { echo "FAIL: denials went to stderr"; failed=1; }

# The data directory is left to explore: it verifies offline, the broker is gone.
DATA=$SLUICE_DEMO_DIR/data
if [ -d "$DATA" ]; then
  "$BUILD/cli/sluicectl" audit verify --data "$DATA" >"$TMP/verify.txt" 2>&1 \
    && grep -q '^OK: ' "$TMP/verify.txt" || { echo "FAIL: offline audit verify:"; cat "$TMP/verify.txt"; failed=1; }
  pid=$(sed -n 's/^pid = //p' "$DATA/endpoints" 2>/dev/null)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null \
     && grep -qa sluiced "/proc/$pid/cmdline" 2>/dev/null; then
    echo "FAIL: the demo's broker (pid $pid) is still running"; kill "$pid"; failed=1
  fi
else
  echo "FAIL: the demo left no data directory $DATA"; failed=1
fi

if [ "$failed" != 0 ]; then
  echo "--- demo output ---"; cat "$TMP/out.txt"; echo "--- demo stderr ---"; cat "$TMP/err.txt"
  exit 1
fi
echo "demo OK: $(grep -c '^[0-9]*\. ' "$TMP/out.txt") steps, exit 0"
