#!/usr/bin/env python3
"""Debian packages end to end: build printguard's .debs from a copy of the
source tree (dpkg-buildpackage -us -uc -b), lintian without errors, install
them with dpkg into a scratch root (maintainer scripts run, chrootless, with
DPKG_ROOT), check the installed modes and owners and the site key the postinst
made, then run the whole flow against the installed files: a private cupsd
using the installed filter and backend, a job held, released with an LDAP
password, printed with a watermark whose code the installed printguard
verifies. Finally purge, which must keep the audit store with its keys in
/var/backups. Nothing is installed into the machine's own /usr or /etc.

Env: PG_SKIP_PACKAGING=1 skips (exit 77); PG_DEB_DIR=DIR uses the .debs and
.changes already built in DIR instead of building (for working on this test).
"""

import glob
import grp
import os
import pathlib
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

USER, PASSWORD = 'daemon', 'package-test-password'
PACKAGES = ('printguard', 'printguard-cups')


def source_files(src, build):
    """Relative paths of the source tree to package: git's view (tracked and
    untracked, not ignored) when it is a git tree, else every file; never the
    build tree."""
    files = None
    if (src / '.git').exists() and shutil.which('git'):
        r = subprocess.run(['git', '-C', str(src), 'ls-files', '-co', '--exclude-standard', '-z'],
                           capture_output=True)
        if r.returncode == 0:
            files = [f for f in r.stdout.decode().split('\0') if f]
    if files is None:
        files = [str(p.relative_to(src)) for p in src.rglob('*') if p.is_file() or p.is_symlink()]
    skip = []
    try:
        skip.append(str(build.resolve().relative_to(src.resolve())) + '/')
    except ValueError:
        pass
    return [f for f in files if not f.startswith('.git/') and not any(f.startswith(s) for s in skip)
            and os.path.lexists(src / f)]


def build_debs(env):
    """Copy the source tree into the temp dir and build the binary packages there."""
    src, build = h.src_dir(), h.build_dir()
    tree = env.mkdir('deb', 'printguard')
    for rel in source_files(src, build):
        dest = tree / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, dest, follow_symlinks=False)
    if not (tree / 'debian' / 'rules').exists():
        raise AssertionError('no debian/rules in the source tree %s' % src)
    benv = dict(os.environ, DEB_BUILD_OPTIONS='nocheck noddebs parallel=2', DEB_BUILD_PROFILES='nocheck')
    for k in ('PG_BUILDDIR', 'PG_SRCDIR', 'MAKEFLAGS', 'MFLAGS', 'MAKELEVEL'):
        benv.pop(k, None)
    log = env.path / 'dpkg-buildpackage.log'
    with open(log, 'wb') as out:
        rc = subprocess.run(['dpkg-buildpackage', '-us', '-uc', '-b'], cwd=tree, env=benv,
                            stdout=out, stderr=subprocess.STDOUT, timeout=1500).returncode
    if rc != 0:
        tail = log.read_text(errors='replace').splitlines()[-60:]
        raise AssertionError('dpkg-buildpackage failed (exit %d):\n%s' % (rc, '\n'.join(tail)))
    return tree.parent


def lintian_errors(debdir):
    """Run lintian on the .changes; return its E: lines (and print everything)."""
    changes = glob.glob(str(debdir / '*.changes'))
    assert len(changes) == 1, 'expected one .changes in %s, found %s' % (debdir, changes)
    r = subprocess.run(['lintian', '--fail-on', 'none', changes[0]], capture_output=True, text=True, timeout=600)
    print('lintian:\n' + (r.stdout.strip() or '(nothing)'))
    assert r.returncode == 0, 'lintian failed to run (exit %d): %s' % (r.returncode, r.stderr)
    return [line for line in r.stdout.splitlines() if line.startswith('E: ')]


def dpkg(root, *args):
    """Run dpkg on the scratch root; maintainer scripts run outside a chroot with DPKG_ROOT."""
    return h.run_checked(['dpkg', '--root=%s' % root, '--force-script-chrootless', '--force-depends',
                          '--log=/dev/null'] + list(args), timeout=300)


def make_root(env):
    """An empty dpkg root; its policy-rc.d forbids starting any service."""
    root = env.mkdir('root')
    for d in ('var/lib/dpkg/updates', 'var/lib/dpkg/info', 'var/lib/dpkg/triggers', 'usr/sbin', 'etc'):
        (root / d).mkdir(parents=True, exist_ok=True)
    for f in ('var/lib/dpkg/status', 'var/lib/dpkg/available', 'var/lib/dpkg/statoverride'):
        (root / f).touch()
    policy = root / 'usr/sbin/policy-rc.d'
    policy.write_text('#!/bin/sh\nexit 101\n')
    policy.chmod(0o755)
    return root


def expect_mode(path, mode, uid=0, gid=0):
    """Fail unless path has exactly this mode, owner and group."""
    st = os.lstat(path)
    got = (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)
    assert got == (mode, uid, gid), '%s: mode %04o owner %d:%d, expected %04o %d:%d' % (
        path, got[0], got[1], got[2], mode, uid, gid)


def check_installed(root):
    """Modes, owners, conffile, site key and retention units after installation."""
    lp = grp.getgrnam('lp').gr_gid
    expect_mode(root / 'usr/lib/cups/backend/printguard', 0o700)
    expect_mode(root / 'usr/lib/cups/filter/printguard-watermark', 0o755)
    expect_mode(root / 'usr/sbin/printguard', 0o755)
    expect_mode(root / 'etc/printguard/printguard.conf', 0o644)
    expect_mode(root / 'etc/printguard/keys', 0o750, gid=lp)
    expect_mode(root / 'var/lib/printguard', 0o770, gid=lp)
    r = h.run_checked(['dpkg-query', '--admindir=%s' % (root / 'var/lib/dpkg'), '-W', '-f=${Conffiles}\n',
                       'printguard', 'printguard-cups'])
    conffiles = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    assert '/etc/printguard/printguard.conf' in conffiles, conffiles
    assert '/etc/cron.d/printguard-purge' in conffiles, conffiles
    key_id = (root / 'etc/printguard/keys/current').read_text().strip()
    expect_mode(root / 'etc/printguard/keys' / ('%s.key' % key_id), 0o640, gid=lp)
    expect_mode(root / 'var/lib/printguard/audit.db', 0o660, gid=lp)
    assert (root / 'lib/systemd/system/printguard-purge.timer').exists()
    wants = root / 'etc/systemd/system/timers.target.wants/printguard-purge.timer'
    assert wants.is_symlink(), 'postinst did not enable printguard-purge.timer (%s)' % wants
    for man in ('man8/printguard.8.gz', 'man8/printguard-backend.8.gz', 'man8/printguard-watermark.8.gz',
                'man5/printguard.conf.5.gz'):
        assert (root / 'usr/share/man' / man).exists(), man
    print('installed: modes, owners, conffiles, site key %s, timer enabled' % key_id)
    return key_id


def flow(env, root, key_id):
    """Hold, LDAP release, print and verify, with the installed programs only."""
    os.environ['PG_INSTALL_ROOT'] = str(root)
    slapd = h.Slapd(env)
    slapd.add_user(USER, PASSWORD, employeeNumber='4711')
    slapd.start()
    site = pgsite.Site(env, pgsite.ldap_conf(env, slapd),
                       keys=root / 'etc/printguard/keys', state=root / 'var/lib/printguard')
    assert str(pgsite.program('tools/printguard')).startswith(str(root))
    assert '%s  (signing)' % key_id in site.cli('keys').stdout

    cupsd = pgsite.cupsd_for(env, site)
    for kind, name in (('backend', 'printguard'), ('filter', 'printguard-watermark')):
        link = cupsd.server_bin / kind / name
        assert link.resolve() == (root / 'usr/lib/cups' / kind / name).resolve(), link
    printer = h.IppEvePrinter(env, 'office')
    cupsd.add_queue('secure', printer.uri, model='everywhere')
    site.cli('queue', 'enable', 'secure', cupsd=cupsd)
    cupsd.run(['lpadmin', '-p', 'secure', '-v', 'printguard:%s' % printer.uri])

    pdf = env.path / 'report.pdf'
    h.make_pdf(pdf, pages=2, text='Packaged printguard test page')
    pdf.chmod(0o644)
    job = cupsd.submit('secure', pdf, user=USER, title='report.pdf')
    cupsd.wait_job(job, 'pending-held', timeout=60)
    assert printer.received_files() == [], 'a held job reached the printer'

    r = site.cli('release', '-d', 'secure', '--user', USER, '--password-stdin', '--all', '--wait', '60',
                 input=PASSWORD + '\n', cupsd=cupsd, check=False)
    assert r.returncode == 0, 'release failed (exit %d): %s %s\n%s' % (r.returncode, r.stdout, r.stderr,
                                                                     cupsd.job_log(job))
    received = printer.wait_files(1, timeout=60)[0]
    codes = pgsite.codes_in(received)
    assert len(codes) == 2 and all(codes), 'pages without a signature code: %s' % codes
    code = codes[0][0]
    assert code.startswith(key_id), 'code %s not signed with the postinst key %s' % (code, key_id)
    v = site.cli('verify', code)
    assert USER in v.stdout and 'secure' in v.stdout, v.stdout
    site.cli('verify', received)
    site.cli('log', 'verify')
    held = site.events('hold')
    assert held, 'no hold record in the installed audit store'
    print('flow: held, released, printed 2 pages signed %s, verified by the installed printguard' % code)
    cupsd.stop()
    printer.stop()


def check_purge(root, packages):
    """Remove keeps everything; purge moves the audit store and keys to /var/backups."""
    dpkg(root, '--remove', *reversed(packages))
    assert (root / 'var/lib/printguard/audit.db').exists(), 'remove deleted the audit store'
    assert (root / 'etc/printguard/keys/current').exists(), 'remove deleted the keys'
    dpkg(root, '--purge', *reversed(packages))
    assert not (root / 'var/lib/printguard').exists(), 'purge left /var/lib/printguard'
    assert not (root / 'etc/printguard').exists(), 'purge left /etc/printguard'
    assert not (root / 'etc/cron.d/printguard-purge').exists(), 'purge left the cron file'
    backups = sorted((root / 'var/backups').glob('printguard-purged-*'))
    assert len(backups) == 1, 'expected one backup, found %s' % backups
    expect_mode(backups[0], 0o700)
    assert (backups[0] / 'state/audit.db').exists() and (backups[0] / 'keys/current').exists()
    print('purge: audit store and keys kept in %s (0700)' % backups[0].relative_to(root))


def main():
    if os.environ.get('PG_SKIP_PACKAGING') == '1':
        print('SKIP: PG_SKIP_PACKAGING=1 (Debian package build and install test)')
        return h.SKIP
    h.skip_unless_root('dpkg-buildpackage', 'dh', 'lintian', 'fakeroot', 'cupsd', 'ippeveprinter', 'slapd')
    with h.TestEnv(prefix='printguard-deb-') as env:
        debdir = pathlib.Path(os.environ['PG_DEB_DIR']) if os.environ.get('PG_DEB_DIR') else build_debs(env)
        errors = lintian_errors(debdir)
        assert not errors, 'lintian errors:\n' + '\n'.join(errors)
        packages = PACKAGES + (('libpam-printguard',) if (h.src_dir() / 'pam').is_dir() else ())
        debs = [d for d in glob.glob(str(debdir / '*.deb'))
                if os.path.basename(d).split('_')[0] in packages]
        assert len(debs) == len(packages), 'expected %s in %s, found %s' % (packages, debdir, debs)
        root = make_root(env)
        dpkg(root, '-i', *sorted(debs))
        key_id = check_installed(root)
        if 'libpam-printguard' in packages:
            pam = glob.glob(str(root / 'lib/*/security/pam_printguard.so'))
            assert len(pam) == 1, 'pam_printguard.so not installed in /lib/MULTIARCH/security: %s' % pam
            expect_mode(pam[0], 0o644)
        flow(env, root, key_id)
        check_purge(root, packages)
    print('OK: Debian packages build, install, print and purge')
    return 0


if __name__ == '__main__':
    sys.exit(main())
