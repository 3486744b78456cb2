#!/usr/bin/env python3
"""printguard release with ReleaseAuth PAM, end to end: a private cupsd holding
jobs, slapd for badges, and the PAM service "printguard" run under pam_wrapper
from a temp dir (never /etc/pam.d), stacked as the shipped sample is:
pam_printguard (badge or user name + PIN) sufficient, then pam_matrix as the
password database. The right password releases and prints; a wrong one, an
account pam_matrix refuses, and the station's lockout deny and print nothing;
a badge + PIN goes through pam_printguard and its uid mapping; a ReleaseGroup
listing member DNs is checked with the user's DN found after PAM."""

import os
import pathlib
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

OWNER, BADGED, NOACCOUNT = 'daemon', 'mail', 'games'  # real local accounts (job owners)
PAM_PASSWORDS = {OWNER: 'daemon-pam', BADGED: 'mail-pam', NOACCOUNT: 'games-pam'}
BADGES = {OWNER: '1006', BADGED: '1004'}


def expect(cond, what):
    """Fail with a message."""
    if not cond:
        raise AssertionError(what)


class Rig:
    """slapd, cupsd, one printer behind two printguard queues, and the PAM service."""

    def __init__(self, env, wrapper, matrix):
        """Start everything; write the pam_wrapper service dir."""
        self.env = env
        self.slapd = h.Slapd(env, ldif=(
            'dn: cn=colour,%s\nobjectClass: groupOfNames\ncn: colour\nmember: %s\n\n'
            % ('ou=groups,' + h.Slapd.SUFFIX, 'uid=%s,ou=people,%s' % (OWNER, h.Slapd.SUFFIX))))
        for uid in (OWNER, BADGED):
            self.slapd.add_user(uid, 'ldap-' + uid, employeeNumber=BADGES[uid])
        self.slapd.start()
        self.site = pgsite.Site(env, ['ReleaseAuth PAM', 'LockoutFailures 3'] + pgsite.ldap_conf(env, self.slapd) + [
            'LDAPTimeout 5', '<Queue colour>', 'ReleaseGroup cn=colour,%s' % self.slapd.groups_dn, '</Queue>'])
        self.cupsd = pgsite.cupsd_for(env, self.site, policy='stock')
        self.p1 = h.IppEvePrinter(env, 'p1')
        for q in ('sec1', 'colour'):
            self.cupsd.add_queue(q, self.p1.uri, model='everywhere')
            self.site.cli('queue', 'enable', q, cupsd=self.cupsd)
            self.cupsd.run(['lpadmin', '-p', q, '-v', 'printguard:%s' % self.p1.uri])
        self.pdf = env.path / 'doc.pdf'
        h.make_pdf(self.pdf, pages=1, text='pam release')
        self.pdf.chmod(0o644)
        # The PAM service, as conf/pam.d/printguard stacks it, with pam_matrix
        # standing in for pam_unix / pam_sss.
        services = env.mkdir('pam.d')
        passdb = env.path / 'passdb'
        passdb.write_text('%s:%s:printguard\n%s:%s:printguard\n%s:%s:other-service\n'
                          % (OWNER, PAM_PASSWORDS[OWNER], BADGED, PAM_PASSWORDS[BADGED],
                             NOACCOUNT, PAM_PASSWORDS[NOACCOUNT]))
        module = pgsite.program('pam/pam_printguard.so')
        (services / 'printguard').write_text(
            'auth sufficient %s config=%s nodelay\n'
            'auth required %s passdb=%s\n'
            'account required %s passdb=%s\n' % (module, self.site.conf, matrix, passdb, matrix, passdb))
        (services / 'other').write_text('# nothing else\n')
        asan = os.environ.get('ASAN_OPTIONS', '')
        self.pam_env = {
            'LD_PRELOAD': wrapper, 'PAM_WRAPPER': '1', 'PAM_WRAPPER_SERVICE_DIR': str(services),
            # RTLD_DEEPBIND does not mix with ASan; pam_wrapper 1.1.4 reads the UID_ name.
            'PAM_WRAPPER_DISABLE_DEEPBIND': '1', 'UID_WRAPPER_DISABLE_DEEPBIND': '1',
            'ASAN_OPTIONS': (asan + ':' if asan else '') + 'verify_asan_link_order=0'}

    def submit(self, user, queue='sec1'):
        """Submit the PDF as user; wait until the backend has parked it."""
        jid = self.cupsd.submit(queue, self.pdf, user=user)
        self.cupsd.wait_job(jid, 'pending-held', timeout=60)
        return jid

    def release(self, who, secret, *args, badge=False, queue='sec1'):
        """printguard release in PAM mode, under pam_wrapper; (status, output)."""
        env = self.cupsd.client_env()
        env.pop('PRINTGUARD_CONF', None)
        env.update(self.pam_env)
        cmd = [str(pgsite.program('tools/printguard')), '-c', str(self.site.conf), 'release', '-d', queue,
               '--badge' if badge else '--user', who, '--password-stdin', '--wait', '25'] + list(args)
        r = subprocess.run(cmd, input=secret + '\n', capture_output=True, text=True, env=env, timeout=120)
        return r.returncode, r.stdout + r.stderr

    def station_records(self, event):
        """Records of one event made by the station (not by the module)."""
        return [e for e in self.site.events(event) if '[station ' in e['rest']]


def test_password_releases(r):
    """The right PAM password releases and prints the job."""
    j = r.submit(OWNER)
    code, out = r.release(OWNER, PAM_PASSWORDS[OWNER], '--job', str(j))
    expect(code == 0 and 'authenticated as %s at sec1' % OWNER in out and 'printed' in out,
           'PAM release: %d %s' % (code, out))
    r.p1.wait_files(1, timeout=30)
    ok = r.station_records('auth-ok')
    expect(ok and 'PAM service printguard' in ok[0]['rest'], 'auth-ok not recorded: %r' % ok)


def test_wrong_password_and_account(r):
    """A wrong password, or an account PAM refuses: denied, held, not printed."""
    n = len(r.p1.received_files())
    j = r.submit(OWNER)
    code, out = r.release(OWNER, 'wrong', '--job', str(j))
    expect(code == 1 and 'denied: wrong user name or password' in out, 'wrong password: %d %s' % (code, out))
    fails = r.station_records('auth-fail')
    expect(len(fails) == 1 and 'PAM authenticate' in fails[0]['rest'], 'failure not recorded once: %r' % fails)
    code, out = r.release(NOACCOUNT, PAM_PASSWORDS[NOACCOUNT], '--all')
    expect(code == 1 and 'denied: PAM account' in out, 'account refused by PAM: %d %s' % (code, out))
    errs = r.station_records('auth-error')
    expect(errs and 'PAM account' in errs[0]['rest'], 'account denial not recorded: %r' % errs)
    r.cupsd.wait_job(j, 'pending-held', timeout=10)
    expect(len(r.p1.received_files()) == n, 'a denied release printed')
    # Cleared by the right password (a success resets the count), so the lockout test starts at 0.
    code, out = r.release(OWNER, PAM_PASSWORDS[OWNER], '--job', str(j))
    expect(code == 0 and 'printed' in out, 'release after a failure: %d %s' % (code, out))
    r.p1.wait_files(n + 1, timeout=30)


def test_badge_and_pin(r):
    """A badge + PIN goes through pam_printguard, which maps the badge to its uid."""
    r.site.cli('pin', 'set', BADGED, '--pin-stdin', input='4711\n')
    n = len(r.p1.received_files())
    j = r.submit(BADGED)
    station_fails = len(r.station_records('auth-fail'))
    code, out = r.release(BADGES[BADGED], '0000', '--job', str(j), badge=True)
    expect(code == 1 and 'denied' in out, 'wrong PIN: %d %s' % (code, out))
    module_fails = [e for e in r.site.events('auth-fail') if '[PAM service printguard]' in e['rest']]
    expect(len(module_fails) == 2, 'the module records a wrong PIN under badge and user: %r' % module_fails)
    expect(len(r.station_records('auth-fail')) == station_fails,
           'the station counted the module\'s failure a second time')
    code, out = r.release(BADGES[BADGED], '4711', '--job', str(j), badge=True)
    expect(code == 0 and 'authenticated as %s at sec1' % BADGED in out and 'printed' in out,
           'badge release through PAM: %d %s' % (code, out))
    r.p1.wait_files(n + 1, timeout=30)
    ok = [e for e in r.site.events('auth-ok') if 'badge + PIN [PAM service printguard]' in e['rest']]
    expect(ok and ok[0]['user'] == BADGED, 'module auth-ok missing: %r' % ok)


def test_release_group_by_dn(r):
    """ReleaseGroup with member DNs: the user's DN is looked up after PAM."""
    n = len(r.p1.received_files())
    k = r.submit(BADGED, queue='colour')
    code, out = r.release(BADGES[BADGED], '4711', '--job', str(k), badge=True, queue='colour')
    expect(code == 3 and 'not a member' in out, 'non-member released: %d %s' % (code, out))
    j = r.submit(OWNER, queue='colour')
    code, out = r.release(OWNER, PAM_PASSWORDS[OWNER], '--job', str(j), queue='colour')
    expect(code == 0 and 'printed' in out, 'member release: %d %s' % (code, out))
    r.p1.wait_files(n + 1, timeout=30)
    expect(r.cupsd.job_state(k) == 'pending-held', 'the non-member job left the held state')


def test_station_lockout(r):
    """The station's own lockout applies around PAM: then the right password is refused."""
    n = len(r.p1.received_files())
    j = r.submit(OWNER)
    for name in (OWNER, OWNER.upper(), OWNER):
        code, out = r.release(name, 'wrong', '--all')
        expect(code == 1, 'wrong password accepted: %s' % out)
    code, out = r.release(OWNER, PAM_PASSWORDS[OWNER], '--job', str(j))
    expect(code == 1 and 'too many failed attempts' in out, 'no lockout in PAM mode: %d %s' % (code, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'a locked-out user released a job')
    expect(len(r.p1.received_files()) == n, 'a locked-out user printed')


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter', 'slapd', 'openssl')
    wrapper, matrix = os.environ.get('PG_PAM_WRAPPER', ''), os.environ.get('PG_PAM_MATRIX', '')
    if not (wrapper and matrix and os.path.exists(wrapper) and os.path.exists(matrix)):
        print('SKIP: pam_wrapper or pam_matrix not found (install libpam-wrapper libpamtest0-dev, re-run configure)')
        return h.SKIP
    with h.TestEnv() as env:
        r = Rig(env, wrapper, matrix)
        test_password_releases(r)
        test_wrong_password_and_account(r)
        test_badge_and_pin(r)
        test_release_group_by_dn(r)
        test_station_lockout(r)
        chain = r.site.cli('log', 'verify').stdout
        expect('every record verifies' in chain, chain)
        print('release through PAM: passwords, accounts, badge + PIN, ReleaseGroup by DN, station lockout')
    return 0


if __name__ == '__main__':
    sys.exit(main())
