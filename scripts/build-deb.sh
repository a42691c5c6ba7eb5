#!/usr/bin/env bash
# make deb: builds sluice_VERSION_ARCH.deb with debhelper + meson (debian/)
# from the files git tracks in this tree, in OUT (default ./build-deb), so
# nothing is written outside the tree. Prints the path of the .deb.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-build-deb}
for tool in dpkg-buildpackage dh meson scdoc; do
  command -v "$tool" >/dev/null || { echo "build-deb: $tool missing: run make deps" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out/src"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$out/src"
else
  tar --exclude='./build*' --exclude='./debian/sluice' -cf - . | tar -xf - -C "$out/src"
fi
( cd "$out/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b >../build.log 2>&1 ) || {
  tail -40 "$out/build.log" >&2
  echo "build-deb: dpkg-buildpackage failed; see $out/build.log" >&2
  exit 1
}
ls "$out"/sluice_*.deb
