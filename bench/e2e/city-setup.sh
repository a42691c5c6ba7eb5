#!/bin/sh
# Policies for bench-e2e and bench-scale, applied through sluicectl.
#   city-setup.sh DATA_DIR ADMIN_KEY SLUICECTL plain|mixed
# Declares the purpose `bench` (owner city, with the admin key), registers one
# administrator per bureau (role admin:<bureau>) and applies, as each of them,
# bench/e2e/policy/MODE/<bureau>.policy:
#   plain  identity permits (all fields, subject kept): water -> c0, power -> c1,
#          health -> c2, parking -> c3
#   mixed  a field transform on half the traffic (water -> c0: fields cut,
#          subject pseudonymized, time coarsened; power -> c1: fields cut,
#          subject pseudonymized), a consent check on a quarter (health -> c2,
#          consent required; bench-e2e grants the consents), parking -> c3 untouched
# The members c0..c3 and the four bureaus must be registered already.
set -eu
data=$1 admin_key=$2 ctl=$3 mode=$4
here=$(cd "$(dirname "$0")" && pwd)
keys=$(dirname "$data")/keys
"$ctl" --data "$data" --key "$admin_key" policy apply "$here/policy/city.policy" --owner city >/dev/null
for b in water power health parking; do
    "$ctl" keygen "adm-$b" --dir "$keys" --force >/dev/null
    "$ctl" --data "$data" --key "$admin_key" member add "adm-$b" --role "admin:$b" \
        --pub "$keys/adm-$b.pub" >/dev/null
    "$ctl" --data "$data" --key "$keys/adm-$b.key" policy apply "$here/policy/$mode/$b.policy" >/dev/null
done
