#!/usr/bin/env bash
# Installs the Debian 12 packages sluice needs to build, test, fuzz and benchmark.
# As root: apt-get installs whatever is missing. Otherwise: prints the exact
# command to run and exits 1. Quiet when everything is present.
set -euo pipefail

PKGS=(
  build-essential pkg-config meson ninja-build
  libzmq3-dev libprotobuf-c-dev protobuf-c-compiler
  liblmdb-dev lmdb-utils libsodium-dev libinih-dev libcjson-dev
  libcriterion-dev
  clang libclang-rt-14-dev valgrind linux-perf
  mosquitto libmosquitto-dev
  python3 python3-nacl iproute2 procps curl
  python3-zmq python3-protobuf protobuf-compiler
  libprotobuf-dev libmicrohttpd-dev libcurl4-gnutls-dev libgnutls28-dev tzdata
  chromium fonts-dejavu-core nodejs curl jq openssl
  prometheus rabbitmq-server librabbitmq-dev
  debhelper dpkg-dev fakeroot lintian scdoc
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed'; then
    missing+=("$p")
  fi
done
# npm: Debian's own package, unless the nodejs installed already brings it
command -v npm >/dev/null 2>&1 || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exec "$(dirname "$0")/install-npm.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "sluice needs these Debian packages: ${missing[*]}" >&2
  echo "run as root:  apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# mosquitto's package starts a system service on port 1883; the benchmark
# starts its own broker on a private port, so the system one is not needed.
if command -v systemctl >/dev/null 2>&1; then
  systemctl disable --now mosquitto >/dev/null 2>&1 || true
  # Likewise rabbitmq-server (benchmark peer) and prometheus (only promtool is
  # used, to check the broker's /metrics): the tests start their own.
  systemctl disable --now rabbitmq-server prometheus prometheus-node-exporter \
    >/dev/null 2>&1 || true
fi
# npm test tools, pinned by lockfile (tests/openapi)
"$(dirname "$0")/install-npm.sh"
