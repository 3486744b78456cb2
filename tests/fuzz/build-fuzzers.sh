#!/bin/bash
# build-fuzzers.sh - build the printguard libFuzzer targets with clang, ASan and UBSan.
#
# Usage: tests/fuzz/build-fuzzers.sh [OUTDIR]     (default /tmp/printguard-fuzz)
#
# Compiles lib/*.cc directly (not build/lib/libprintguard.a, which has no
# sanitizer instrumentation) and links one OUTDIR/fuzz_<name> per
# tests/fuzz/fuzz_<name>.cc. Needs clang and libclang-rt-14-dev (Debian 12:
# apt-get install clang libclang-rt-14-dev) plus printguard's -dev packages.
# Environment: CXX (default clang++), JOBS (default nproc), EXTRA_CXXFLAGS.
set -euo pipefail

OUT=${1:-/tmp/printguard-fuzz}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CXX=${CXX:-clang++}
JOBS=${JOBS:-$(nproc)}
SAN="address,undefined"

CXXFLAGS="-std=c++17 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined \
  -I$SRC/lib -DPOINTERHOLDER_TRANSITION=4 \
  $(cups-config --cflags) ${EXTRA_CXXFLAGS:-}"
# The library's pkg-config modules (poppler-cpp only once lib/ needs it).
PKGS="libqpdf libsodium sqlite3"
if grep -q POPPLER "$SRC/configure.ac" && pkg-config --exists poppler-cpp; then PKGS="$PKGS poppler-cpp"; fi
CXXFLAGS="$CXXFLAGS $(pkg-config --cflags $PKGS)"
LIBS="$(pkg-config --libs $PKGS) $(cups-config --libs) -lldap -llber"
# Every library source; they go into an archive, so a target links only what it uses.
# lib/lazy_*.cc stand in for libraries only in the fast-start programs.
LIBSRC=$(cd "$SRC" && ls lib/*.cc | grep -v "^lib/lazy_")

mkdir -p "$OUT/obj"

# up_to_date() - whether obj is newer than its source, every lib/*.h and this script.
up_to_date() {
  [ "$2" -nt "$1" ] && [ "$2" -nt "$0" ] && [ -z "$(find "$SRC/lib" -name '*.h' -newer "$2" -print -quit)" ]
}

# compile() - one source to an object, unless it is up to date.
compile() {
  local src=$1 obj=$2 san=$3
  if up_to_date "$src" "$obj"; then return 0; fi
  rm -f "$obj"
  echo "  CXX $(basename "$src")"
  # shellcheck disable=SC2086
  "$CXX" $CXXFLAGS -fsanitize="$san" -c "$src" -o "$obj"
}

# run_limited() - run a command in the background, at most $JOBS at a time.
run_limited() {
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  "$@" &
}

for src in $LIBSRC; do
  src=$SRC/$src
  run_limited compile "$src" "$OUT/obj/lib-$(basename "$src" .cc).o" "fuzzer-no-link,$SAN"
done
for src in "$HERE"/fuzz_*.cc; do
  run_limited compile "$src" "$OUT/obj/$(basename "$src" .cc).o" "fuzzer-no-link,$SAN"
done
wait
for src in $LIBSRC; do
  [ -f "$OUT/obj/lib-$(basename "$src" .cc).o" ] || { echo "build-fuzzers: $src did not compile" >&2; exit 1; }
done
for src in "$HERE"/fuzz_*.cc; do
  [ -f "$OUT/obj/$(basename "$src" .cc).o" ] || { echo "build-fuzzers: $src did not compile" >&2; exit 1; }
done
rm -f "$OUT/libprintguard-fuzz.a"
ar rcs "$OUT/libprintguard-fuzz.a" $(for s in $LIBSRC; do echo "$OUT/obj/lib-$(basename "$s" .cc).o"; done)

for src in "$HERE"/fuzz_*.cc; do
  name=$(basename "$src" .cc)
  echo "  LINK $name"
  # shellcheck disable=SC2086
  "$CXX" -fsanitize="fuzzer,$SAN" -o "$OUT/$name" "$OUT/obj/$name.o" "$OUT/libprintguard-fuzz.a" $LIBS
done
echo "fuzzers in $OUT: $(cd "$OUT" && ls fuzz_* | tr '\n' ' ')"
