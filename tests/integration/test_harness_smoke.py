#!/usr/bin/env python3
"""test_harness_smoke - the test harness can run cupsd, ippeveprinter and slapd.

Exit status: 0 pass, 1 fail, 77 skip (not root, or a needed program missing).
Environment: PG_SRCDIR, PG_BUILDDIR, PG_AVAHI_SHIM (see tests/harness/pgharness.py).
"""

import os
import pathlib
import subprocess
import sys
import time
import traceback

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h   # noqa: E402


def check(cond, what):
    """Raise AssertionError with a message unless cond holds."""
    if not cond:
        raise AssertionError(what)


def check_cups(env):
    """cupsd (hardened policy) + ippeveprinter: a PDF reaches the device."""
    cups = h.Cupsd(env, policy='hardened')
    printer = h.IppEvePrinter(env)
    cups.add_queue('smoke', printer.uri, model='everywhere')
    check(cups.queue_ppd('smoke').exists(), 'driverless PPD was written')

    pdf = h.make_pdf(env.path / 'smoke.pdf', pages=2, text='harness smoke test')
    job = cups.submit('smoke', pdf, title='smoke-job')
    attrs = cups.wait_job(job, 'completed', timeout=30)
    files = printer.wait_files(1, timeout=10)
    check(len(files) == 1, 'one document at the printer, got %s' % files)
    pages = h.pdftotext_pages(files[0])
    check(len(pages) == 2 and 'harness smoke test' in pages[0] and 'Page 2 of 2' in pages[1],
          'device got both pages: %r' % pages)
    check(cups.printer_attrs('smoke')['printer-state'] in ('idle', 'processing'),
          'queue not stopped')
    print('  job %d %s, device got %s' % (job, attrs['job-state'], files[0].name))

    # The hardened policy is in force: a local user cannot release root's
    # held job, neither as itself over the socket nor by claiming to be
    # root over TCP (the stock policy lets the TCP claim through).
    held = cups.submit('smoke', pdf, title='held-job', options={'job-hold-until': 'indefinite'})
    cups.wait_job(held, 'pending-held', timeout=10)
    own = cups.run(['lp', '-i', held, '-H', 'resume'], user='nobody', check=False)
    spoof = cups.run(['lp', '-U', 'root', '-i', held, '-H', 'resume'], user='nobody',
                     check=False, tcp=True)
    check(own.returncode != 0 and 'Forbidden' in own.stderr
          and spoof.returncode != 0 and 'Unauthorized' in spoof.stderr,
          'nobody could not release the job (%d: %s / %d: %s)' % (
              own.returncode, own.stderr.strip(), spoof.returncode, spoof.stderr.strip()))
    check(cups.job_state(held) == 'pending-held', 'held job still held')
    listing = cups.run(['lpstat', '-W', 'not-completed', '-o', 'smoke'], user='nobody')
    check('smoke-%d' % held in listing.stdout, 'nobody can list jobs via PeerCred: %r'
          % listing.stdout)
    check(cups.cancel(held, purge=True).ok, 'root can cancel the held job')
    check(len(printer.received_files()) == 1, 'held job never reached the device')
    check('smoke root %d ' % job in cups.page_log() and 'total 2' in cups.page_log(),
          'page_log counts the job: %r' % cups.page_log())


def ldapwhoami(slapd, uri, dn, password, ca=None):
    """Run ldapwhoami -x against uri; return the CompletedProcess."""
    return h.run_checked(['ldapwhoami', '-x', '-H', uri, '-D', dn, '-w', password],
                         check=False, timeout=20, env=slapd.client_env(ca))


def check_slapd(env):
    """slapd: simple bind, LDAPS with the right CA only, restart keeps data."""
    slapd = h.Slapd(env)
    dn = slapd.add_user('alice', 'alice-secret', employeeNumber='E1001',
                        groups=['printusers'])
    slapd.start()

    ok = ldapwhoami(slapd, slapd.uri, dn, 'alice-secret')
    check(ok.returncode == 0 and ok.stdout.strip() == 'dn:' + dn,
          'ldapwhoami as alice: %d %r %r' % (ok.returncode, ok.stdout, ok.stderr))
    bad = ldapwhoami(slapd, slapd.uri, dn, 'wrong')
    check(bad.returncode == 49, 'wrong password gives invalidCredentials (49), got %d'
          % bad.returncode)

    tls_ok = ldapwhoami(slapd, slapd.ldaps_uri, dn, 'alice-secret', ca=slapd.ca_file)
    check(tls_ok.returncode == 0, 'LDAPS with the right CA: %r' % tls_ok.stderr)
    tls_bad = ldapwhoami(slapd, slapd.ldaps_uri, dn, 'alice-secret', ca=slapd.wrong_ca_file)
    check(tls_bad.returncode != 0, 'LDAPS with the wrong CA must fail')
    no_ca = h.run_checked(['ldapwhoami', '-x', '-H', slapd.ldaps_uri, '-D', dn,
                           '-w', 'alice-secret'], check=False,
                          env=dict(slapd.client_env(), LDAPTLS_REQCERT='demand'))
    check(no_ca.returncode != 0, 'LDAPS without any CA must fail')

    found = h.run_checked(['ldapsearch', '-x', '-LLL', '-H', slapd.uri, '-b', slapd.SUFFIX,
                           '(|(employeeNumber=E1001)(memberUid=alice))', 'uid', 'cn'],
                          env=slapd.client_env()).stdout
    check('uid: alice' in found and 'cn: printusers' in found,
          'employeeNumber and group membership searchable: %r' % found)

    bob = slapd.add_user('bob', 'bob-secret', groups=['printusers'])    # while running
    slapd.stop()
    slapd.start()
    check(ldapwhoami(slapd, slapd.uri, bob, 'bob-secret').returncode == 0,
          'user added at run time survives a restart')
    print('  slapd %s / %s ok' % (slapd.uri, slapd.ldaps_uri))


def main():
    """Run the checks; verify that no process is left behind."""
    needed = ['cupsd', 'ippeveprinter', 'lpadmin', 'lp', 'lpstat', 'runuser',
              'slapd', 'slapadd', 'slaptest', 'ldapwhoami', 'ldapsearch', 'ldapmodify',
              'openssl', 'pdftotext']
    if not os.environ.get('PG_AVAHI_SHIM'):
        needed.append('cc')
    h.skip_unless_root(*needed)
    start = time.monotonic()
    env = h.TestEnv('smoke')
    marker = str(env.path)
    try:
        with env:
            check_cups(env)
            check_slapd(env)
    except Exception:
        traceback.print_exc()
        return h.FAIL
    finally:
        env.close()
    ps = subprocess.run(['ps', '-eo', 'pid=,args='], capture_output=True, text=True).stdout
    left = [line for line in ps.splitlines() if marker in line]
    if left:
        print('FAIL: processes left behind:\n' + '\n'.join(left))
        return h.FAIL
    if os.path.exists(marker) and not env.keep:
        print('FAIL: temp dir %s not removed' % marker)
        return h.FAIL
    print('PASS (%.1f s)' % (time.monotonic() - start))
    return h.PASS


if __name__ == '__main__':
    sys.exit(main())
