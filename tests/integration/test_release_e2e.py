#!/usr/bin/env python3
"""Hold/release end to end: private slapd (LDAPS with a test CA), cupsd and
ippeveprinters. Jobs are held on submit; the owner's resume, move and
-H immediate do not print them; only a release with the right LDAP password
does; printers in an error state (toner-empty, media-empty, a mid-job jam)
are refused and the job needs a new release; Find-Me releases at the station's
printer; held jobs survive a cupsd restart. Run on the stock CUPS policy, the
worst case: the backend is the enforcement point."""

import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

OWNER, OTHER, BADGED = 'daemon', 'games', 'mail'  # real local accounts; the directory knows them too
PASSWORDS = {OWNER: 'daemon-secret', OTHER: 'games-secret', BADGED: 'mail-secret'}
BADGES = {OWNER: '1006', OTHER: '1005', BADGED: '1004'}

JAM = """#!/bin/sh
# A printer that jams while printing: the state lines set printer-state-reasons.
echo "STATE: +media-jam" >&2
sleep 6
echo "STATE: -media-jam" >&2
exit 0
"""

SLOW = """#!/bin/sh
# A slow printer: the job is still printing when it is canceled.
sleep 60
exit 0
"""


class Rig:
    """Everything one test run needs."""

    def __init__(self, env):
        """Start slapd, cupsd and the printers; create the queues."""
        self.env = env
        self.slapd = h.Slapd(env)
        for uid, pw in PASSWORDS.items():
            self.slapd.add_user(uid, pw, employeeNumber=BADGES[uid], groups=['letterhead'] if uid == OTHER else [])
        self.slapd.start()
        self.ldap_conf = pgsite.ldap_conf(env, self.slapd) + ['LDAPTimeout 5', 'LDAPGroupAttribute memberUid',
                          '<Queue letterhead>', 'ReleaseGroup cn=letterhead,%s' % self.slapd.groups_dn, '</Queue>']
        self.site = pgsite.Site(env, self.ldap_conf)
        self.cupsd = pgsite.cupsd_for(env, self.site, policy='stock')
        jam = env.path / 'jam.sh'
        jam.write_text(JAM)
        jam.chmod(0o755)
        slow = env.path / 'slow.sh'
        slow.write_text(SLOW)
        slow.chmod(0o755)
        self.p1 = h.IppEvePrinter(env, 'p1')
        self.p2 = h.IppEvePrinter(env, 'p2')
        self.p3 = h.IppEvePrinter(env, 'p3', command=str(jam))
        self.p4 = h.IppEvePrinter(env, 'p4', command=str(slow))
        for q, p in (('sec1', self.p1), ('sec2', self.p2), ('jam', self.p3), ('slow', self.p4), ('letterhead', self.p2)):
            self.secure_queue(q, p)
        self.cupsd.run(['lpadmin', '-p', 'findme', '-v', 'printguard:findme', '-P',
                        self.cupsd.queue_ppd('sec1'), '-E'])
        self.pdf = env.path / 'doc.pdf'
        h.make_pdf(self.pdf, pages=2, text='confidential content')
        self.pdf.chmod(0o644)

    def secure_queue(self, name, printer):
        """A driverless queue with the watermark filter, then wrapped by printguard:."""
        self.cupsd.add_queue(name, printer.uri, model='everywhere')
        self.site.cli('queue', 'enable', name, cupsd=self.cupsd)
        self.cupsd.run(['lpadmin', '-p', name, '-v', 'printguard:%s' % printer.uri])

    def submit(self, queue, user=OWNER, args=()):
        """Submit the test PDF as user; wait until the backend has parked it."""
        jid = self.cupsd.submit(queue, self.pdf, user=user, args=args)
        self.cupsd.wait_job(jid, 'pending-held', timeout=60)
        return jid

    def release(self, printer, user=OWNER, password=None, *args):
        """Run printguard release at printer; return (exit status, output)."""
        pw = PASSWORDS.get(user, 'x') if password is None else password
        if '\0' in user:  # argv cannot carry NUL: type the name at the prompt instead
            who, typed = [], user + '\n'
        else:
            who, typed = ['--user', user], ''
        r = self.site.cli('release', '-d', printer, *who, '--password-stdin', '--wait', '25', *args,
                          input=typed + pw + '\n', cupsd=self.cupsd, check=False)
        return r.returncode, r.stdout + r.stderr

    def owner_cmd(self, args, user=OWNER):
        """Run a CUPS client command as a job owner (no root fallback)."""
        return self.cupsd.run(args, user=user, check=False)

    def settle(self, seconds=3):
        """Give cupsd time to do anything it would do by itself."""
        time.sleep(seconds)


def events(site, event):
    """Number of audit records of one event type."""
    return len(site.events(event))


def expect(cond, what):
    """Fail with a message."""
    if not cond:
        raise AssertionError(what)


def test_held_and_bypasses(r):
    """Held on submit; resume, move and -H immediate print nothing."""
    j = r.submit('sec1')
    expect(not r.p1.received_files(), 'printed before release')
    expect(events(r.site, 'hold') >= 1, 'hold not audited')
    res = r.owner_cmd(['lp', '-i', str(j), '-H', 'resume'])
    expect(res.returncode == 0, 'stock policy lets the owner resume: %s' % res.stderr)
    r.cupsd.wait_job(j, 'pending-held', timeout=60)
    res = r.owner_cmd(['lpmove', str(j), 'sec2'])
    expect(res.returncode == 0, 'lpmove: %s' % res.stderr)
    r.owner_cmd(['lp', '-i', str(j), '-H', 'resume'])
    r.settle(2)
    r.cupsd.wait_job(j, 'pending-held', timeout=60)
    r.cupsd.run(['lpmove', str(j), 'sec1'])
    k = r.submit('sec1', args=['-H', 'immediate'])
    r.settle()
    expect(not r.p1.received_files() and not r.p2.received_files(), 'a bypass printed')
    expect(events(r.site, 'bypass') >= 2, 'bypass attempts not audited: %s' % r.site.events('bypass'))
    return j, k


def test_denied_logins(r, j):
    """Wrong password, unknown user, injection, wrong CA, slapd down: denied, still held."""
    for user, pw in ((OWNER, 'wrong'), ('nosuchuser', 'x'), (OWNER, ''), ('*', PASSWORDS[OWNER]),
                     ('daemon)(uid=*', PASSWORDS[OWNER]), ('\\', PASSWORDS[OWNER]), ('d*', PASSWORDS[OWNER]),
                     ('x' * 5000, PASSWORDS[OWNER]), (OWNER + '\x00', PASSWORDS[OWNER])):
        code, out = r.release('sec1', user, pw, '--all')
        expect(code != 0 and 'denied' in out.lower() or 'error' in out.lower(), 'login %r: %d %s' % (user[:40], code, out))
        expect('released' not in out and 'printed' not in out, out)
    r.site.write_conf([l if not l.startswith('LDAPCAFile') else 'LDAPCAFile %s' % r.slapd.wrong_ca_file
                       for l in r.ldap_conf])
    code, out = r.release('sec1', OWNER, None, '--all')
    expect(code == 1 and 'denied' in out, 'wrong CA: %d %s' % (code, out))
    r.site.write_conf(r.ldap_conf)
    secret = r.env.path / 'ldap.secret'
    secret.chmod(0o644)
    code, out = r.release('sec1', OWNER, None, '--all')
    expect(code == 1 and 'chmod 0600' in out, 'a readable bind password file was used: %d %s' % (code, out))
    secret.chmod(0o600)
    r.slapd.stop()
    for _ in range(6):  # an outage is not the user's failure: no lockout from it
        code, out = r.release('sec1', OWNER, None, '--all')
        expect(code == 1 and 'denied' in out, 'slapd stopped: %d %s' % (code, out))
    r.slapd.start()
    expect(r.cupsd.job_state(j) == 'pending-held', 'job left the held state')
    expect(not r.p1.received_files(), 'printed after a denied login')
    expect(events(r.site, 'auth-fail') >= 8, 'failures not audited')
    expect(events(r.site, 'auth-error') >= 8, 'directory and TLS errors not audited')
    code, out = r.release('sec1', OWNER.upper(), PASSWORDS[OWNER], '--list')
    expect(code == 0 and 'authenticated as %s ' % OWNER in out, 'outage locked the user out, or no canonical uid: %s' % out)


def test_release_prints_only_that_job(r, j, k):
    """The right password releases exactly the job asked for; it arrives stamped."""
    code, out = r.release('sec1', OWNER, None, '--job', str(j))
    expect(code == 0 and 'printed' in out, 'release: %d %s' % (code, out))
    files = r.p1.wait_files(1, timeout=30)
    codes = pgsite.codes_in(files[0])
    expect(len(codes) == 2 and all(len(c) == 1 for c in codes), 'not stamped: %r' % codes)
    v = r.site.cli('verify', codes[0][0]).stdout
    expect('user:     %s' % OWNER in v and 'queue:    sec1' in v, v)
    r.settle(2)
    expect(r.cupsd.job_state(k) == 'pending-held', 'releasing job A released job B')
    expect(len(r.p1.received_files()) == 1, 'more than one document printed')
    # The owner restarts the printed job (its document is kept): held, not printed again.
    r.cupsd.wait_job(j, 'completed', timeout=30)
    res = r.owner_cmd(['lp', '-i', str(j), '-H', 'restart'])
    expect(res.returncode == 0, 'stock policy lets the owner restart: %s' % res.stderr)
    r.cupsd.wait_job(j, 'pending-held', timeout=60)
    r.settle(2)
    expect(len(r.p1.received_files()) == 1, 'a restarted job printed again without a release')


def test_printer_errors(r, k):
    """toner-empty and media-empty refuse the release; fixing the printer prints nothing by itself."""
    for make_error, reason in ((lambda: r.p1.set_supply(supply1=0), 'toner-empty'),
                               (lambda: r.p1.set_media_empty(), 'media-empty')):
        make_error()
        h.wait_for(lambda: any(x.startswith(reason) for x in r.p1.state_reasons()), 10, 0.1, reason)
        code, out = r.release('sec1', OWNER, None, '--job', str(k))
        expect(code == 3 and 'still held' in out and reason in out, '%s: %d %s' % (reason, code, out))
        attrs = r.cupsd.job_attrs(k)
        expect(attrs['job-state'] == 'pending-held', 'job not held after refusal')
        expect(reason in str(attrs.get('job-printer-state-message')), 'the job does not say why: %r' % attrs)
        r.p1.clear_errors()
        r.settle(3)
        expect(r.cupsd.job_state(k) == 'pending-held', 'job printed by itself after the error cleared')
        expect(len(r.p1.received_files()) == 1, 'a refused job reached the printer')
    expect(events(r.site, 'refuse') >= 2, 'refusals not audited')
    code, out = r.release('sec1', OWNER, None, '--job', str(k))
    expect(code == 0 and 'printed' in out, 'release after fixing: %d %s' % (code, out))
    r.p1.wait_files(2, timeout=30)


def test_mid_job_jam(r):
    """A jam while printing: device job canceled, job held, nothing prints until released again."""
    j = r.submit('jam')
    code, out = r.release('jam', OWNER, None, '--job', str(j))
    expect(code == 3 and 'media-jam' in out, 'jam release: %d %s' % (code, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'jammed job not held again')
    h.wait_for(lambda: all(x.get('job-state') in ('canceled', 'aborted', 7, 8) for x in r.p3.jobs()), 20, 0.2,
               'device job to be canceled')
    before = len(r.p3.jobs())
    r.settle(8)  # the jam clears by itself after 6 s
    expect(r.cupsd.job_state(j) == 'pending-held', 'job printed by itself after the jam cleared')
    expect(len(r.p3.jobs()) == before, 'a new device job appeared without a release')
    expect(events(r.site, 'interrupted') >= 1, 'interruption not audited')


def test_cancel_while_sending(r):
    """Canceling a job while it is sent cancels it on the device too."""
    j = r.submit('slow')
    r.site.cli('release', '-d', 'slow', '--user', OWNER, '--password-stdin', '--job', str(j), '--wait', '0',
               input=PASSWORDS[OWNER] + '\n', cupsd=r.cupsd)
    h.wait_for(lambda: r.p4.jobs('not-completed'), 20, 0.1, 'the device to get the job')
    r.cupsd.cancel(j)

    def device_canceled():
        # A device job being canceled stays "processing" with processing-to-stop-point
        # until ippeveprinter's -c command ends, then becomes "canceled".
        resp = r.p4.ipp.request('Get-Jobs', '/ipp/print', [
            (h.T_URI, 'printer-uri', r.p4.uri), (h.T_KEYWORD, 'which-jobs', 'all'),
            (h.T_KEYWORD, 'requested-attributes', ['job-id', 'job-state', 'job-state-reasons'])])
        jobs = resp.group(h.TAG_JOB)
        reasons = lambda x: x.get('job-state-reasons') if isinstance(x.get('job-state-reasons'), list) else [x.get('job-state-reasons')]
        return jobs and all(x.get('job-state') in ('canceled', 'aborted') or 'processing-to-stop-point' in reasons(x)
                            for x in jobs)
    try:
        h.wait_for(device_canceled, 30, 0.2, 'the device job to be canceled')
    except TimeoutError:
        print(r.cupsd.job_log(j, 100000)[-8000:], '\ndevice jobs:', r.p4.jobs(), file=sys.stderr)
        raise


def test_findme(r):
    """Submit to findme, release at printer 2: the file arrives at printer 2 only."""
    n1, n2 = len(r.p1.received_files()), len(r.p2.received_files())
    j = r.submit('findme')
    code, out = r.release('sec1', OWNER, None, '--list')
    expect(str(j) in out and 'findme' in out, 'Find-Me job not listed at another station: %s' % out)
    code, out = r.release('sec2', OWNER, None, '--job', str(j))
    expect(code == 0 and 'printed' in out, 'findme release: %d %s' % (code, out))
    r.p2.wait_files(n2 + 1, timeout=30)
    expect(len(r.p1.received_files()) == n1, 'Find-Me job printed on printer 1')


def test_restart_keeps_held_jobs(r):
    """cupsd restarted with held jobs: still held, nothing lost or printed."""
    j = r.submit('sec1')
    n = len(r.p1.received_files())
    r.cupsd.restart()
    r.settle(2)
    expect(r.cupsd.job_state(j) == 'pending-held', 'held job lost or released by a restart')
    expect(len(r.p1.received_files()) == n, 'restart printed a held job')
    code, out = r.release('sec1', OWNER, None, '--job', str(j))
    expect(code == 0 and 'printed' in out, 'release after restart: %d %s' % (code, out))


def badge_release(r, badge, pin, *args):
    """printguard release --badge at sec1; return (exit status, output)."""
    res = r.site.cli('release', '-d', 'sec1', '--badge', badge, '--password-stdin', '--wait', '25', *args,
                     input=pin + '\n', cupsd=r.cupsd, check=False)
    return res.returncode, res.stdout + res.stderr


def test_badge_and_pin(r):
    """Badge + PIN releases; a wrong PIN, an unknown or injected badge do not; the badge locks out."""
    r.site.cli('pin', 'set', BADGED, '--pin-stdin', input='4711\n')
    expect(r.site.cli('pin', 'set', BADGED, '--pin-stdin', input='12\n', check=False).returncode != 0,
           'a 2-digit PIN was accepted')
    j = r.submit('sec1', user=BADGED)
    for badge, pin in ((BADGES[BADGED], '0000'), ('999999', '4711'), ('*', '4711'), (BADGES[OWNER], '4711')):
        code, out = badge_release(r, badge, pin, '--all')
        expect(code == 1 and 'denied' in out, 'badge %s pin %s: %d %s' % (badge, pin, code, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'a bad badge login released a job')
    code, out = badge_release(r, BADGES[BADGED], '4711', '--job', str(j))
    expect(code == 0 and 'printed' in out and 'authenticated as %s' % BADGED in out, 'badge release: %d %s' % (code, out))
    # Five wrong PINs lock the badge (and its user) out, the right PIN included.
    k = r.submit('sec1', user=BADGED)
    for _ in range(5):
        badge_release(r, BADGES[BADGED], '0000', '--all')
    code, out = badge_release(r, BADGES[BADGED], '4711', '--all')
    expect(code == 1 and 'too many failed attempts' in out, 'no badge lockout: %d %s' % (code, out))
    expect(r.cupsd.job_state(k) == 'pending-held', 'a locked-out badge released a job')
    expect(len(r.site.events('pin-set')) == 1, 'PIN change not audited')


def test_release_group(r):
    """On a queue with ReleaseGroup only the group's members can release."""
    n = len(r.p2.received_files())
    j = r.submit('letterhead', user=OWNER)
    code, out = r.release('letterhead', OWNER, None, '--job', str(j))
    expect(code == 3 and 'not a member' in out, 'non-member released: %d %s' % (code, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'non-member job left the held state')
    k = r.submit('letterhead', user=OTHER)
    code, out = r.release('letterhead', OTHER, None, '--job', str(k))
    expect(code == 0 and 'printed' in out, 'member release: %d %s' % (code, out))
    r.p2.wait_files(n + 1, timeout=30)
    expect(len(r.p2.received_files()) == n + 1, 'the non-member job printed')


def test_discovery(r):
    """lpinfo -v lists the printguard backend."""
    out = r.cupsd.run(['lpinfo', '-v'], check=False).stdout
    expect('printguard' in out, 'lpinfo -v does not show printguard: %r' % out)


def test_lockout(r):
    """Five failures lock the user out; the right password is then refused too."""
    j = r.submit('sec1', user=OTHER)
    for name in (OTHER, OTHER.upper(), OTHER.capitalize(), OTHER, OTHER.upper()):  # case does not reset the count
        r.release('sec1', name, 'wrong', '--all')
    code, out = r.release('sec1', OTHER, PASSWORDS[OTHER], '--all')
    expect(code == 1 and 'too many failed attempts' in out, 'no lockout: %d %s' % (code, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'locked-out user released a job')


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter', 'slapd', 'openssl')
    with h.TestEnv() as env:
        r = Rig(env)
        j, k = test_held_and_bypasses(r)
        test_denied_logins(r, j)
        test_release_prints_only_that_job(r, j, k)
        test_printer_errors(r, k)
        test_mid_job_jam(r)
        test_cancel_while_sending(r)
        test_findme(r)
        test_restart_keeps_held_jobs(r)
        test_release_group(r)
        test_discovery(r)
        test_badge_and_pin(r)
        test_lockout(r)
        chain = r.site.cli('log', 'verify').stdout
        expect('every record verifies' in chain, chain)
        print('hold/release end to end: bypasses refused, logins checked, printer errors gated, Find-Me, restart')
    return 0


if __name__ == '__main__':
    sys.exit(main())
