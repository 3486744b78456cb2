#!/bin/bash
# run-fuzzers.sh - fuzz printguard targets built by build-fuzzers.sh for a while each.
#
# Usage: tests/fuzz/run-fuzzers.sh [-j N] [-m] BUILDDIR SECONDS [TARGET...]
#   BUILDDIR  where build-fuzzers.sh put the fuzz_* binaries
#   SECONDS   fuzzing time per target (libFuzzer -max_total_time); 0: only merge (-m)
#   TARGET    fuzz_config ... (default: every fuzz_* in BUILDDIR)
#   -j N      run N targets at once (default 1; one core each)
#   -m        afterwards, merge inputs that add coverage into tests/fuzz/corpus/TARGET
#
# Each target starts from tests/fuzz/corpus/TARGET (copied) and tests/fuzz/regressions/TARGET (in place),
# runs in libFuzzer fork mode with -ignore_crashes=1 (one bug does not end the
# run) and writes BUILDDIR/work/TARGET (grown corpus), BUILDDIR/artifacts/TARGET
# (crash-*, timeout-*, oom-*) and BUILDDIR/logs/TARGET.log.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
PAR=1
MERGE=0
while getopts "j:m" o; do
  case $o in
    j) PAR=$OPTARG ;;
    m) MERGE=1 ;;
    *) sed -n '3,10p' "$0" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || { sed -n '3,10p' "$0" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
SECS=$2
shift 2
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(cd "$BUILD" && ls fuzz_* | grep -v '\.')

# max_len() - the largest input worth trying for a target (PDFs are bigger).
max_len() {
  case $1 in
    fuzz_stamp) echo 20000 ;;
    fuzz_config | fuzz_cupsdconf) echo 4096 ;;
    *) echo 1024 ;;
  esac
}

# fuzz_one() - fuzz one target for SECS seconds; prints a summary line.
fuzz_one() {
  local t=$1 bin=$BUILD/$1
  local work=$BUILD/work/$t art=$BUILD/artifacts/$t log=$BUILD/logs/$t.log
  mkdir -p "$work" "$art" "$BUILD/logs"
  [ -d "$HERE/corpus/$t" ] && find "$HERE/corpus/$t" -maxdepth 1 -type f ! -name '.*' -exec cp -n {} "$work/" \;
  # Regressions are read in place: they seed the run but never enter the work corpus.
  local extra=() dict=()
  [ -d "$HERE/regressions/$t" ] && extra=("$HERE/regressions/$t")
  [ -f "$HERE/dict/$t.dict" ] && dict=(-dict="$HERE/dict/$t.dict")
  (cd "$art" && "$bin" -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -max_total_time="$SECS" -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2560 \
    -artifact_prefix="$art/" "${dict[@]}" "$work" "${extra[@]}" >"$log" 2>&1) || true
  local last
  last=$(grep -E '^#[0-9]+: cov' "$log" | tail -1 || true)
  echo "$t: ${last:-no status line, see $log}; artifacts: $(ls "$art" | grep -cE '^(crash|timeout|oom|leak)-' || true)"
}

# merge_one() - add work-corpus inputs with new edges (not counts: keeps it small) to corpus/.
merge_one() {
  local t=$1
  mkdir -p "$HERE/corpus/$t" "$BUILD/artifacts/$t"
  # A crashing input is left out of the merge; its artifact goes to artifacts/, not $PWD.
  (cd "$BUILD/artifacts/$t" && "$BUILD/$t" -merge=1 -use_counters=0 -max_len="$(max_len "$t")" -timeout=10 \
    -artifact_prefix="$BUILD/artifacts/$t/" "$HERE/corpus/$t" "$BUILD/work/$t" >"$BUILD/logs/$t.merge.log" 2>&1)
  echo "$t: corpus now $(ls "$HERE/corpus/$t" | wc -l) files, $(du -sh "$HERE/corpus/$t" | cut -f1)"
}

for t in "${TARGETS[@]}"; do
  [ -x "$BUILD/$t" ] || { echo "run-fuzzers: no $BUILD/$t (run build-fuzzers.sh $BUILD)" >&2; exit 1; }
  [ "$SECS" -gt 0 ] || continue
  while [ "$(jobs -rp | wc -l)" -ge "$PAR" ]; do wait -n || true; done
  fuzz_one "$t" &
done
wait
if [ "$MERGE" = 1 ]; then
  for t in "${TARGETS[@]}"; do merge_one "$t"; done
fi
