"""benchutil - small helpers shared by bench/bench-backend.py and bench/bench-scale.py."""

import os
import platform
import subprocess
import sys
import time


def die(msg):
    """Print an error and exit with status 1."""
    sys.stderr.write("%s: FAIL: %s\n" % (os.path.basename(sys.argv[0]), msg))
    sys.exit(1)


def ms(seconds):
    """A duration in seconds as 'N.N ms'."""
    return "%.1f ms" % (seconds * 1000)


def loadavg():
    """The 1-minute load average (-1.0 if unreadable)."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0


def _version(pkg):
    """Installed Debian package version of pkg, or '?'."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, timeout=30)
        return r.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    """'key: value' strings describing this machine and the CUPS it runs."""
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    except OSError:
        pass
    return ["date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "CPU: %s, nproc %d" % (model, os.cpu_count() or 0),
            "kernel: %s" % platform.release(),
            "cups %s, cups-ipp-utils %s, slapd %s, sqlite3 %s" % (
                _version("cups-daemon"), _version("cups-ipp-utils"), _version("slapd"), _version("libsqlite3-0"))]
