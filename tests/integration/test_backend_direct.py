#!/usr/bin/env python3
"""The printguard backend run directly, as cupsd runs it, against ippeveprinter:
a released job is sent even when the device URI carries backend options
(?waitjob=false: the state query must ask the printer's own URI), the release
is single-use, and a job without a release is held, never sent."""

import os
import pathlib
import subprocess
import sys
import uuid

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

OWNER = 'daemon'


def run_backend(env, site, device_uri, job_id, job_uuid, pdf):
    """Run the backend once like cupsd (argv + environment); return (status, stderr)."""
    e = {'PATH': '/usr/bin:/bin', 'LANG': 'C', 'CUPS_SERVERBIN': '/usr/lib/cups', 'CONTENT_TYPE': 'application/pdf',
         'FINAL_CONTENT_TYPE': 'application/pdf', 'PRINTER': 'q', 'DEVICE_URI': device_uri, 'TMPDIR': str(env.path),
         'CUPS_SERVER': str(env.path / 'no-cupsd.sock'), 'PRINTGUARD_CONF': str(site.conf)}
    args = [str(pgsite.program('backends/printguard')), str(job_id), OWNER, 'title', '1', 'job-uuid=%s' % job_uuid,
            str(pdf)]
    r = subprocess.run(args, env=e, capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


def main():
    h.skip_unless_root('ippeveprinter')
    if not os.access('/usr/lib/cups/backend/ipp', os.X_OK):
        print('SKIP: no /usr/lib/cups/backend/ipp')
        return h.SKIP
    with h.TestEnv('backend-direct') as env:
        site = pgsite.Site(env, ['Watermark Off'])
        printer = h.IppEvePrinter(env)
        pdf = h.make_pdf(env.path / 'doc.pdf')
        uri = 'printguard:%s?waitjob=false' % printer.uri
        ju = 'urn:uuid:%s' % uuid.uuid4()

        status, err = run_backend(env, site, uri, 7, ju, pdf)
        assert status == 3, 'no release: must hold (3), got %d\n%s' % (status, err)
        assert not printer.received_files(), 'sent without a release'

        site.grant_release(ju, 7, OWNER, 'q')
        status, err = run_backend(env, site, uri, 7, ju, pdf)
        assert status == 0, 'released job with ?waitjob=false in the device URI: exit %d\n%s' % (status, err)
        printer.wait_files(1, timeout=30)

        status, err = run_backend(env, site, uri, 7, ju, pdf)
        assert status == 3, 'release used twice: exit %d\n%s' % (status, err)
        assert len(printer.received_files()) == 1, 'a used release printed again'
    print('PASS')
    return h.PASS


if __name__ == '__main__':
    sys.exit(main())
