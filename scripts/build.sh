#!/bin/sh
# build.sh - configure and build printguard in ./build (after install-deps.sh).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] || autoreconf -fi
mkdir -p build
cd build
[ -f Makefile ] && [ Makefile -nt ../configure ] || ../configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var
make -j"$(nproc)"
