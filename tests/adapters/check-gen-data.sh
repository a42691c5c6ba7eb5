#!/bin/sh
# examples/data is what examples/gen-data writes: regenerate into a temporary
# directory and compare byte for byte (the generator's seed is fixed).
set -eu
root="$1"
tmp=$(mktemp -d /tmp/sl-gen-data-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 "$root/examples/gen-data" --out "$tmp"
diff -r -x README.md "$root/examples/data" "$tmp"
echo "examples/data matches examples/gen-data"
