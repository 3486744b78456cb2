#!/bin/sh
# check-man-pages.sh - every manual page (each man/*.in of the source tree, as
# generated in the build tree) must render with `groff -ww -man` without a
# single warning and must have FILES and EXIT STATUS sections.
# Usage: check-man-pages.sh SRCDIR BUILDDIR
set -u
src=${1:?usage: check-man-pages.sh SRCDIR BUILDDIR}
build=${2:?usage: check-man-pages.sh SRCDIR BUILDDIR}
command -v groff >/dev/null 2>&1 || { echo "check-man-pages: groff not found: apt-get install groff-base"; exit 1; }
fail=0
n=0
for in in "$src"/man/*.in; do
  [ -e "$in" ] || { echo "check-man-pages: no man/*.in in $src"; exit 1; }
  page=$build/man/$(basename "$in" .in)
  n=$((n + 1))
  bad=0
  if [ ! -f "$page" ]; then
    echo "FAIL $page: not generated from $in (add it to nodist_man_MANS in Makefile.am, then make)"
    fail=1
    continue
  fi
  err=$(LC_ALL=C.UTF-8 groff -ww -man -Tutf8 -z "$page" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || [ -n "$err" ]; then
    echo "FAIL $page: groff -ww -man -Tutf8 exited $rc with:"
    printf '%s\n' "$err" | sed 's/^/    /'
    bad=1
  fi
  for sec in 'FILES' 'EXIT STATUS'; do
    if ! grep -Eq "^\.SH +\"?$sec\"? *\$" "$page"; then
      echo "FAIL $page: no $sec section (.SH $sec)"
      bad=1
    fi
  done
  if [ $bad -eq 0 ]; then echo "ok   $page"; else fail=1; fi
done
[ $fail -eq 0 ] && echo "check-man-pages: $n pages render cleanly with FILES and EXIT STATUS"
exit $fail
