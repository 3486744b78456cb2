#!/usr/bin/env python3
"""compare-builds.py - several builds of printguard-watermark against mutool, interleaved.

On a machine whose speed drifts from minute to minute (a VM), two full
`make bench` runs can differ by more than the change being judged. This runs
each given filter binary and mutool on the same inputs, round after round,
in a new (seeded) order each round, so that every build sees the same
drift; it prints the median and first-quartile times and their ratios to
mutool's. --sleep pauses before every run (an idle machine's fresh memory
can cost more to fault in; the full benchmark's slow peers leave such pauses).

Usage: python3 bench/compare-builds.py [--rounds N] [--sleep S] [--inputs a,b]
           NAME=FILTER[,VAR=VALUE...] ...
e.g.   cp build/filters/printguard-watermark /tmp/before   # then rebuild
       python3 bench/compare-builds.py before=/tmp/before after=build/filters/printguard-watermark
Inputs are run-bench.py's (generated with the build's tests/pdfgen).
"""

import argparse
import importlib.util
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def load_run_bench():
    """run-bench.py as a module (its inputs, mutool script and site set-up)."""
    spec = importlib.util.spec_from_file_location("run_bench", os.path.join(HERE, "run-bench.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, HERE)
    spec.loader.exec_module(mod)
    return mod


def parse_build(spec):
    """'NAME=PATH[,VAR=VALUE...]' as (name, path, extra environment)."""
    name, sep, rest = spec.partition("=")
    if not sep or not name or not rest:
        raise argparse.ArgumentTypeError("expected NAME=FILTER[,VAR=VALUE...], got %r" % spec)
    path, *assignments = rest.split(",")
    env = {}
    for a in assignments:
        var, sep, value = a.partition("=")
        if not sep or not var:
            raise argparse.ArgumentTypeError("expected VAR=VALUE after the filter, got %r" % a)
        env[var] = value
    if not os.access(path, os.X_OK):
        raise argparse.ArgumentTypeError("%s is not an executable filter" % path)
    return name, os.path.abspath(path), env


def quartile(xs):
    """The first quartile (lower of the two middle values' lower half) of xs."""
    return sorted(xs)[len(xs) // 4]


def main():
    """Parse options, generate inputs, run the rounds and print the table."""
    ap = argparse.ArgumentParser(description="interleaved comparison of printguard-watermark builds and mutool")
    ap.add_argument("builds", nargs="+", type=parse_build, help="NAME=FILTER[,VAR=VALUE...]")
    ap.add_argument("--rounds", type=int, default=20, help="timed rounds (default 20, after one untimed)")
    ap.add_argument("--sleep", type=float, default=0.0, help="seconds to pause before every run")
    ap.add_argument("--inputs", default="text-1000p,prose-1000p,objstm-1000p,image-200p",
                    help="comma-separated inputs of run-bench.py (default: the 1000-page ones and image-200p)")
    args = ap.parse_args()
    rb = load_run_bench()
    known = {name: (pages, flags) for name, pages, flags, _ in rb.INPUTS}
    wanted = [i for i in args.inputs.split(",") if i]
    for i in wanted:
        if i not in known:
            rb.die("unknown input %s (known: %s)" % (i, ", ".join(known)))
    if args.rounds < 1:
        rb.die("--rounds must be at least 1")
    for p in (rb.ADMIN, rb.PDFGEN):
        if not os.access(p, os.X_OK):
            rb.die("%s missing: run ./scripts/build.sh and make check_PROGRAMS (or set PG_BUILD)" % p)
    if not shutil.which("mutool"):
        rb.die("mutool (mupdf-tools) is needed: scripts/install-bench-deps.sh")

    tmp = tempfile.mkdtemp(prefix="pg-compare-")
    try:
        conf = rb.make_site(tmp)
        js = os.path.join(tmp, "stamp.js")
        with open(js, "w") as f:
            f.write(rb.MUTOOL_JS)
        base_env = {k: v for k, v in os.environ.items() if k not in ("PPD", "PRINTGUARD_CONF", "PRINTER")}
        tools = [(name, lambda i, o, p=path: [p, "1", "user", "title", "1", "job-uuid=urn:uuid:bench", i], True,
                  dict(base_env, PRINTGUARD_CONF=conf, PRINTER="bench", TMPDIR=tmp, **extra))
                 for name, path, extra in args.builds]
        tools.append(("mutool", lambda i, o: ["mutool", "run", js, i, o], False, base_env))
        print("| input | " + " | ".join("%s ms (p25), x mutool" % t[0] for t in tools) + " |")
        print("|---|" + "---:|" * len(tools))
        for name in wanted:
            pages, flags = known[name]
            path = os.path.join(tmp, name + ".pdf")
            r = rb.subprocess.run([rb.PDFGEN, tmp, "--pages", str(pages), name + ".pdf"] + flags,
                                  stdout=rb.subprocess.PIPE, stderr=rb.subprocess.STDOUT)
            if r.returncode != 0:
                rb.die("pdfgen failed for %s: %s" % (name, r.stdout.decode(errors="replace")))
            times = {t[0]: [] for t in tools}
            for rnd in range(args.rounds + 1):
                order = list(tools)
                random.Random(rnd).shuffle(order)
                for tname, argv_fn, to_stdout, env in order:
                    out = os.path.join(tmp, "out-%s.pdf" % tname)
                    if os.path.exists(out):
                        os.unlink(out)
                    if args.sleep:
                        time.sleep(args.sleep)
                    secs, _, _, rc = rb.run_measured(argv_fn(path, out), out if to_stdout else None,
                                                     os.path.join(tmp, "err-%s.log" % tname), env)
                    if rc != 0:
                        rb.die("%s exited %d on %s (see %s)" % (tname, rc, name, os.path.join(tmp, "err-%s.log" % tname)))
                    if rnd:  # the first round is a warm-up
                        times[tname].append(secs)
            mu_med, mu_q = statistics.median(times["mutool"]), quartile(times["mutool"])
            cells = ["%.1f (%.1f), %.2fx (%.2fx)" % (1000 * statistics.median(times[t[0]]), 1000 * quartile(times[t[0]]),
                                                   statistics.median(times[t[0]]) / mu_med, quartile(times[t[0]]) / mu_q)
                     for t in tools]
            print("| %s | %s |" % (name, " | ".join(cells)), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
