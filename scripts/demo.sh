#!/bin/sh
# demo.sh - install dependencies, build, and run a demo of the whole printguard
# flow (hold, printer-state gate, LDAP release, watermark, verify, audit) on
# private loopback services. Run as root on Debian 12.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
make -C "$top/build" tests/harness/avahi-noop.so >/dev/null
PG_AVAHI_SHIM="$top/build/tests/harness/avahi-noop.so" exec python3 "$top/scripts/demo.py"
