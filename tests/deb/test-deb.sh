#!/usr/bin/env bash
# The Debian package: `make deb` (scripts/build-deb.sh) builds it; lintian
# finds no error; it holds the programs, the unit, the conffile, the manual
# pages and the docs; its maintainer scripts parse; installed into a fresh
# root it runs (`sluiced --version`, and `sluiced init` + a start on a data
# directory inside that root). Usage: test-deb.sh SOURCE_DIR OUT_DIR
set -uo pipefail
src=$1 out=$2
fail=0
check () {  # check WHAT COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}
for tool in dpkg-buildpackage lintian dpkg-deb; do
  command -v $tool >/dev/null || { echo "FAIL $tool missing (scripts/install-deps.sh installs it)"; exit 1; }
done
deb=$("$src/scripts/build-deb.sh" "$out") || { echo "FAIL make deb"; exit 1; }
echo "ok   built $deb"
lint=$(lintian --fail-on error "$deb" 2>&1); rc=$?
echo "$lint" | grep -v 'running with root privileges' | sed 's/^/     /'
check "lintian: no errors" test $rc -eq 0
list=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/sluiced ./usr/bin/sluicectl ./usr/bin/sluice-water-adapter ./usr/share/sluice/grafana-sluice.json \
         ./etc/sluice/sluiced.ini ./lib/systemd/system/sluiced.service \
         ./usr/share/man/man8/sluiced.8.gz ./usr/share/man/man1/sluicectl.1.gz \
         ./usr/share/doc/sluice/OPERATIONS.md.gz ./usr/share/doc/sluice/copyright; do
  check "contains $f" grep -qx -- "$f" <<<"$list"
done
# libsluice, its headers and sluice.pc come from `meson install` once the
# SDK installs them; when it does, the package must carry them
if grep -q "install_headers" "$src/adapters/sdk/meson.build"; then
  check "contains the libsluice headers" grep -q '^./usr/include/sluice/sluice.h$' <<<"$list"
  check "contains sluice.pc" grep -q 'pkgconfig/sluice.pc$' <<<"$list"
fi
check "the unit runs /usr/bin/sluiced as user sluice" \
  sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xOf - ./lib/systemd/system/sluiced.service | grep -q '^ExecStart=/usr/bin/sluiced run' && dpkg-deb --fsys-tarfile '$deb' | tar -xOf - ./lib/systemd/system/sluiced.service | grep -q '^User=sluice'"
check "the unit reloads with SIGHUP" \
  sh -c "dpkg-deb --fsys-tarfile '$deb' | tar -xOf - ./lib/systemd/system/sluiced.service | grep -q '^ExecReload=/bin/kill -HUP \\\$MAINPID'"
ctl=$(mktemp -d)
dpkg-deb -e "$deb" "$ctl"
check "conffile /etc/sluice/sluiced.ini" grep -qx /etc/sluice/sluiced.ini "$ctl/conffiles"
for s in postinst postrm; do
  check "$s parses" sh -n "$ctl/$s"
done
check "postinst creates the sluice system user" grep -q 'adduser --system --group' "$ctl/postinst"
rm -rf "$ctl"
# a fresh root: the package's files only, run from there
root=$(mktemp -d)
dpkg-deb -x "$deb" "$root"
v=$("$root/usr/bin/sluiced" --version 2>&1)
check "installed sluiced --version ($v)" test "$v" = "sluiced $(sed -n "s/^ *version : '\(.*\)',/\1/p" "$src/meson.build")"
v=$("$root/usr/bin/sluicectl" --version 2>&1)
check "installed sluicectl --version ($v)" grep -q '^sluicectl ' <<<"$v"
check "installed sluiced init" sh -c "\"$root/usr/bin/sluiced\" init --data \"$root/var/lib/sluice\" >/dev/null"
"$root/usr/bin/sluiced" run --config "$root/etc/sluice/sluiced.ini" --data "$root/var/lib/sluice" \
  --bind 'tcp://127.0.0.1:*' --admin-bind 'tcp://127.0.0.1:*' 2>"$root/sluiced.log" &
pid=$!
for _ in $(seq 100); do grep -qs "^pid = $pid\$" "$root/var/lib/sluice/endpoints" && break; sleep 0.05; done
check "installed sluiced serves with the packaged sluiced.ini" \
  "$root/usr/bin/sluicectl" --data "$root/var/lib/sluice" status
kill $pid; wait $pid
check "installed sluiced stops cleanly" grep -qs '^state = stopped$' "$root/var/lib/sluice/endpoints"
rm -rf "$root"

# A real install: dpkg -i, with its maintainer scripts, into a throw-away
# copy of this machine's root (an overlay over / in a private mount
# namespace, so nothing of it reaches the host): the sluice user and
# /var/lib/sluice are made, and the broker runs as that user from there.
if [ "$(id -u)" = 0 ] && unshare --mount --fork true 2>/dev/null; then
  ov=$(mktemp -d)
  mkdir -p "$ov/upper" "$ov/work" "$ov/merged"
  cp "$deb" "$ov/sluice.deb"
  cat > "$ov/inside.sh" <<'INSIDE'
set -u
ok () { if "$@"; then echo "ok   in a fresh root: ${what}"; else echo "FAIL in a fresh root: ${what}"; bad=1; fi; }
bad=0
what="dpkg -i"; ok sh -c 'dpkg -i /tmp/sluice.deb >/tmp/dpkg.log 2>&1 || { cat /tmp/dpkg.log; false; }'
what="the sluice system user"; ok sh -c 'getent passwd sluice | grep -q ":/var/lib/sluice:"'
what="/var/lib/sluice initialised, 0700, owned by sluice"; ok sh -c '[ "$(stat -c %a:%U /var/lib/sluice)" = 700:sluice ] && [ -f /var/lib/sluice/broker.key ] && [ "$(stat -c %a:%U /var/lib/sluice/store/data.mdb)" = 600:sluice ]'
what="sluiced --version"; ok sh -c 'sluiced --version | grep -q "^sluiced "'
what="the unit is enabled"; ok test -e /etc/systemd/system/multi-user.target.wants/sluiced.service
runuser -u sluice -- sluiced run --config /etc/sluice/sluiced.ini --data /var/lib/sluice \
  --bind 'tcp://127.0.0.1:*' --admin-bind 'tcp://127.0.0.1:*' 2>/tmp/sluiced.log &
pid=$!
for _ in $(seq 100); do grep -qs "^pid = $pid\$" /var/lib/sluice/endpoints && break; sleep 0.05; done
what="the broker runs as sluice and answers sluicectl"; ok sh -c 'runuser -u sluice -- sluicectl --data /var/lib/sluice status >/dev/null'
kill $pid; wait $pid
what="dpkg -r"; ok sh -c 'dpkg -r sluice >/dev/null 2>&1'
what="the data directory survives removal"; ok test -f /var/lib/sluice/broker.key
exit $bad
INSIDE
  unshare --mount --propagation private --fork sh -c "
    mount -t overlay overlay -o lowerdir=/,upperdir=$ov/upper,workdir=$ov/work $ov/merged &&
    mount --rbind /dev $ov/merged/dev && mount -t proc proc $ov/merged/proc &&
    mount -t tmpfs tmpfs $ov/merged/run && mount -t tmpfs tmpfs $ov/merged/tmp &&
    cp $ov/sluice.deb $ov/inside.sh $ov/merged/tmp/ &&
    chroot $ov/merged sh /tmp/inside.sh" || fail=1
  rm -rf "$ov"
else
  echo "note not root or no mount namespaces here: the dpkg -i test was skipped (dpkg -x above ran)"
fi
exit $fail
