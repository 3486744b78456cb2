#!/usr/bin/env python3
"""run-bench.py - performance benchmark of the printguard-watermark CUPS filter.

Stamps one text line on every page of generated PDFs with printguard-watermark
and with peer tools (qpdf --overlay, cups-filters pdftopdf page-label, a
mutool JS script, pdftk stamp, and cat as the floor), alternating the tools
within each repetition in a shuffled order (a new one per repetition, fixed
seed), so that no tool always runs right after the same peer.  Every output page is checked for the stamp text with
pdftotext.  Prints a Markdown table (median wall time, ratios, peak RSS) and
writes it to bench/results.md.

Usage: python3 bench/run-bench.py [--quick] [--reps N] [--out FILE] [--keep]
Run from anywhere after ./scripts/build.sh (or set PG_BUILD to the build dir).
"""

import argparse
import os
import random
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile

import benchutil as bu
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
BUILD = os.environ.get("PG_BUILD", os.path.join(TOP, "build"))
FILTER = os.path.join(BUILD, "filters", "printguard-watermark")
ADMIN = os.path.join(BUILD, "tools", "printguard")
PDFGEN = os.path.join(BUILD, "tests", "pdfgen")
PDFTOPDF = "/usr/lib/cups/filter/pdftopdf"
STAMP_TEXT = "CONFIDENTIAL"
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# (name, page count, extra pdfgen flags, full run only). text: a line of text a
# page; prose: 48 lines a page (about 1.7 KB of compressed content, a printed
# report); image: a 150 KB image a page; objstm: text pages in object streams.
INPUTS = [
    ("text-1p", 1, [], False),
    ("text-1000p", 1000, [], False),
    ("prose-1000p", 1000, ["--prose"], False),
    ("image-200p", 200, ["--image"], False),
    ("objstm-1000p", 1000, ["--objstm"], False),
    ("text-10000p", 10000, [], True),
]

# mutool run script: walks the page tree (findPage() is quadratic in mupdf
# 1.21 on flat trees) and appends a content stream showing one text line.
MUTOOL_JS = r"""
var doc = new PDFDocument(scriptArgs[0]);
var font = doc.addSimpleFont(new Font("Helvetica"), "Latin");
var ops = doc.addStream("q BT /FBench 10 Tf 0 g 72 30 Td (%s) Tj ET Q\n", {});
var pre = doc.addStream("q\n", {});
var post = doc.addStream("Q\n", {});
function stampPage(page, inherited) {
  var res = page.Resources;
  if (!res) {
    res = doc.newDictionary();
    if (inherited) inherited.forEach(function (k, v) { res[k] = v; });
    page.Resources = res;
  }
  if (!res.Font) res.Font = doc.newDictionary();
  res.Font.FBench = font;
  var c = page.Contents, arr = doc.newArray();
  arr.push(pre);
  if (c && c.isArray()) { for (var j = 0; j < c.length; ++j) arr.push(c[j]); }
  else if (c) arr.push(c);
  arr.push(post);
  arr.push(ops);
  page.Contents = arr;
}
function walk(node, inherited) {
  if (node.Kids) {
    var res = node.Resources || inherited, kids = node.Kids;
    for (var i = 0; i < kids.length; ++i) walk(kids[i], res);
  } else {
    stampPage(node, inherited);
  }
}
walk(doc.getTrailer().Root.Pages, null);
doc.save(scriptArgs[1], "compress");
""" % STAMP_TEXT


def die(msg):
    """Print an error and exit with status 1."""
    sys.stderr.write("run-bench: FAIL: %s\n" % msg)
    sys.exit(1)


def make_stamp_pdf(path, text, width=612, height=792):
    """Write a minimal one-page PDF that shows text in Helvetica at (72, 30)."""
    content = b"BT /F1 10 Tf 0 g 72 30 Td (" + text.encode("latin-1") + b") Tj ET\n"
    objs = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>" % (width, height),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    with open(path, "wb") as f:
        f.write(out)


def run_measured(argv, stdout_path=None, stderr_path=None, env=None, rss_path=None):
    """Run argv once; return (wall s, peak RSS KiB, user+sys s, exit status)."""
    # A child forked by Python starts with Python's own high-water mark (Linux
    # carries ru_maxrss across exec), so a small GNU time process is the parent
    # that reports the tool's ru_maxrss (from its wait4) when it is installed.
    if TIME_BIN and rss_path:
        argv = [TIME_BIN, "-q", "-f", "%M", "-o", rss_path, "--"] + argv
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    err = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
    try:
        t0 = time.perf_counter()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        elapsed = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
    finally:
        if stdout_path:
            out.close()
        if stderr_path:
            err.close()
    rss = ru.ru_maxrss
    if TIME_BIN and rss_path:
        try:
            with open(rss_path) as f:
                rss = int(f.read().split()[-1])
        except (OSError, ValueError, IndexError):
            rss = -1
    return elapsed, rss, ru.ru_utime + ru.ru_stime, p.returncode


def capture(argv, env=None):
    """Run argv and return its stdout+stderr as text ('' if it cannot run)."""
    try:
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=120)
        return r.stdout.decode("utf-8", "replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def first_line(text, pattern=None):
    """First line of text (or first line matching the regex pattern), stripped."""
    for line in text.splitlines():
        if line.strip() and (pattern is None or re.search(pattern, line)):
            return line.strip()
    return "?"


def build_stamp():
    """Modification time of the benchmarked filter binary (a snapshot keeps its mtime)."""
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(FILTER)))
    except OSError:
        return "?"


def git_rev():
    """Short git commit of the source tree, with '+dirty' when modified."""
    rev = capture(["git", "-C", TOP, "rev-parse", "--short", "HEAD"]).strip() or "?"
    if capture(["git", "-C", TOP, "status", "--porcelain", "--untracked-files=no"]).strip():
        rev += "+dirty"
    return rev


def link_kind():
    """'fast start' when the filter does not load libqpdf at start, else 'shared link'."""
    needed = capture(["readelf", "-d", FILTER])
    return "shared link" if "libqpdf" in needed else "fast start"


def pkg_version_of_build():
    """PACKAGE_VERSION from the build directory's Makefile, or '?'."""
    try:
        with open(os.path.join(BUILD, "Makefile")) as f:
            for line in f:
                if line.startswith("PACKAGE_VERSION ="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return "?"


class Tool:
    """One stamping tool: how to run it, check its output and report its version."""

    def __init__(self, name, binary, argv_fn, stdout=False, env=None, version_fn=None, expect=STAMP_TEXT):
        """Set the tool's name, binary, argv builder, output mode, env and version getter."""
        self.name = name
        self.binary = binary
        self.argv_fn = argv_fn
        self.stdout = stdout
        self.env = env
        self.version_fn = version_fn
        self.expect = expect

    def available(self):
        """True if the tool's executable exists."""
        return bool(self.binary and (os.access(self.binary, os.X_OK) or shutil.which(self.binary)))

    def run(self, inp, out, errlog, measure_rss=False):
        """Run the tool once on inp writing out; return (wall s, RSS KiB, CPU s).
        Only with measure_rss is the RSS right (GNU time runs the tool: its
        fork and exec would add a few ms to every timed run)."""
        if os.path.exists(out):
            os.unlink(out)
        argv = self.argv_fn(inp, out)
        secs, rss, cpu, rc = run_measured(argv, out if self.stdout else None, errlog, self.env,
                                          errlog + ".rss" if measure_rss else None)
        if rc != 0:
            tail = ""
            try:
                with open(errlog, "rb") as f:
                    tail = f.read()[-2000:].decode("utf-8", "replace")
            except OSError:
                pass
            die("%s exited %d on %s\n  argv: %s\n%s" % (self.name, rc, os.path.basename(inp), argv, tail))
        return secs, rss, cpu


def check_stamped(tool, out, pages, errlog):
    """Fail unless every one of the pages pages of out shows the tool's stamp."""
    if not os.path.exists(out) or os.path.getsize(out) == 0:
        die("%s wrote no output (%s)" % (tool.name, out))
    r = subprocess.run(["pdftotext", "-q", "-layout", out, "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        die("pdftotext cannot read %s output %s: %s" % (tool.name, out, r.stderr.decode(errors="replace")))
    texts = r.stdout.decode("utf-8", "replace").split("\f")
    if texts and texts[-1].strip() == "":
        texts.pop()
    if len(texts) != pages:
        die("%s: output has %d pages, input has %d" % (tool.name, len(texts), pages))
    if tool.expect == "SIG":
        with open(errlog, "rb") as f:
            m = re.search(rb"signature ([0-9A-Z-]+)", f.read())
        if not m:
            die("%s did not report a signature code (stderr %s)" % (tool.name, errlog))
        pattern = re.compile(r"Sig\s+" + re.escape(m.group(1).decode()))
    else:
        pattern = re.compile(re.escape(tool.expect))
    bad = [i + 1 for i, t in enumerate(texts) if not pattern.search(t)]
    if bad:
        die("%s: %d of %d pages lack the stamp %r (first: page %s)" % (
            tool.name, len(bad), pages, pattern.pattern, bad[:10]))


def snapshot_binaries(tmp):
    """Copy the filter, admin tool and pdfgen into tmp so a rebuild mid-run cannot mix versions."""
    global FILTER, ADMIN, PDFGEN
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir)
    FILTER, ADMIN, PDFGEN = (shutil.copy2(p, os.path.join(bindir, os.path.basename(p)))
                             for p in (FILTER, ADMIN, PDFGEN))


def make_site(tmp):
    """Create a printguard site (config, key dir, audit DB) and return the config path."""
    site = os.path.join(tmp, "site")
    os.makedirs(site)
    conf = os.path.join(site, "printguard.conf")
    with open(conf, "w") as f:
        f.write("KeyDir %s/keys\nAuditDB %s/audit.db\nSyslog No\n" % (site, site))
    r = subprocess.run([ADMIN, "-c", conf, "keygen"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        die("printguard keygen failed: %s" % r.stdout.decode(errors="replace"))
    return conf


def make_tools(tmp, conf):
    """Build the list of tools to compare (printguard first, qpdf as the reference)."""
    stamp = os.path.join(tmp, "stamp.pdf")
    make_stamp_pdf(stamp, STAMP_TEXT)
    js = os.path.join(tmp, "stamp.js")
    with open(js, "w") as f:
        f.write(MUTOOL_JS)
    base_env = {k: v for k, v in os.environ.items() if k not in ("PPD", "PRINTGUARD_CONF", "PRINTER")}
    pg_env = dict(base_env, PRINTGUARD_CONF=conf, PRINTER="bench", TMPDIR=tmp)
    ptp_env = dict(base_env, TMPDIR=tmp)
    job = ["1", "user", "title", "1"]
    return [
        Tool("printguard-watermark", FILTER,
             lambda i, o: [FILTER] + job + ["job-uuid=urn:uuid:bench", i], stdout=True, env=pg_env,
             version_fn=lambda: "printguard %s (git %s, filter built %s, %s)" % (
                 pkg_version_of_build(), git_rev(), build_stamp(), link_kind()),
             expect="SIG"),
        Tool("qpdf --overlay", "qpdf",
             lambda i, o: ["qpdf", i, "--overlay", stamp, "--repeat=1", "--", o],
             version_fn=lambda: first_line(capture(["qpdf", "--version"]))),
        Tool("pdftopdf page-label", PDFTOPDF,
             lambda i, o: [PDFTOPDF] + job + ["page-label=" + STAMP_TEXT, i], stdout=True, env=ptp_env,
             version_fn=lambda: "cups-filters %s" % bu.dpkg_version("cups-filters")),
        Tool("mutool run (JS)", "mutool",
             lambda i, o: ["mutool", "run", js, i, o],
             version_fn=lambda: first_line(capture(["mutool", "-v"]), "version")),
        Tool("pdftk stamp", "pdftk",
             lambda i, o: ["pdftk", i, "stamp", stamp, "output", o],
             version_fn=lambda: "%s (Debian pdftk-java %s)" % (
                 first_line(capture(["pdftk", "--version"]), "pdftk"), bu.dpkg_version("pdftk-java"))),
        Tool("cat", "cat",
             lambda i, o: ["cat", i], stdout=True, expect=None,
             version_fn=lambda: first_line(capture(["cat", "--version"]))),
    ]


def gen_inputs(tmp, quick):
    """Generate the benchmark PDFs with pdfgen; return [(name, path, pages)]."""
    res = []
    for name, pages, flags, full_only in INPUTS:
        if quick and full_only:
            continue
        path = os.path.join(tmp, name + ".pdf")
        r = subprocess.run([PDFGEN, tmp, "--pages", str(pages), name + ".pdf"] + flags,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode != 0 or not os.path.exists(path):
            die("pdfgen failed for %s: %s" % (name, r.stdout.decode(errors="replace")))
        res.append((name, path, pages))
    return res


def fmt_ratio(a, b):
    """a/b formatted for the table, or '-' when b is missing."""
    if a is None or not b:
        return "-"
    r = a / b
    return "%.1f" % r if r >= 10 else "%.2f" % r


def main():
    """Parse options, run the benchmark, print and write the results."""
    ap = argparse.ArgumentParser(description="printguard-watermark performance benchmark")
    ap.add_argument("--quick", action="store_true", help="3 repetitions, no 10 000-page input")
    ap.add_argument("--reps", type=int, help="repetitions per tool and input (default 7, --quick 3)")
    ap.add_argument("--out", default=os.path.join(HERE, "results.md"), help="Markdown output file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 7)
    if reps < 1:
        die("--reps must be at least 1")

    for p in (FILTER, ADMIN, PDFGEN):
        if not os.access(p, os.X_OK):
            die("%s missing: run ./scripts/build.sh and make check_PROGRAMS (or set PG_BUILD)" % p)
    if not shutil.which("pdftotext"):
        die("pdftotext (poppler-utils) is needed to verify the stamps")

    t_start = time.perf_counter()
    load_start = bu.loadavg()
    tmp = tempfile.mkdtemp(prefix="pg-bench-")
    try:
        snapshot_binaries(tmp)
        conf = make_site(tmp)
        all_tools = make_tools(tmp, conf)
        tools = [t for t in all_tools if t.available()]
        notes = ["skipped (not installed): %s" % t.name for t in all_tools if not t.available()]
        if not any(t.name.startswith("printguard") for t in tools):
            die("printguard filter not available")
        inputs = gen_inputs(tmp, args.quick)
        sys.stderr.write("run-bench: %d inputs x %d tools x (1 warm-up + %d reps) in %s\n" % (
            len(inputs), len(tools), reps, tmp))

        results = {}  # (input, tool) -> (median s, max RSS KiB, median CPU s, min s, max s)
        for name, path, pages in inputs:
            outs = {t.name: os.path.join(tmp, "out-%d.pdf" % k) for k, t in enumerate(tools)}
            errs = {t.name: os.path.join(tmp, "err-%d.log" % k) for k, t in enumerate(tools)}
            # Warm-up (untimed): fills the page cache, produces the output we
            # verify and measures the peak RSS.
            rss = {}
            for t in tools:
                rss[t.name] = t.run(path, outs[t.name], errs[t.name], measure_rss=True)[1]
                if t.expect:
                    check_stamped(t, outs[t.name], pages, errs[t.name])
            times = {t.name: [] for t in tools}
            cpus = {t.name: [] for t in tools}
            for rep in range(reps):
                # Alternate, in a new order each repetition (fixed seed): a tool
                # run straight after another can be slowed by what that one
                # left behind (the machine still tearing down pdftk's JVM), so
                # no tool may always follow the same peer.
                order = list(tools)
                random.Random(rep).shuffle(order)
                for t in order:
                    s, _, c = t.run(path, outs[t.name], errs[t.name])
                    times[t.name].append(s)
                    cpus[t.name].append(c)
                sys.stderr.write("  %s rep %d/%d done\n" % (name, rep + 1, reps))
            for t in tools:
                results[(name, t.name)] = (statistics.median(times[t.name]), rss[t.name],
                                           statistics.median(cpus[t.name]),
                                           min(times[t.name]), max(times[t.name]))
            for p in list(outs.values()):
                if os.path.exists(p):
                    os.unlink(p)

        size = {name: os.path.getsize(path) for name, path, _ in inputs}
        elapsed = time.perf_counter() - t_start
        load = (load_start, bu.loadavg())
        if max(load) > len(os.sched_getaffinity(0)) / 2:
            notes.append("the machine was busy (1-min load average %.2f at start, %.2f at end on %d CPUs): "
                         "other processes competed for the CPUs, so wall times are noisy; the CPU "
                         "column is less affected" % (load[0], load[1], len(os.sched_getaffinity(0))))
        lines = render(inputs, tools, results, size, reps, args.quick, notes, elapsed, load)
    finally:
        if args.keep:
            sys.stderr.write("run-bench: kept %s\n" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    text = "\n".join(lines) + "\n"
    sys.stdout.write(text)
    with open(args.out, "w") as f:
        f.write(text)
    sys.stderr.write("run-bench: wrote %s (%.0f s)\n" % (args.out, elapsed))


def targets(inputs, tools, results):
    """Return the '## Targets' lines: each goal of issue #7 as PASS/FAIL with its measured ratio."""
    pg = "printguard-watermark"
    names = {t.name for t in tools}
    lines = ["## Targets (issue #7), from the medians above", ""]

    def med(inp, tool):
        """Median wall time of tool on input, or None if not measured."""
        r = results.get((inp, tool))
        return r[0] if r else None

    def verdict(ok):
        """PASS/FAIL (or n/a when not measured)."""
        return "n/a" if ok is None else ("PASS" if ok else "FAIL")

    for name in ("text-1000p", "prose-1000p"):
        for peer in ("qpdf --overlay", "pdftopdf page-label"):
            a, b = med(name, pg), med(name, peer)
            ok = None if a is None or b is None else b / a >= 10
            lines.append("- %s: >= 10x faster than %s on %s: %s" % (
                verdict(ok), peer, name,
                "%.1fx (%.3f s vs %.3f s)" % (b / a, a, b) if ok is not None else "not measured"))
    if "mutool run (JS)" in names:
        for name, _, _ in inputs:
            a, b = med(name, pg), med(name, "mutool run (JS)")
            ok = None if a is None or b is None else a / b <= 0.7
            lines.append("- %s: <= 0.7x mutool's time on %s: %s" % (
                verdict(ok), name, "%.2fx (%.3f s vs %.3f s)" % (a / b, a, b) if ok is not None else "not measured"))
    else:
        lines.append("- n/a: <= 0.7x mutool's time (mutool not installed)")
    for name, _, _ in inputs:
        a, b = results.get((name, pg)), results.get((name, "qpdf --overlay"))
        ok = None if not a or not b else a[1] <= b[1]
        lines.append("- %s: peak RSS <= qpdf --overlay's on %s: %s" % (
            verdict(ok), name, "%.1f MB vs %.1f MB" % (a[1] / 1024, b[1] / 1024) if ok is not None else "not measured"))
    big, small = med("text-10000p", pg), med("text-1000p", pg)
    if big is None or small is None:
        lines.append("- n/a: linear in pages (text-10000p / text-1000p <= 12): not measured (--quick)")
    else:
        r = big / small
        lines.append("- %s: linear in pages (text-10000p / text-1000p <= 12; 10 = linear, less = fixed costs): "
                     "%.1f (%.3f s / %.3f s)" % (verdict(r <= 12), r, big, small))
    return lines


def render(inputs, tools, results, size, reps, quick, notes, elapsed, load):
    """Return the Markdown report as a list of lines."""
    pg = "printguard-watermark"
    lines = ["# printguard-watermark benchmark", ""]
    lines.append("Run %s, %s mode, %d timed repetitions per tool and input (median shown), "
                 "tools alternated within each repetition, in an order shuffled anew for each (fixed seed), "
                 "after one untimed warm-up run; "
                 "every output page verified with pdftotext. Total run time %.0f s." % (
                     time.strftime("%Y-%m-%d %H:%M %Z"), "quick" if quick else "full", reps, elapsed))
    lines.append("")
    lines.append("| input | tool | median s | vs qpdf --overlay | vs cat | peak RSS MB "
                 "| min-max s | CPU s (user+sys) |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, _, pages in inputs:
        q = results.get((name, "qpdf --overlay"), (None, 0))[0]
        c = results.get((name, "cat"), (None, 0))[0]
        label = "%s (%.2f MB)" % (name, size[name] / 1e6)
        for t in tools:
            med, rss, cpu, lo, hi = results[(name, t.name)]
            lines.append("| %s | %s | %.3f | %s | %s | %.1f | %.3f-%.3f | %.3f |" % (
                label, t.name, med, fmt_ratio(med, q), fmt_ratio(med, c), rss / 1024, lo, hi, cpu))
    lines.append("")
    if TIME_BIN:
        lines.append("Peak RSS: ru_maxrss from wait4() in GNU time (%s), the tool's direct parent, in the "
                     "untimed warm-up run (a child forked by Python inherits Python's own high-water mark "
                     "across exec); the timed runs are not wrapped, so GNU time's fork and exec are not in "
                     "the times." % TIME_BIN)
    else:
        lines.append("Peak RSS: ru_maxrss from os.wait4(); /usr/bin/time is missing, so values include "
                     "the Python parent's high-water mark (%.1f MB) inherited across exec: upper bounds." % (
                         resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    lines.append("")
    lines += targets(inputs, tools, results)
    lines.append("")
    lines.append("## Linearity (median time 10 000 pages / 1000 pages; 10.0 = linear)")
    lines.append("")
    if ("text-10000p", pg) in results:
        for t in tools:
            if t.name == "cat":
                continue
            big, small = results[("text-10000p", t.name)], results[("text-1000p", t.name)]
            lines.append("- %s%s: wall %.2f s / %.2f s = %.1f; CPU %.2f s / %.2f s = %.1f" % (
                "**" if t.name == pg else "", t.name + ("**" if t.name == pg else ""),
                big[0], small[0], big[0] / small[0], big[2], small[2], big[2] / small[2]))
    else:
        lines.append("- not measured (--quick skips the 10 000-page input)")
    lines.append("")
    lines.append("## Machine")
    lines.append("")
    lines += ["- " + m for m in bu.machine_info()]
    lines.append("- 1-min load average: %.2f at start, %.2f at end" % load)
    lines.append("")
    lines.append("## Versions")
    lines.append("")
    for t in tools:
        lines.append("- %s: %s" % (t.name, t.version_fn() if t.version_fn else "?"))
    lines.append("- pdftotext (verification): %s" % first_line(capture(["pdftotext", "-v"]), "version"))
    if notes:
        lines.append("")
        lines.append("## Notes")
        lines.append("")
        lines += ["- " + n for n in notes]
    return lines


if __name__ == "__main__":
    main()
