#!/bin/sh
# test.sh - the whole printguard test suite on a fresh Debian 12 machine:
# installs dependencies, builds, runs every test (unit and integration, with
# private cupsd/ippeveprinter/slapd on loopback) through ctest, then
# make distcheck. Exits non-zero on any failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
cd "$top/build"
make -j"$(nproc)" check
make -j"$(nproc)" distcheck >distcheck.log 2>&1 || { tail -50 distcheck.log; echo "make distcheck failed (see build/distcheck.log)"; exit 1; }
echo "make distcheck: passed"

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
mkdir -p "$top/build-asan"
cd "$top/build-asan"
[ -f Makefile ] || ../configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var --enable-sanitizers >/dev/null
make -j"$(nproc)" >/dev/null
# The Debian package test builds its own (unsanitized) packages: once is enough.
PG_SKIP_PACKAGING=1 ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 make -j"$(nproc)" check
