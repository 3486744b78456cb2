#!/usr/bin/env python3
"""Fault injection end to end: the audit store unwritable (read-only for the
filters, a read-only or full file system), cupsd stopped while a release
station waits, slapd frozen or gone during authentication, ippeveprinter
killed mid-job. Nothing prints that was not released and stamped, no held job
is lost, and each fault gives a clear error. (A missing key on a Required
queue's filter is covered by test_watermark_e2e.py; here the station and
the backend.)"""

import errno
import grp
import os
import pathlib
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

OWNER, PASSWORD = 'daemon', 'owner-secret'

SLOW = """#!/bin/sh
# A printer that takes a while per job: there is time to break things meanwhile.
sleep 4
exit 0
"""


def expect(cond, what):
    """Fail with a message."""
    if not cond:
        raise AssertionError(what)


class Rig:
    """slapd, a site, cupsd, a slow printer; queue sec (hold/release) and wm (watermark only)."""

    def __init__(self, env):
        """Start everything."""
        self.env = env
        self.slapd = h.Slapd(env)
        self.slapd.add_user(OWNER, PASSWORD)
        self.slapd.start()
        self.conf_lines = pgsite.ldap_conf(env, self.slapd) + ['LDAPTimeout 2']
        self.site = pgsite.Site(env, self.conf_lines)
        self.cupsd = pgsite.cupsd_for(env, self.site)
        slow = env.path / 'slow.sh'
        slow.write_text(SLOW)
        slow.chmod(0o755)
        self.printer = h.IppEvePrinter(env, 'slow', command=str(slow))
        self.cupsd.add_queue('sec', self.printer.uri, model='everywhere')
        self.site.cli('queue', 'enable', 'sec', cupsd=self.cupsd)
        self.cupsd.run(['lpadmin', '-p', 'sec', '-v', 'printguard:%s' % self.printer.uri])
        self.fast = h.IppEvePrinter(env, 'fast')
        self.cupsd.add_queue('wm', self.fast.uri, model='everywhere')
        self.site.cli('queue', 'enable', 'wm', cupsd=self.cupsd)
        self.pdf = h.make_pdf(env.path / 'doc.pdf', pages=2, text='fault test page')

    def submit(self, pdf=None):
        """Submit as OWNER to sec; wait until it is held."""
        jid = self.cupsd.submit('sec', pdf or self.pdf, user=OWNER)
        self.cupsd.wait_job(jid, 'pending-held', timeout=60)
        return jid

    def release(self, *args, wait=30, timeout=90):
        """printguard release at sec as OWNER; return (status, output)."""
        r = self.site.cli('release', '-d', 'sec', '--user', OWNER, '--password-stdin', '--wait', str(wait), *args,
                          input=PASSWORD + '\n', cupsd=self.cupsd, check=False, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def start_release(self, *args, wait=30):
        """printguard release in the background; return its Popen (text, stdout+stderr piped)."""
        env = self.cupsd.client_env()
        cmd = [str(pgsite.program('tools/printguard')), '-c', str(self.site.conf), 'release', '-d', 'sec', '--user', OWNER,
               '--password-stdin', '--wait', str(wait)] + list(args)
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        p.stdin.write(PASSWORD + '\n')
        p.stdin.close()
        return p

    def printed(self):
        """Documents the printer has received."""
        return len(self.printer.received_files())


def finish(p, timeout):
    """Wait for a start_release() process; return its output."""
    p.wait(timeout)
    return p.stdout.read()


class Mount:
    """A small tmpfs for the audit store, lazily unmounted when the test ends.

    16 MB: the later tests keep using the store there, and its write-ahead log
    stays between processes (up to SQLite's 1000-page checkpoint, about 4 MB)."""

    def __init__(self, env, path):
        """Mount it (0770 root:lp); raise OSError if this machine does not let us."""
        self.path = path
        res = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=16m,mode=0770,gid=%d' % grp.getgrnam('lp').gr_gid,
                              'pgtest-audit', str(path)], capture_output=True, text=True)
        if res.returncode != 0:
            raise OSError(res.stderr.strip() or 'mount exited %d' % res.returncode)
        env.services.append(self)

    def remount(self, mode):
        """Remount ro or rw."""
        h.run_checked(['mount', '-o', 'remount,%s' % mode, self.path])

    def stop(self):
        """Unmount (lazily: a process may still have a file open)."""
        subprocess.run(['umount', '-l', str(self.path)], capture_output=True)


def stopped_by_filter(r, queue, j):
    """Wait until cupsd gave up on job j (filter failed: job stopped, queue stopped); return the job's state."""
    def done():
        a = r.cupsd.job_attrs(j)
        p = r.cupsd.printer_attrs(queue)
        if a['job-state'] in ('processing-stopped', 'aborted', 'canceled', 'completed', 'pending-held'):
            return a['job-state']
        if a['job-state'] == 'pending' and p.get('printer-state') == 'stopped':
            return 'pending'
        return None
    return h.wait_for(done, 60, 0.2, 'job %d to stop' % j)


def restart(r, queue, j):
    """Start the queue again and restart job j if cupsd stopped it (CUPS keeps a stopped job as processing-stopped)."""
    r.cupsd.run(['cupsenable', queue])
    if r.cupsd.job_state(j) == 'processing-stopped':
        r.cupsd.run(['lp', '-i', str(j), '-H', 'restart'])


def test_audit_store_unwritable(r):
    """An audit store the filters cannot write, then a full and a read-only file system: nothing prints unrecorded."""
    # Read-only for lp (the filters' user), no mount needed.
    n = len(r.fast.received_files())
    mark = r.cupsd.log_mark()
    store = [p for p in r.site.state.iterdir() if p.name.startswith('audit.db')]
    for p in store:
        p.chmod(0o440)
    j = r.cupsd.submit('wm', r.pdf, user=OWNER)
    state = stopped_by_filter(r, 'wm', j)
    expect(state != 'completed', 'job %d printed with a read-only audit store' % j)
    log = r.cupsd.error_log(mark)
    expect('printguard: job stopped, nothing printed' in log and str(r.site.audit_db) in log,
           'no clear error naming the audit store:\n%s' % r.cupsd.job_log(j)[-3000:])
    for p in r.site.state.iterdir():  # -wal / -shm the filter made meanwhile too
        if p.name.startswith('audit.db'):
            p.chmod(0o660)
    # Repaired: the stopped job was kept; restarted, it prints, stamped.
    restart(r, 'wm', j)
    r.cupsd.wait_job(j, 'completed', timeout=60)
    files = r.fast.wait_files(n + 1, timeout=30)
    expect(len(files) == n + 1 and all(len(c) == 1 for c in pgsite.codes_in(files[-1])), 'not printed once, stamped')

    # A full, then a read-only file system (a private tmpfs; root ignores file modes).
    fs = r.env.mkdir('auditfs')
    try:
        mount = Mount(r.env, fs)
    except OSError as exc:
        print('SKIP (full and read-only audit file system): cannot mount a tmpfs here: %s' % exc)
        return
    for p in r.site.state.iterdir():
        if p.name.startswith('audit.db'):
            shutil.copy2(p, fs / p.name)
            os.chown(fs / p.name, 0, grp.getgrnam('lp').gr_gid)
    db = fs / 'audit.db'
    r.site.base = ['AuditDB %s' % db if b.startswith('AuditDB') else b for b in r.site.base]
    r.site.write_conf(r.conf_lines)
    j = r.submit()
    n = r.printed()
    # Released while the queue is stopped, so it runs only once the disk is full;
    # the station waits for the outcome.
    r.cupsd.run(['cupsdisable', 'sec'])
    station = r.start_release('--job', str(j), wait=40)
    h.wait_for(lambda: r.cupsd.job_state(j) == 'pending', 30, 0.1, 'the release')
    with open(fs / 'filler', 'wb') as f:
        try:
            while True:
                f.write(b'\0' * 65536)
                f.flush()
        except OSError as exc:
            expect(exc.errno == errno.ENOSPC, 'filling the tmpfs: %s' % exc)
    mark = r.cupsd.log_mark()
    code, out = r.release('--list')
    expect(code != 0 and str(db) in out and ('No space left' in out or 'disk is full' in out),
           'station on a full disk: %d %s' % (code, out))
    r.cupsd.run(['cupsenable', 'sec'])
    state = stopped_by_filter(r, 'sec', j)
    out = finish(station, 60)
    expect(station.returncode == 3 and 'not printed, still held' in out and str(db) in out,
           'station waiting on a full disk: %d %s' % (station.returncode, out))
    time.sleep(2)
    expect(r.printed() == n, 'printed with a full audit store (job %s)' % state)
    log = r.cupsd.error_log(mark)
    expect(str(db) in log and 'nothing printed' in log, 'no clear error naming the audit store:\n%s' % r.cupsd.job_log(j)[-3000:])

    (fs / 'filler').unlink()
    mount.remount('ro')
    code, out = r.release('--list')
    expect(code != 0 and str(db) in out, 'station on a read-only file system: %d %s' % (code, out))
    k = r.cupsd.submit('wm', r.pdf, user=OWNER)
    m = len(r.fast.received_files())
    state = stopped_by_filter(r, 'wm', k)
    time.sleep(1)
    expect(state != 'completed' and len(r.fast.received_files()) == m, 'printed with a read-only audit store')

    # Repaired: the kept jobs print once, stamped (j may need a new release: its
    # release is spent if the backend got that far).
    mount.remount('rw')
    restart(r, 'sec', j)
    restart(r, 'wm', k)
    r.cupsd.wait_job(k, 'completed', timeout=60)
    state = r.cupsd.wait_job(j, ('completed', 'pending-held'), timeout=60)['job-state']
    if state == 'pending-held':
        code, out = r.release('--job', str(j))
        expect(code == 0 and 'printed' in out, 're-release after the repair: %d %s' % (code, out))
    files = r.printer.wait_files(n + 1, timeout=30)
    expect(len(files) == n + 1 and all(len(c) == 1 for c in pgsite.codes_in(files[-1])), 'not printed once, stamped')
    chain = r.site.cli('log', 'verify').stdout
    expect('every record verifies' in chain, chain)


def test_key_missing(r):
    """The signing key file gone: the station refuses, a resumed job is not sent; the job survives for later."""
    j = r.submit()
    n = r.printed()
    key = r.site.keys / 'TEST.key'
    key.rename(r.site.keys / 'TEST.key.away')
    mark = r.cupsd.log_mark()
    code, out = r.release('--all')
    expect(code == 4 and str(key) in out and 'printguard keygen' in out, 'station without a key: %d %s' % (code, out))
    r.cupsd.run(['lp', '-i', str(j), '-H', 'resume'])  # root may; the chain runs without a key
    state = stopped_by_filter(r, 'sec', j)
    time.sleep(1)
    expect(state in ('pending-held', 'processing-stopped', 'pending') and r.printed() == n,
           'job %d %s without a key; printed %d' % (j, state, r.printed() - n))
    log = r.cupsd.error_log(mark)
    expect('printguard: job held: ' in log and str(key) in log, 'the backend did not say why:\n%s' % r.cupsd.job_log(j)[-3000:])
    (r.site.keys / 'TEST.key.away').rename(key)
    restart(r, 'sec', j)
    r.cupsd.wait_job(j, 'pending-held', timeout=60)
    code, out = r.release('--job', str(j))
    expect(code == 0 and 'printed' in out, 'release with the key back: %d %s' % (code, out))
    r.printer.wait_files(n + 1, timeout=30)


def test_cupsd_stopped_during_release(r):
    """cupsd stops while the station waits: the station says so; after a restart the job is held, printed at most once."""
    j = r.submit()
    n = r.printed()
    p = r.start_release('--job', str(j))
    h.wait_for(lambda: r.printer.jobs('not-completed'), 30, 0.1, 'the printer to get the job')
    r.cupsd.stop()
    out = finish(p, 60)
    expect(p.returncode != 0 and 'lost contact with CUPS' in out and 'printed on' not in out,
           'station while cupsd stopped: %d %s' % (p.returncode, out))
    r.cupsd.start()
    # Observed with CUPS 2.4.2: stopping cupsd SIGTERMs the backend (which
    # cancels the device job); after the restart the job is kept, pending with
    # job-printing, and cupsd does not start it by itself. An operator's hold
    # and resume runs the whole chain again and, its release spent, the
    # backend holds it.
    time.sleep(2)
    state = r.cupsd.job_state(j)
    expect(state in ('pending', 'pending-held', 'completed'), 'job %d lost or ended across the restart: %s' % (j, state))
    if state == 'pending':
        r.cupsd.run(['lp', '-i', str(j), '-H', 'hold'])
        r.cupsd.run(['lp', '-i', str(j), '-H', 'resume'])
    r.cupsd.wait_job(j, ('pending-held', 'completed'), timeout=60)
    time.sleep(3)
    state = r.cupsd.job_state(j)
    expect(state in ('pending-held', 'completed'), 'job %d after the restart: %s' % (j, state))
    expect(r.printed() - n <= 1, 'printed twice across a cupsd restart')
    if state == 'pending-held':
        code, out = r.release('--job', str(j))
        expect(code == 0 and 'printed' in out, 're-release after the restart: %d %s' % (code, out))
        r.printer.wait_files(n + 1, timeout=30)
    expect(r.printed() - n <= 2, 'printed more than once per release')
    return j


def test_slapd_frozen(r):
    """slapd frozen (SIGSTOP): the station gives up after LDAPTimeout with a directory error; not a lockout."""
    j = r.submit()
    os.kill(r.slapd.proc.pid, signal.SIGSTOP)
    try:
        t0 = time.monotonic()
        code, out = r.release('--all', timeout=40)
        took = time.monotonic() - t0
        expect(code == 1 and 'denied' in out and 'did not answer' in out, 'frozen slapd: %d %s' % (code, out))
        expect(took < 20, 'the station waited %.0f s for a frozen directory (LDAPTimeout 2)' % took)
    finally:
        os.kill(r.slapd.proc.pid, signal.SIGCONT)
    r.slapd.stop()
    code, out = r.release('--all')
    expect(code == 1 and 'denied' in out, 'slapd gone: %d %s' % (code, out))
    r.slapd.start()
    expect(r.cupsd.job_state(j) == 'pending-held', 'job %d left the held state' % j)
    expect(not r.site.events('auth-fail'), 'a directory outage counted as a failed login: %s' % r.site.events('auth-fail'))
    expect(len(r.site.events('auth-error')) >= 2, 'directory errors not audited')
    code, out = r.release('--job', str(j))
    expect(code == 0 and 'printed' in out, 'release once slapd is back: %d %s' % (code, out))
    return j


def test_printer_killed_mid_job(r):
    """ippeveprinter dies while printing: the job is held again, the release spent; a new release prints it once."""
    j = r.submit()
    p = r.start_release('--job', str(j))
    h.wait_for(lambda: r.printer.jobs('not-completed'), 30, 0.1, 'the printer to get the job')
    os.kill(r.printer.proc.pid, signal.SIGKILL)
    out = finish(p, 90)
    r.printer.stop()
    # ippeveprinter kept what it received before it died; a new one numbers its
    # jobs from 1 again and would overwrite those files, so move them away.
    for f in r.printer.received_files():
        f.rename(r.env.path / ('before-crash-%s' % f.name))
    m = r.printed()
    expect(p.returncode == 3 and 'not printed, still held' in out and 'stopped answering' in out,
           'station when the printer died: %d %s' % (p.returncode, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'job %d not held again' % j)
    expect(r.site.events('interrupted'), 'the interruption was not audited')
    r.printer.start()
    time.sleep(4)
    expect(r.cupsd.job_state(j) == 'pending-held' and r.printed() == m, 'the job printed by itself when the printer came back')
    code, out = r.release('--job', str(j))
    expect(code == 0 and 'printed' in out, 're-release: %d %s' % (code, out))
    r.printer.wait_files(m + 1, timeout=30)
    time.sleep(1)
    expect(r.printed() == m + 1, 'the re-release printed %d times' % (r.printed() - m))
    return j


def audit_db(r):
    """The audit store the site's printguard.conf names now (test_audit_store_unwritable moves it)."""
    return pathlib.Path(next(b.split(None, 1)[1] for b in r.site.base if b.startswith('AuditDB')))


def test_release_not_recorded(r):
    """The release's audit record cannot be written (a trigger injects the fault):
    the station says so, the job is not resumed, and the release is spent, so an
    operator's resume within ReleaseTimeout does not print it."""
    j = r.submit()
    n = r.printed()
    db = audit_db(r)
    con = sqlite3.connect(db)
    con.execute("CREATE TRIGGER pg_test_fault BEFORE INSERT ON events WHEN NEW.event = 'release' "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END")
    con.commit()
    try:
        code, out = r.release('--job', str(j))
    finally:
        con.execute('DROP TRIGGER pg_test_fault')
        con.commit()
        con.close()
    expect(code != 0 and 'not released' in out and 'injected fault' in out, 'release not recorded: %d %s' % (code, out))
    expect(r.cupsd.job_state(j) == 'pending-held', 'job %d resumed without a recorded release' % j)
    mark = r.cupsd.log_mark()
    r.cupsd.run(['lp', '-i', str(j), '-H', 'resume'])  # root: allowed even by the hardened policy
    h.wait_for(lambda: 'job held' in r.cupsd.error_log(mark) or r.cupsd.job_state(j) == 'completed', 60, 0.2,
               'the backend to hold job %d again' % j)
    expect(r.cupsd.job_state(j) != 'completed', 'job %d printed with an unrecorded release' % j)
    r.cupsd.wait_job(j, 'pending-held', timeout=60)
    time.sleep(2)
    expect(r.printed() == n and r.cupsd.job_state(j) == 'pending-held', 'job %d printed with an unrecorded release' % j)
    code, out = r.release('--job', str(j))
    expect(code == 0 and 'printed' in out, 'release after the fault: %d %s' % (code, out))
    r.printer.wait_files(n + 1, timeout=30)


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter', 'slapd')
    with h.TestEnv('faults') as env:
        r = Rig(env)
        test_audit_store_unwritable(r)
        test_key_missing(r)
        test_release_not_recorded(r)
        test_printer_killed_mid_job(r)
        test_cupsd_stopped_during_release(r)
        test_slapd_frozen(r)
        chain = r.site.cli('log', 'verify').stdout
        expect('every record verifies' in chain, chain)
        print('faults: audit store unwritable, full or read-only; key file missing; printer killed mid-job; cupsd stopped '
              'during a release; slapd frozen or gone: nothing printed unreleased or unstamped, clear errors')
    return 0


if __name__ == '__main__':
    sys.exit(main())
