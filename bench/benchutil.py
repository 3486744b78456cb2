"""benchutil - small helpers shared by bench/bench-backend.py and bench/bench-scale.py."""

import os
import platform
import subprocess
import sys
import threading
import time


# The packages whose versions the backend and scale reports name.
CUPS_PACKAGES = ("cups-daemon", "cups-ipp-utils", "slapd", "libsqlite3-0")


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


def dpkg_version(pkg):
    """Installed Debian package version of pkg, or '?'."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True, timeout=30)
        return r.stdout.strip() or "?"
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def _first_field(path, prefix, sep):
    """The value after sep on the first line of path starting with prefix, or '?'."""
    try:
        with open(path) as f:
            return next((l.split(sep, 1)[1].strip().strip('"') for l in f if l.startswith(prefix)), "?")
    except OSError:
        return "?"


def machine_info(packages=()):
    """'key: value' strings describing this machine (and the versions of packages)."""
    mem = _first_field("/proc/meminfo", "MemTotal:", ":").split()
    lines = ["date: %s" % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
             "nproc: %d" % len(os.sched_getaffinity(0)),
             "CPU: %s" % _first_field("/proc/cpuinfo", "model name", ":"),
             "memory: %s" % ("%.1f GiB" % (int(mem[0]) / 1048576) if mem and mem[0].isdigit() else "?"),
             "kernel: %s %s" % (platform.system(), platform.release()),
             "OS: %s" % _first_field("/etc/os-release", "PRETTY_NAME=", "="),
             "python: %s" % platform.python_version()]
    if packages:
        lines.append(", ".join("%s %s" % (p, dpkg_version(p)) for p in packages))
    return lines


def write_report(text, path):
    """Print a benchmark's report and write it to path."""
    print(text)
    with open(path, "w") as f:
        f.write(text)
    print("written to %s" % path)


class StationRun:
    """A `printguard release` run with its secret on stdin, timed: t0 at the start,
    t_auth when it prints "authenticated as" (None until then), its output in out."""

    def __init__(self, argv, secret, env):
        """Start argv (line-buffered through stdbuf) and send it the secret."""
        self.t_auth = None
        self.out = []
        self.t0 = time.perf_counter()
        self.p = subprocess.Popen(["stdbuf", "-oL"] + [str(a) for a in argv], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        self.reader = threading.Thread(target=self._read)
        self.reader.start()
        self.p.stdin.write((secret + "\n").encode())
        self.p.stdin.close()

    def _read(self):
        """Collect the output; note when the station says it authenticated."""
        for line in self.p.stdout:
            if line.startswith(b"authenticated as") and self.t_auth is None:
                self.t_auth = time.perf_counter()
            self.out.append(line.decode("utf-8", "replace"))

    def wait(self, timeout):
        """Wait for the command to end; return (exit status, perf_counter time it ended)."""
        rc = self.p.wait(timeout)
        t_end = time.perf_counter()
        self.reader.join()
        return rc, t_end

    def text(self):
        """Everything the command printed."""
        return "".join(self.out)
