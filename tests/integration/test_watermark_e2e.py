#!/usr/bin/env python3
"""End to end through a real CUPS: lp a PDF, a text file and a PNG to a queue
whose watermark is required; the documents ippeveprinter receives carry the
stamp on every page, and printguard verify names user, queue and job. Then the
filter fails closed: without a key nothing reaches the printer."""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

USER = 'daemon'  # a real local account: jobs are submitted as it over the local socket


def check_stamped(site, cupsd, path, queue, job_id, pages):
    """Every page of path carries one valid code naming USER, queue and job."""
    codes = pgsite.codes_in(path)
    assert len(codes) == pages, '%s: %d pages, wanted %d' % (path, len(codes), pages)
    for i, page in enumerate(codes):
        assert len(page) == 1, 'page %d of %s has codes %r' % (i + 1, path, page)
    assert len({c[0] for c in codes}) == 1, 'pages of one job carry different codes'
    r = site.cli('verify', codes[0][0])
    assert 'valid signature' in r.stdout, r.stdout
    assert 'user:     %s' % USER in r.stdout, r.stdout
    assert 'queue:    %s' % queue in r.stdout, r.stdout
    assert 'job:      %d ' % job_id in r.stdout, r.stdout
    for page in h.pdftotext_pages(path):
        assert USER in page and queue in page, page


DRIVER = """#!/bin/sh
# pgtestdriver - a stand-in printer driver for a PPD queue: PDF in, PostScript out.
in="${TMPDIR:-/tmp}/pgtestdriver.$$.pdf"
if [ -n "$6" ]; then cp "$6" "$in"; else cat > "$in"; fi
/usr/bin/pdftops "$in" - ; rc=$?
rm -f "$in"
exit $rc
"""


def ppd_driver_queues(env, site):
    """On PPD-driver queues the filter runs on the job's PDF before the driver."""
    driver = env.path / 'pgtestdriver'
    driver.write_text(DRIVER)
    cupsd = pgsite.cupsd_for(env, site, name='cupsd-ppd', extra_filters=[driver])
    printer = h.IppEvePrinter(env, name='psprinter', formats='application/postscript')
    base = pathlib.Path('/usr/share/ppd/cupsfilters/Generic-PDF_Printer-PDF.ppd').read_text()
    ppd = '\n'.join(l for l in base.splitlines() if not l.startswith('*cupsFilter'))
    ppd += '\n*cupsFilter: "application/vnd.cups-pdf 0 pgtestdriver"\n'
    (env.path / 'driver.ppd').write_text(ppd)
    cupsd.add_queue('drv', printer.uri, ppd=env.path / 'driver.ppd')
    site.cli('queue', 'enable', 'drv', cupsd=cupsd)
    pdf = env.path / 'two.pdf'
    h.make_pdf(pdf, pages=2, text='driver queue content')
    pdf.chmod(0o644)
    png = env.path / 'pic.png'
    jobs = [cupsd.submit('drv', f, user=USER) for f in (pdf, png)]
    for j in jobs:
        cupsd.wait_job(j, 'completed', timeout=60)
    for j, f, pages in zip(jobs, printer.wait_files(2, timeout=30), (2, 1)):
        out = env.path / ('%s.pdf' % f.name)
        h.run_checked(['ps2pdf', f, out])
        check_stamped(site, cupsd, out, 'drv', j, pages)
        log = cupsd.job_log(j, 100000)
        assert log.index('filter/printguard-watermark') < log.index('filter/pgtestdriver'), log

    # A real cups-filters driver (gstopxl, PCL XL): the filter runs before it.
    cupsd.add_queue('pxl', printer.uri, ppd='/usr/share/ppd/cupsfilters/pxlmono.ppd')
    site.cli('queue', 'enable', 'pxl', cupsd=cupsd)
    j = cupsd.submit('pxl', pdf, user=USER)
    cupsd.wait_job(j, 'completed', timeout=60)
    log = cupsd.job_log(j, 100000)
    assert log.index('filter/printguard-watermark') < log.index('filter/gstopxl'), log
    assert 'printguard: stamped 2 page(s)' in log, log


def jpeg_printer(env, site, cupsd, pdf):
    """A printer that takes JPEG and URF directly: a JPEG job is stamped all the same."""
    printer = h.IppEvePrinter(env, name='multi', formats='application/pdf,image/jpeg,image/urf')
    cupsd.add_queue('multi', printer.uri, model='everywhere')
    assert '"image/jpeg image/jpeg 0 -"' in cupsd.queue_ppd('multi').read_text(), 'the printer takes no JPEG'
    site.cli('queue', 'enable', 'multi', cupsd=cupsd)
    jpg = env.path / 'photo.jpg'
    h.run_checked(['gs', '-q', '-sDEVICE=jpeg', '-r30', '-o', jpg, pdf])
    jpg.chmod(0o644)
    jid = cupsd.submit('multi', jpg, user=USER, args=['-o', 'document-format=image/jpeg'])
    cupsd.wait_job(jid, 'completed', timeout=60)
    got = printer.wait_files(1, timeout=30)[0]
    assert got.suffix == '.pdf', 'the JPEG went to the printer as %s, not through the stamp' % got.name
    check_stamped(site, cupsd, got, 'multi', jid, 1)


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter', 'pdftotext')
    with h.TestEnv() as env:
        site = pgsite.Site(env)
        cupsd = pgsite.cupsd_for(env, site)
        printer = h.IppEvePrinter(env)
        cupsd.add_queue('wm', printer.uri, model='everywhere')
        site.cli('queue', 'enable', 'wm', cupsd=cupsd)
        assert site.cli('queue', 'status', 'wm', cupsd=cupsd).returncode == 0
        site.cli('queue', 'enable', 'wm', cupsd=cupsd)  # idempotent

        pdf = env.path / 'three.pdf'
        h.make_pdf(pdf, pages=3, text='original content')
        txt = env.path / 'note.txt'
        txt.write_text('plain text document\n' * 5)
        png = env.path / 'pic.png'
        h.make_png(png)
        for f in (pdf, txt, png):
            f.chmod(0o644)

        jobs = []
        for f in (pdf, txt, png):
            jid = cupsd.submit('wm', f, user=USER, title='doc %s' % f.name)
            cupsd.wait_job(jid, 'completed', timeout=60)
            jobs.append(jid)
        files = printer.wait_files(3, timeout=30)
        check_stamped(site, cupsd, files[0], 'wm', jobs[0], 3)
        assert 'original content' in h.pdftotext_pages(files[0])[0]
        check_stamped(site, cupsd, files[1], 'wm', jobs[1], len(h.pdftotext_pages(files[1])))
        check_stamped(site, cupsd, files[2], 'wm', jobs[2], 1)
        for f in files:
            r = h.run_checked(['pdftoppm', '-r', '20', '-png', f, env.path / 'render'], check=False)
            assert r.returncode == 0 and not r.stderr.strip(), 'pdftoppm: %s' % r.stderr

        # Fail closed: no signing key, nothing printed, one clear line.
        (site.keys / 'current').rename(site.keys / 'current.off')
        mark = cupsd.log_mark()
        jid = cupsd.submit('wm', pdf, user=USER)
        h.wait_for(lambda: cupsd.job_state(jid) in ('processing-stopped', 'aborted', 'canceled', 'completed'),
                   60, 0.2, 'the job without a key to stop')
        attrs = cupsd.job_attrs(jid)
        assert attrs['job-state'] != 'completed', attrs
        time.sleep(2)
        assert len(printer.received_files()) == 3, 'a document reached the printer without a stamp'
        log = cupsd.error_log(mark)
        assert 'printguard: job stopped, nothing printed' in log and 'printguard keygen' in log, log[-3000:]
        msg = cupsd.printer_attrs('wm').get('printer-state-message', '')
        assert 'printguard' in msg, 'printer-state-message: %r' % msg
        (site.keys / 'current.off').rename(site.keys / 'current')
        jpeg_printer(env, site, cupsd, pdf)
        ppd_driver_queues(env, site)
        print('stamped PDF, text and PNG end to end on driverless and PPD-driver queues; fail-closed without a key')
    return 0


if __name__ == '__main__':
    sys.exit(h.main(main) if hasattr(h, 'main') else main())
