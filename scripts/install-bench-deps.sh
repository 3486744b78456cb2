#!/bin/sh
# install-bench-deps.sh - the tools make bench compares printguard-watermark with
# (qpdf, cups-filters and poppler-utils come with install-deps.sh).
set -eu
"$(dirname "$0")/install-deps.sh"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends mupdf-tools pdftk-java time
