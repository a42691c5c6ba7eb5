#!/usr/bin/env bash
# `meson install` of libsluice, checked from the outside: installs the build
# into a temporary DESTDIR, builds adapters/sdk/examples/minimal_adapter.c in
# a directory outside the tree with nothing but
#   cc minimal_adapter.c $(pkg-config --cflags --libs sluice)
# (PKG_CONFIG_PATH pointing into the DESTDIR), runs the demo suite's
# minimal-adapter tests (real sluiced on loopback) against that binary, links
# the same program against the static libsluice.a, and checks the unit file
# and the sample INI that come with it.
#
# usage: check-install.sh BUILD_ROOT SOURCE_ROOT TEST_MINIMAL_ADAPTER SLUICED
set -euo pipefail
build=$1 src=$2 suite=$3 sluiced_in_tree=$4
fail () { echo "check-install: FAIL: $*" >&2; exit 1; }

dest=$(mktemp -d "${TMPDIR:-/tmp}/sluice-install.XXXXXX")
trap 'rm -rf "$dest"' EXIT
meson install -C "$build" --no-rebuild --destdir "$dest" > "$dest/install.log" 2>&1 \
  || { cat "$dest/install.log"; fail "meson install"; }

pc=$(find "$dest" -name sluice.pc -path '*/pkgconfig/*' | head -n 1)
[ -n "$pc" ] || fail "no sluice.pc installed"
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH=$(dirname "$pc")
# a pc file with an absolute prefix (not relocatable) needs the DESTDIR as sysroot
if ! grep -q '^prefix=${pcfiledir}' "$pc"; then export PKG_CONFIG_SYSROOT_DIR=$dest; fi
prefix=$(pkg-config --variable=prefix sluice)
case "$prefix" in "$dest"*|'${pcfiledir}'*) ;; *) prefix=$dest$prefix ;; esac

for f in "$libdir/libsluice.so" "$libdir/libsluice.a" \
         "$prefix/include/sluice/sluice.h" "$prefix/include/sluice/sl_error.h" \
         "$prefix/include/sluice/sl_schema.h" "$prefix/include/sluice/sl_json.h" \
         "$prefix/include/sluice/water/v1/water.pb-c.h" \
         "$prefix/share/sluice/proto/water/v1/water.proto" \
         "$prefix/share/sluice/examples/sluiced.ini" \
         "$prefix/share/doc/sluice/PROTOCOL.md" \
         "$prefix/lib/systemd/system/sluiced.service"; do
  [ -e "$f" ] || fail "not installed: ${f#"$dest"}"
done

# the build flags of a sanitizer build are needed to link against its library
extra=()
san=$(meson introspect "$build" --buildoptions | python3 -c '
import json, sys
for o in json.load(sys.stdin):
    if o["name"] == "b_sanitize" and o["value"] != "none": print(o["value"])')
[ -n "$san" ] && extra+=("-fsanitize=$san")

# 1. outside the tree, pkg-config only
work=$dest/work
mkdir -p "$work"
cp "$src/adapters/sdk/examples/minimal_adapter.c" "$work/"
(cd "$work" && cc -std=gnu11 -Wall -Wextra -Werror "${extra[@]}" -o minimal-adapter minimal_adapter.c \
   $(pkg-config --cflags --libs sluice)) || fail "minimal_adapter.c does not build with pkg-config sluice"
export LD_LIBRARY_PATH=$libdir
# (ldd's output in a variable: `grep -q` closing the pipe early would fail it under pipefail)
deps=$(ldd "$work/minimal-adapter")
case "$deps" in *"libsluice.so.0 => $libdir/"*) ;;
  *) echo "$deps"; fail "the program does not use the installed libsluice.so" ;; esac
"$work/minimal-adapter" --help | grep -q '^usage: sluice-minimal-adapter' || fail "--help"
echo "check-install: built minimal_adapter.c with: cc minimal_adapter.c $(pkg-config --cflags --libs sluice)"

# 2. the same program, static libsluice.a (its own dependencies as shared libraries)
(cd "$work" && cc -std=gnu11 "${extra[@]}" -o minimal-static minimal_adapter.c \
   $(pkg-config --cflags sluice) "$libdir/libsluice.a" \
   $(pkg-config --libs libprotobuf-c libcjson libzmq libsodium lmdb) -pthread -lm) \
  || fail "minimal_adapter.c does not link against libsluice.a"
deps=$(ldd "$work/minimal-static")
case "$deps" in *libsluice*) fail "the static build still needs libsluice.so" ;; esac
"$work/minimal-static" --help > /dev/null || fail "static --help"

# 3. the installed program against the real broker: the demo suite's cases
# (the broker of the build tree: it finds the example record types next to it)
SLUICED=$sluiced_in_tree SLUICE_MINIMAL_ADAPTER=$work/minimal-adapter "$suite" --jobs=2 \
  || fail "the out-of-tree build fails the minimal-adapter suite"

# 4. the unit file runs the installed sluiced; the sample INI is accepted
unit=$prefix/lib/systemd/system/sluiced.service
exec_path=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ -x "$dest$exec_path" ] || fail "ExecStart=$exec_path is not the installed sluiced"
data=$dest/data
"$dest$exec_path" init --data "$data" > /dev/null || fail "sluiced init"
"$dest$exec_path" run --config "$prefix/share/sluice/examples/sluiced.ini" --data "$data" \
  --bind tcp://127.0.0.1:0 --admin-bind tcp://127.0.0.1:0 > "$dest/sluiced.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -s "$data/endpoints" ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.1; done
[ -s "$data/endpoints" ] || { cat "$dest/sluiced.log"; kill $pid 2>/dev/null; fail "sluiced did not start with the sample INI"; }
kill -TERM $pid
wait $pid || { cat "$dest/sluiced.log"; fail "sluiced with the sample INI did not stop cleanly"; }
# 5. the gateway and its sample configuration
"$prefix/bin/sluice-gateway" --help | grep -q '^usage: sluice-gateway' || fail "sluice-gateway --help"
"$prefix/bin/sluice-gateway" --config "$prefix/share/sluice/examples/sluice-gateway.ini" --check \
  || fail "the installed sample gateway configuration does not check"
echo "check-install: ok"
