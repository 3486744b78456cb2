#!/usr/bin/env python3
"""probe_filter_placement - show where a PPD line puts a filter in CUPS's chain.

Not a test: an experiment that prints, for each PPD variant and input type,
the filter chain cupsd chose, the order the programs started, and what the
device (ippeveprinter, or the pgcapture backend for the PCL-XL driver)
received.  It decided how printguard attaches its
watermark filter to a queue; rerun it after a CUPS or cups-filters upgrade.

Run as root:  python3 tests/harness/probe_filter_placement.py [-v]
"""

import pathlib
import re
import sys
import textwrap
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import pgharness as h   # noqa: E402

DUMMY = r"""#!/bin/sh
# Probe filter: logs its argv, then passes its input through, replaces it
# with a marker PDF (title contains MARK), fails without output (FAIL), or
# passes everything through and then fails (PARTIAL).
echo "DEBUG: DUMMY RAN argv=[$*] CONTENT_TYPE=$CONTENT_TYPE FINAL_CONTENT_TYPE=$FINAL_CONTENT_TYPE" >&2
case "$3" in
  *FAIL*) echo "ERROR: DUMMY failing on purpose" >&2; exit 1 ;;
  *PARTIAL*) if [ -n "$6" ]; then cat "$6"; else cat; fi
             echo "ERROR: DUMMY failing after writing" >&2; exit 1 ;;
  *MARK*) if [ -n "$6" ]; then cat "$6"; else cat; fi >/dev/null
          exec cat "$PG_MARKER_PDF" ;;
esac
if [ -n "$6" ]; then exec cat "$6"; fi
exec cat
"""

# Where a job can end up: done, or parked after a filter failed.
SETTLED = h.TERMINAL_JOB_STATES + ('processing-stopped',)
NULL_FILTER = re.compile(
    r'^\*cupsFilter2: "application/vnd\.cups-pdf application/pdf (\d+) -"$', re.M)


def chain_for(cups, job, log):
    """Return (filter chain lines, started programs) for a job from error_log."""
    chain, started = [], []
    grab = False
    for line in log.splitlines():
        if '[Job %d] ' % job not in line:
            continue
        msg = line.split('[Job %d] ' % job, 1)[1]
        if re.match(r'\d+ filters? for job:', msg):
            grab, chain = True, []
            continue
        if grab and re.match(r'\S+ \(.* to .*, cost \d+\)$', msg):
            chain.append(msg)
            continue
        grab = False
        m = re.match(r'Started (filter|backend) \S+/(\S+) \(PID', msg)
        if m:
            started.append(m.group(2))
    return chain, started


def describe_file(path):
    """Return a short description of a received document."""
    data = path.read_bytes()
    kind = ('empty' if not data else 'PDF' if data.startswith(b'%PDF')
            else 'PS' if data.startswith(b'%!') else 'JPEG' if data.startswith(b'\xff\xd8')
            else 'PCL-XL' if b') HP-PCL XL' in data[:300] else repr(data[:24]))
    extra = ''
    if kind == 'PDF':
        text = ' '.join(' '.join(h.pdftotext_pages(path)).split())
        extra = ' text=%r' % text[:40]
    return '%s %d bytes%s' % (kind, len(data), extra)


def add_lines(ppd, *lines):
    """Return ppd with lines added before *PCFileName."""
    return ppd.replace('*PCFileName:', '\n'.join(lines) + '\n*PCFileName:', 1)


def make_inputs(env):
    """Create one input file per type: pdf, text, png, jpeg, postscript."""
    inputs = {
        'pdf': h.make_pdf(env.path / 'in.pdf', pages=2),
        'text': env.path / 'in.txt',
        'png': h.make_png(env.path / 'in.png'),
        'jpeg': env.path / 'in.jpg',
        'ps': env.path / 'in.ps',
    }
    inputs['text'].write_text('plain text input\n')
    h.run_checked(['pdftoppm', '-jpeg', '-r', '10', '-singlefile', inputs['pdf'],
                   env.path / 'in'])
    inputs['ps'].write_text('%!PS-Adobe-3.0\n/Helvetica findfont 24 scalefont setfont\n'
                            '72 700 moveto (PostScript input) show showpage\n')
    for f in inputs.values():
        f.chmod(0o644)
    return inputs


def main():
    """Run every variant and print the observations."""
    h.skip_unless_root('cupsd', 'ippeveprinter', 'lpadmin', 'pdftotext', 'pdftoppm')
    verbose = '-v' in sys.argv
    with h.TestEnv('probe') as env:
        dummy = env.path / 'pgdummy'
        dummy.write_text(DUMMY)
        marker = h.make_pdf(env.path / 'marker.pdf', text='DUMMY OUTPUT')
        cups = h.Cupsd(env, filters=[dummy], setenv={'PG_MARKER_PDF': marker})
        inputs = make_inputs(env)
        printer = h.IppEvePrinter(env, formats='application/pdf,application/octet-stream')
        # Like many real printers: JPEG and Apple raster besides PDF.
        multi = h.IppEvePrinter(env, name='multi', formats=(
            'application/pdf,image/jpeg,image/urf,image/pwg-raster,application/octet-stream'))
        # ippeveprinter rejects the PCL-XL driver's output (PJL header, not
        # auto-typed), so classic-driver queues print to a capture backend.
        capture = cups.capture_uri()

        cups.add_queue('pdfonly', printer.uri, model='everywhere')
        cups.add_queue('multi', multi.uri, model='everywhere')
        everywhere = cups.queue_ppd('pdfonly').read_text()
        multippd = cups.queue_ppd('multi').read_text()
        for q, ppd in (('pdf-only printer', everywhere), ('multi-format printer', multippd)):
            print('driverless PPD for %s:\n  %s' % (q, '\n  '.join(
                re.findall(r'^\*cupsFilter2:.*$', ppd, re.M))))
        classic = pathlib.Path('/usr/share/ppd/cupsfilters/pxlmono.ppd').read_text()
        # (A PostScript PPD cannot be tried here: pdftops needs pstops from
        # the "cups" package, which this machine lacks.)
        replaced = r'*cupsFilter2: "application/vnd.cups-pdf application/pdf \1 pgdummy"'
        only_pdf = re.sub(r'^\*cupsFilter2:.*\n', '', multippd, flags=re.M)
        only_pdf = add_lines(only_pdf, NULL_FILTER.sub(replaced, NULL_FILTER.search(
            multippd).group(0)))

        # name: (queue, ppd text, device URI, device printer or None for capture)
        variants = [
            ('a0 driverless, unchanged', 'a0', everywhere, printer),
            ('a1 driverless, null cupsFilter2 replaced by pgdummy', 'a1',
             NULL_FILTER.sub(replaced, everywhere), printer),
            ('a2 driverless + cupsPreFilter vnd.cups-pdf', 'a2', add_lines(
                everywhere, '*cupsPreFilter: "application/vnd.cups-pdf 0 pgdummy"'), printer),
            ('a3 driverless + cupsPreFilter application/pdf', 'a3', add_lines(
                everywhere, '*cupsPreFilter: "application/pdf 0 pgdummy"'), printer),
            ('a4 driverless multi-format, only the PDF line replaced', 'a4',
             NULL_FILTER.sub(replaced, multippd), multi),
            ('a5 driverless multi-format, every other cupsFilter2 line removed', 'a5',
             only_pdf, multi),
            ('b0 pxlmono, unchanged', 'b0', classic, None),
            ('b1 pxlmono + cupsPreFilter vnd.cups-pdf', 'b1', add_lines(
                classic, '*cupsPreFilter: "application/vnd.cups-pdf 0 pgdummy"'), None),
            ('b2 pxlmono + cupsPreFilter application/pdf', 'b2', add_lines(
                classic, '*cupsPreFilter: "application/pdf 0 pgdummy"'), None),
        ]
        for name, queue, ppd, device in variants:
            path = env.path / ('%s.ppd' % queue)
            path.write_text(ppd)
            cups.add_queue(queue, device.uri if device else capture, ppd=path)
            print('\n=== %s (queue %s)' % (name, queue))
            if verbose:
                print('  PPD: ' + '\n  PPD: '.join(re.findall(
                    r'^\*cups(?:Filter2?|PreFilter):.*$', ppd, re.M)))
            jobs = [(kind, cups.submit(queue, f, title='MARK-%s' % kind))
                    for kind, f in inputs.items()]
            jobs.append(('pdf -o raw', cups.submit(queue, inputs['pdf'], title='MARK-raw',
                                                   options={'raw': None})))
            for kind, job in jobs:
                attrs = cups.wait_job(job, SETTLED, timeout=60)
                chain, started = chain_for(cups, job, cups.error_log())
                print('  %-10s job %-3d %-9s started: %s' % (
                    kind, job, attrs['job-state'], ' -> '.join(started)))
                if verbose:
                    print(textwrap.indent('\n'.join(chain), '      chain: '))
            if device is None:
                files = [cups.capture_dir / ('%d.prn' % job) for _, job in jobs]
            else:
                files = device.wait_files(len(device.received_files()))[-len(jobs):]
            for f in files:
                print('    device got %-28s %s' % (f.name, describe_file(f)))

        print('\n=== filter exits 1 (FAIL: no output; PARTIAL: after writing all of it)')
        for queue, label, mode in (('a1', 'dummy last (a1)', 'FAIL'),
                                   ('a1', 'dummy last (a1)', 'PARTIAL'),
                                   ('b1', 'dummy before driver (b1)', 'FAIL'),
                                   ('b1', 'dummy before driver (b1)', 'PARTIAL')):
            before = len(printer.received_files())
            pjobs = len(printer.jobs())
            mark = cups.log_mark()
            job = cups.submit(queue, inputs['pdf'], title='%s-%s' % (mode, queue))
            cups.wait_job(job, SETTLED, timeout=60)
            time.sleep(1)               # let the backend finish, if it runs
            attrs = cups.job_attrs(job)
            pattrs = cups.printer_attrs(queue)
            chain, started = chain_for(cups, job, cups.error_log())
            print('  %s %s: job %d %s reasons=%s' % (label, mode, job, attrs['job-state'],
                                                    attrs.get('job-state-reasons')))
            print('    job-printer-state-message=%r' % attrs.get('job-printer-state-message'))
            print('    printer-state=%s reasons=%s message=%r accepting=%s' % (
                pattrs['printer-state'], pattrs.get('printer-state-reasons'),
                pattrs.get('printer-state-message'), pattrs.get('printer-is-accepting-jobs')))
            print('    started: %s' % ' -> '.join(started))
            new_files = printer.received_files()[before:]
            print('    ippeveprinter: %d new job(s), files: %s; capture backend: %s' % (
                len(printer.jobs()) - pjobs,
                ', '.join('%s (%s)' % (f.name, describe_file(f)) for f in new_files) or 'none',
                'not run' if queue != 'b1' or cups.captured(job) is None
                else describe_file(cups.capture_dir / ('%d.prn' % job))))
            for line in cups.error_log(mark).splitlines():
                if '[Job %d]' % job in line and re.search(
                        r'DUMMY|exit|stopped|[Bb]ackend|signal|status', line):
                    print('    log: %s' % line.split('] ', 2)[-1][:150])
            follow = cups.submit(queue, inputs['pdf'], title='follow-up')
            print('    next job on the queue: %s'
                  % cups.wait_job(follow, SETTLED, timeout=60)['job-state'])
    return 0


if __name__ == '__main__':
    sys.exit(main())
