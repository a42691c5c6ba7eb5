#!/usr/bin/env bash
# The sluice demo: one broker, two bureaus. The city declares its purposes,
# water's administrator writes water's sharing policy (power may receive
# pseudonymized hourly readings for "joint-metering"), water publishes a meter
# reading and power gets exactly what the policy releases; an unknown key is
# turned away, an administrator cannot grant another bureau's data, and the
# broker reports its status.
#
# usage: examples/demo.sh [BUILD_DIR]     (make demo runs it with ./build)
set -euo pipefail

BUILD=$(cd "${1:-build}" && pwd)
SLUICED=$BUILD/broker/sluiced
SLUICECTL=$BUILD/cli/sluicectl
PUBLISH=$BUILD/adapters/sdk/examples/sluice-example-publish
CONSUME=$BUILD/adapters/sdk/examples/sluice-example-consume
for p in "$SLUICED" "$SLUICECTL" "$PUBLISH" "$CONSUME"; do
  [ -x "$p" ] || { echo "demo: $p is missing; build first (make build)" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-demo-XXXXXX")
DATA=$WORK/data
KEYS=$WORK/keys
BROKER_PID=
CONSUMER_PID=
cleanup() {
  [ -n "$CONSUMER_PID" ] && kill "$CONSUMER_PID" 2>/dev/null || true
  [ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null || true
  [ -n "${SLUICE_DEMO_KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT

step=0
if [ -t 1 ]; then BOLD=$'\033[1m'; PLAIN=$'\033[0m'; else BOLD=; PLAIN=; fi
say() { step=$((step + 1)); printf '\n%s%d. %s%s\n' "$BOLD" "$step" "$*" "$PLAIN"; }
run() { printf '   $ %s\n' "$*"; "$@" 2>&1 | sed 's/^/     /'; return "${PIPESTATUS[0]}"; }

say "Create a fresh data directory: the broker's key pair, a first city administrator key,"
echo "   the audit log's signing and pseudonym keys and the broker's pseudonym secret."
run "$SLUICED" init --data "$DATA"

say "Start the broker on loopback, on ports the system picks. No policy is applied yet, so"
echo "   nothing may leave any bureau: sluice denies by default."
"$SLUICED" run --data "$DATA" --bind 'tcp://127.0.0.1:*' --admin-bind 'tcp://127.0.0.1:*' \
  2>"$WORK/sluiced.log" &
BROKER_PID=$!
for _ in $(seq 1 500); do
  grep -qs "^pid = $BROKER_PID\$" "$DATA/endpoints" && break
  kill -0 "$BROKER_PID" 2>/dev/null || { cat "$WORK/sluiced.log" >&2; exit 1; }
  sleep 0.02
done
grep -qs "^pid = $BROKER_PID\$" "$DATA/endpoints" || { echo "demo: broker did not start" >&2; exit 1; }
sed 's/^/     /' "$DATA/endpoints"
export SLUICE_DATA=$DATA
export SLUICE_LOG=${SLUICE_LOG:-warn}   # the programs below log only warnings and errors

say "Make key pairs for the water and power bureaus' systems and for water's administrator."
mkdir -p "$KEYS"
run "$SLUICECTL" keygen water --dir "$KEYS"
run "$SLUICECTL" keygen power --dir "$KEYS"
run "$SLUICECTL" keygen water-admin --dir "$KEYS"

say "Register them (the admin key from step 1 signs in to the admin plane)."
run "$SLUICECTL" member add water --role member --pub "$KEYS/water.pub"
run "$SLUICECTL" member add power --role member --pub "$KEYS/power.pub"
run "$SLUICECTL" member add water-admin --role admin:water --pub "$KEYS/water-admin.pub"
run "$SLUICECTL" member list

EXAMPLES=$(cd "$(dirname "$0")" && pwd)/policies
say "The city declares the purposes data may be shared for, and its city-wide forbids."
sed 's/^/     | /' "$EXAMPLES/city.policy"
run "$SLUICECTL" policy apply "$EXAMPLES/city.policy"

say "Water's administrator writes what water shares: pseudonymized hourly readings, three"
echo "   fields, to power, for joint metering, within a validity window."
sed 's/^/     | /' "$EXAMPLES/water.policy"
run "$SLUICECTL" --key "$KEYS/water-admin.key" policy apply "$EXAMPLES/water.policy"

say "Separation of duties: water's administrator cannot grant power's data."
if run "$SLUICECTL" --key "$KEYS/water-admin.key" policy apply --owner power "$EXAMPLES/power.policy"; then
  echo "demo: water's administrator applied power's policy — this must not happen" >&2; exit 1
fi
echo "   -> refused, as it should be."

say "A key the broker does not know is refused during the CURVE handshake."
run "$SLUICECTL" keygen intruder --dir "$KEYS"
if run "$PUBLISH" --key "$KEYS/intruder.key" 2>&1; then
  echo "demo: the unknown key was accepted — this must not happen" >&2; exit 1
fi
echo "   -> refused, as it should be."

say "Power subscribes to water.v1.MeterReading for joint-metering and waits."
"$CONSUME" --key "$KEYS/power.key" --record-type water.v1.MeterReading \
  --purpose joint-metering --count 1 --timeout 15000 >"$WORK/consumer.out" 2>"$WORK/consumer.log" &
CONSUMER_PID=$!
for _ in $(seq 1 500); do
  grep -qs "^subscribed" "$WORK/consumer.out" && break
  kill -0 "$CONSUMER_PID" 2>/dev/null || break
  sleep 0.02
done
sed 's/^/     /' "$WORK/consumer.out"
grep -qs "^subscribed" "$WORK/consumer.out" || { echo "demo: power could not subscribe" >&2; cat "$WORK/consumer.log" >&2; exit 1; }

say "Water publishes one meter reading; the broker stores it on disk before it answers ACK."
run "$PUBLISH" --key "$KEYS/water.key" --subject C-1001 --district Nord

say "Power receives the reading as water's policy shapes it — citizen id pseudonymized, time"
echo "   rounded to the hour, only the released fields — with the rule that permitted it."
rc=0; wait "$CONSUMER_PID" || rc=$?
CONSUMER_PID=
sed '1,2d; s/^/     /' "$WORK/consumer.out"
[ "$rc" -eq 0 ] || { echo "demo: power did not receive the reading" >&2; cat "$WORK/consumer.log" >&2; exit 1; }

say "Ask the broker how it is doing."
run "$SLUICECTL" status

say "Stop the broker: it commits what is pending, closes its store and exits cleanly."
kill -TERM "$BROKER_PID"
rc=0; wait "$BROKER_PID" || rc=$?
BROKER_PID=
[ "$rc" -eq 0 ] || { echo "demo: sluiced exited with $rc" >&2; tail -20 "$WORK/sluiced.log" >&2; exit 1; }
echo "   sluiced exited with status 0."
printf '\nDemo complete.\n'
