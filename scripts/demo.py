#!/usr/bin/env python3
"""demo.py - the whole printguard flow on private loopback services: a private
slapd, cupsd and ippeveprinter; a secure queue; a job held on submit, refused
while the printer is out of toner, released with an LDAP password, printed
with a watermark whose signature code traces it back. Run by scripts/demo.sh."""

import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / 'tests' / 'harness'))
os.environ.setdefault('PG_SRCDIR', str(HERE.parent))
os.environ.setdefault('PG_BUILDDIR', str(HERE.parent / 'build'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

USER, PASSWORD = 'daemon', 'demo-password'


def step(text):
    """Print a step heading."""
    print('\n== %s' % text, flush=True)


def show(text):
    """Print command output, indented."""
    for line in text.rstrip().splitlines():
        print('   ' + line)


def main():
    if os.geteuid() != 0:
        sys.exit('demo.py: run as root (the private cupsd runs filters as lp)')
    with h.TestEnv(prefix='printguard-demo-') as env:
        step('private slapd (LDAPS, test CA) with user %s' % USER)
        slapd = h.Slapd(env)
        slapd.add_user(USER, PASSWORD, employeeNumber='4711')
        slapd.start()
        site = pgsite.Site(env, pgsite.ldap_conf(env, slapd))
        show(site.cli('keys').stdout)

        step('private cupsd (hardened policy) and an IPP Everywhere printer (ippeveprinter)')
        cupsd = pgsite.cupsd_for(env, site)
        printer = h.IppEvePrinter(env, 'office')
        cupsd.add_queue('secure', printer.uri, model='everywhere')
        show(site.cli('queue', 'enable', 'secure', cupsd=cupsd).stdout)
        cupsd.run(['lpadmin', '-p', 'secure', '-v', 'printguard:%s' % printer.uri])
        show(cupsd.run(['lpstat', '-v']).stdout)

        step('%s prints a 2-page PDF: the job is held' % USER)
        pdf = env.path / 'salaries.pdf'
        h.make_pdf(pdf, pages=2, text='Quarterly salaries - confidential')
        pdf.chmod(0o644)
        job = cupsd.submit('secure', pdf, user=USER, title='salaries.pdf')
        cupsd.wait_job(job, 'pending-held', timeout=60)
        show(cupsd.run(['lpstat', '-o']).stdout)
        print('   documents at the printer: %d' % len(printer.received_files()))

        step('the printer runs out of toner; %s releases the job at the printer' % USER)
        printer.set_supply(supply1=0)
        h.wait_for(lambda: any(r.startswith('toner-empty') for r in printer.state_reasons()), 10, 0.1, 'toner-empty')
        r = site.cli('release', '-d', 'secure', '--user', USER, '--password-stdin', '--all', input=PASSWORD + '\n',
                     cupsd=cupsd, check=False)
        show(r.stdout)
        print('   documents at the printer: %d' % len(printer.received_files()))

        step('toner replaced: nothing prints by itself; %s releases again' % USER)
        printer.clear_errors()
        r = site.cli('release', '-d', 'secure', '--user', USER, '--password-stdin', '--all', input=PASSWORD + '\n',
                     cupsd=cupsd, check=False)
        show(r.stdout)
        received = printer.wait_files(1, timeout=30)[0]

        step('what the printer received (text of page 1)')
        show(h.pdftotext_pages(received)[0])

        step('a page leaks: who printed it?')
        code = pgsite.codes_in(received)[0][0]
        show(site.cli('verify', code).stdout)

        step('the audit log, and its hash chain')
        show(site.cli('log').stdout)
        show(site.cli('log', 'verify').stdout)
    print('\ndemo finished: every service it started is stopped and its temp dir removed')
    return 0


if __name__ == '__main__':
    sys.exit(main())
