#!/usr/bin/env bash
# The admin plane off the broker host, through the allow-list, in network
# namespaces this test makes (root only; skipped otherwise):
#
#   slb-N (broker)  10.213.13.1/30 --veth-- 10.213.13.2/30  sla-N (allowed admin)
#                   10.213.13.5/30 --veth-- 10.213.13.6/30  slr-N (refused admin)
#
# Both /30s exist only inside these namespaces; no packet reaches the host's
# own interfaces. sluiced binds its admin plane on every address of its
# namespace with --admin-allow 10.213.13.2/32. Water's administrator, with
# its own key:
#   - from sla: sluicectl and sluice-console reach the admin plane;
#   - from slr (same key): refused in the handshake, and the broker records
#     an auth.denied entry with reason address-not-allowed and the peer;
#   - sluiced refuses to start with a non-loopback admin bind and no list.
#
# usage: net_admin_allow.sh   (env SLUICED SLUICECTL SLUICE_CONSOLE)
set -uo pipefail
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null; then
  echo "SKIP: needs root and iproute2 to make network namespaces"; exit 77
fi
N=$$
B=slb$N A=sla$N R=slr$N
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sluice-netns-XXXXXX")
DATA=$TMP/data KEYS=$TMP/keys
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  sleep 0.2
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for ns in $B $A $R; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$TMP"
}
trap cleanup EXIT
pass=0 fail=0
ok()   { echo "ok   $1"; pass=$((pass+1)); }
bad()  { echo "FAIL $1"; fail=$((fail+1)); }

set -e
for ns in $B $A $R; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add vb1$N netns $B type veth peer name va$N netns $A
ip link add vb2$N netns $B type veth peer name vr$N netns $R
ip -n $B addr add 10.213.13.1/30 dev vb1$N
ip -n $A addr add 10.213.13.2/30 dev va$N
ip -n $B addr add 10.213.13.5/30 dev vb2$N
ip -n $R addr add 10.213.13.6/30 dev vr$N
for l in "$B vb1$N" "$B vb2$N" "$A va$N" "$R vr$N"; do set -- $l; ip -n "$1" link set "$2" up; done
set +e

inb() { ip netns exec $B "$@"; }
"$SLUICED" init --data "$DATA" --with-examples >/dev/null || { bad "sluiced init"; exit 1; }

# no list: a non-loopback admin bind is refused at start
out=$(inb "$SLUICED" run --data "$DATA" --bind tcp://127.0.0.1:5570 --admin-bind tcp://*:5571 2>&1)
rc=$?
if [ $rc != 0 ] && grep -q "admin-allow" <<<"$out"; then ok "non-loopback admin bind without a list is refused"
else bad "non-loopback admin bind without a list: rc=$rc $out"; fi

# (ip netns exec execs sluiced itself, so $! is sluiced's pid)
ip netns exec $B "$SLUICED" run --data "$DATA" --bind tcp://127.0.0.1:5570 \
  --admin-bind tcp://*:5571 --admin-allow 10.213.13.2/32 >/dev/null 2>"$TMP/sluiced.log" &
PIDS+=($!)
for _ in $(seq 1 200); do grep -qs "^pid = ${PIDS[0]}\$" "$DATA/endpoints" && break; sleep 0.05; done
LOCAL=(--endpoint tcp://127.0.0.1:5571 --broker-key "$DATA/broker.pub" --key "$DATA/admin.key")
mkdir -p "$KEYS"
"$SLUICECTL" keygen water-admin --dir "$KEYS" >/dev/null
inb "$SLUICECTL" "${LOCAL[@]}" member add water-admin --role admin:water \
  --pub "$KEYS/water-admin.pub" >/dev/null || bad "member add on the broker host"

W=(--broker-key "$DATA/broker.pub" --key "$KEYS/water-admin.key" --timeout 3000)
if out=$(ip netns exec $A "$SLUICECTL" --endpoint tcp://10.213.13.1:5571 "${W[@]}" policy list 2>&1); then
  ok "water's administrator reaches the admin plane from 10.213.13.2 (on the list)"
else bad "allowed address: $out"; fi

if out=$(ip netns exec $R "$SLUICECTL" --endpoint tcp://10.213.13.5:5571 "${W[@]}" policy list 2>&1); then
  bad "an address not on the list got in: $out"
elif grep -q "refused" <<<"$out"; then ok "the same key from 10.213.13.6 (not on the list) is refused"
else bad "refused address: unexpected error: $out"; fi

json=$(inb "$SLUICECTL" "${LOCAL[@]}" --json audit query --kind auth.denied)
if grep -q '"reason":[[:space:]]*"address-not-allowed"' <<<"$json" && grep -q 'peer=10.213.13.6' <<<"$json"; then
  ok "the refusal is in the audit log (auth.denied, address-not-allowed, peer 10.213.13.6)"
else bad "no auth.denied entry for 10.213.13.6: $json"; fi
if grep -q 'peer=10.213.13.2' <<<"$json"; then bad "the allowed address was logged as refused"; else
  ok "the allowed address left no refusal"; fi

# the console, run by water's administrator on its own machine (namespace A)
if [ -n "${SLUICE_CONSOLE:-}" ] && command -v curl >/dev/null; then
  ip netns exec $A "$SLUICE_CONSOLE" --endpoint tcp://10.213.13.1:5571 \
    --broker-key "$DATA/broker.pub" --key "$KEYS/water-admin.key" --listen 127.0.0.1:0 \
    >"$TMP/console.out" 2>"$TMP/console.err" &
  PIDS+=($!)
  for _ in $(seq 1 100); do grep -q '^http://' "$TMP/console.out" 2>/dev/null && break; sleep 0.05; done
  url=$(grep -m1 '^http://' "$TMP/console.out")
  base=${url%%/login*}
  page=$(ip netns exec $A curl -s -c "$TMP/jar" -b "$TMP/jar" -L "$url")
  if grep -q "admin:water" <<<"$page" && grep -q "Members" <<<"$page"; then
    ok "sluice-console in 10.213.13.2's namespace signs in through the allow-list"
  else bad "console through the allow-list: $(head -c 300 <<<"$page") $(cat "$TMP/console.err")"; fi
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
