#!/bin/sh
# install-deps.sh - install everything printguard needs to build, test and demo
# on Debian 12 (bookworm). Idempotent; run as root (or through sudo).
set -eu

PACKAGES="
build-essential autoconf automake pkg-config
libcups2-dev libcupsfilters-dev libqpdf-dev libpoppler-cpp-dev libldap-dev
libsodium-dev libpam0g-dev libsqlite3-dev libgnutls28-dev binutils util-linux
libpam-wrapper libpamtest0-dev
cmake libgtest-dev python3 sqlite3
cups cups-daemon cups-client cups-bsd cups-ipp-utils cups-filters
poppler-utils qpdf ghostscript fonts-urw-base35
slapd ldap-utils openssl groff-base
dpkg-dev debhelper fakeroot lintian
"

missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
  echo "install-deps: all build and test dependencies are installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "install-deps: run as root (missing:$missing)" >&2; exit 1; }
  SUDO=sudo
fi
echo "install-deps: installing$missing"
# slapd asks debconf questions; the tests run their own private slapd anyway.
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
