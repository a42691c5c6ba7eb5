#!/bin/sh
# bench/console/run.sh BUILD_DIR [N] — the console's answer times with N
# audit entries in the store (default 1,000,000) and its RSS.
#
# Makes a data directory, fills the log with fill_audit, starts sluiced and
# sluice-console (as water's administrator and as the auditor) on loopback,
# asks each page 5 times with curl and prints the median time per page;
# prints the console's peak RSS (VmHWM). Everything is loopback and stops by
# itself.
set -u
B=${1:-build}
N=${2:-1000000}
case $B in /*) ;; *) B=$(pwd)/$B ;; esac
T=$(mktemp -d "${TMPDIR:-/tmp}/sluice-console-bench-XXXXXX")
D=$T/data
PIDS=""
trap 'for p in $PIDS; do kill $p 2>/dev/null; done; sleep 0.3; rm -rf "$T"' EXIT
"$B/broker/sluiced" init --data "$D" --with-examples >/dev/null
t0=$(date +%s.%N)
"$B/bench/console/fill_audit" "$D" "$N" || exit 1
t1=$(date +%s.%N)
echo "filled $N entries in $(echo "$t1 - $t0" | bc) s"
"$B/broker/sluiced" run --data "$D" --bind 'tcp://127.0.0.1:*' --admin-bind 'tcp://127.0.0.1:*' \
  2>"$T/sluiced.log" &
PIDS="$PIDS $!"
for _ in $(seq 1 200); do grep -qs '^admin' "$D/endpoints" && break; sleep 0.05; done
export SLUICE_DATA=$D
mkdir "$T/keys"
for who in water-admin auditor; do
  "$B/cli/sluicectl" keygen $who --dir "$T/keys" >/dev/null
done
for who in water power; do
  "$B/cli/sluicectl" keygen $who --dir "$T/keys" >/dev/null
  "$B/cli/sluicectl" member add $who --role member --pub "$T/keys/$who.pub" >/dev/null
done
"$B/cli/sluicectl" member add water-admin --role admin:water --pub "$T/keys/water-admin.pub" >/dev/null
"$B/cli/sluicectl" member add auditor --role auditor --pub "$T/keys/auditor.pub" >/dev/null
"$B/cli/sluicectl" policy apply "$(dirname "$0")/../../examples/policies/city.policy" >/dev/null
"$B/cli/sluicectl" --key "$T/keys/water-admin.key" policy apply \
  "$(dirname "$0")/../../examples/policies/water.policy" >/dev/null

page() {  # page BASE JAR PATH -> median seconds of 5
  for _ in 1 2 3 4 5; do
    curl -s -o /dev/null -b "$2" -w '%{time_total}\n' "$1$3"
  done | sort -n | sed -n 3p
}
for who in water-admin auditor; do
  "$B/console/sluice-console" --key "$T/keys/$who.key" --listen 127.0.0.1:0 >"$T/$who.out" \
    2>"$T/$who.err" &
  CP=$!
  PIDS="$PIDS $CP"
  for _ in $(seq 1 100); do grep -qs "^http" "$T/$who.out" && break; sleep 0.05; done
  url=$(grep -m1 '^http' "$T/$who.out"); base=${url%%/login*}
  curl -s -o /dev/null -c "$T/$who.jar" "$url"
  echo "--- as $who (median of 5, seconds)"
  for p in / /policies '/policy?owner=water' /audit '/audit?kind=deliver&consumer=power' \
           '/audit?kind=consent.grant' '/audit?since=2030-01-01' \
           "/audit?since=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M)" '/audit?kind=reply' \
           "/audit/chart?since=$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M)" \
           '/audit?rule=water-to-power-joint-metering@1' \
           '/explain?consumer=power&record_type=water.v1.MeterReading&purpose=joint-metering' \
           '/audit/export?format=csv&kind=consent.grant'; do
    printf '%-75s %s\n' "$p" "$(page "$base" "$T/$who.jar" "$p")"
  done
  printf '%-75s %s\n' "full export, every delivery (once): seconds bytes" \
    "$(curl -s -o /dev/null -b "$T/$who.jar" -w '%{time_total} %{size_download}' \
       "$base/audit/export?format=csv&kind=deliver")"
  echo "console RSS: $(grep VmHWM /proc/$CP/status)"
done
