#!/bin/sh
# bench-e2e --setup: the policy mode of the end-to-end benchmark.
#   city-setup.sh DATA_DIR ADMIN_KEY SLUICECTL CONSUMERS
# Registers one administrator per bureau and applies bench/e2e/policy/*.policy
# through sluicectl: a field transform on half the traffic (water -> c0,
# power -> c1), a consent check on a quarter (health -> c2), untouched parking
# records (-> c3). bench-e2e grants the consents itself (admin plane
# consent.grant) for every health subject it publishes.
set -eu
data=$1 admin_key=$2 ctl=$3
here=$(cd "$(dirname "$0")" && pwd)
keys=$(dirname "$data")/keys
"$ctl" --data "$data" --key "$admin_key" policy apply "$here/policy/city.policy" >/dev/null
for b in water power health parking; do
    "$ctl" keygen "adm-$b" --dir "$keys" --force >/dev/null
    "$ctl" --data "$data" --key "$admin_key" member add "adm-$b" --role "admin:$b" \
        --pub "$keys/adm-$b.pub" >/dev/null
    "$ctl" --data "$data" --key "$keys/adm-$b.key" policy apply "$here/policy/$b.policy" >/dev/null
done
