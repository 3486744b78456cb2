#!/usr/bin/env python3
"""printguard check against a deliberately weak private cupsd reports each
weakness and exits 1; against the shipped hardened configuration it reports
nothing of high severity and exits 0."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402


def findings(site, cupsd, root):
    """Run printguard check; return (exit status, {finding id: text})."""
    r = site.cli('check', '--cups-root', cupsd.server_root, '--root', root, cupsd=cupsd, check=False)
    found = {}
    for line in r.stdout.splitlines():
        w = line.split(None, 2)
        if len(w) == 3 and w[0] in ('HIGH', 'MEDIUM', 'LOW'):
            found.setdefault(w[1], []).append((w[0], w[2]))
    return r.returncode, found, r.stdout


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter')
    with h.TestEnv() as env:
        printer = h.IppEvePrinter(env)
        # Weak: stock policy, documents kept, titles in page_log, low MaxJobs,
        # an unprotected queue, LDAP in clear, an unsafe key, no purger.
        weak = pgsite.Site(env, name='weak')
        weak.write_conf(['RequireAllQueues Yes', 'LDAPURI ldap://127.0.0.1:1', 'LDAPStartTLS No'])
        (weak.keys / 'TEST.key').chmod(0o644)
        cupsd = pgsite.cupsd_for(env, weak, name='cupsd-weak', policy='stock')
        cupsd.add_queue('open', printer.uri, model='everywhere')
        cupsd.add_queue('guarded', printer.uri, model='everywhere')
        cupsd.run(['lpadmin', '-p', 'guarded', '-v', 'printguard:%s' % printer.uri])
        status, found, out = findings(weak, cupsd, env.mkdir('weak-root'))
        want = {'impersonation': 'HIGH', 'job-files-kept': 'MEDIUM', 'page-log-titles': 'MEDIUM', 'max-jobs': 'MEDIUM',
                'unprotected-queue': 'HIGH', 'plaintext-device': 'MEDIUM', 'key-file': 'HIGH',
                'ldap-plaintext': 'HIGH', 'no-purger': 'MEDIUM', 'filter-missing': 'HIGH'}
        for fid, sev in want.items():
            assert fid in found, 'check missed %s:\n%s' % (fid, out)
            assert found[fid][0][0] == sev, '%s reported as %s, wanted %s' % (fid, found[fid][0][0], sev)
        assert status == 1, 'high findings but exit %d' % status
        assert 'fix:' in out

        # Hardened: the shipped policy and privacy settings, printguard on every
        # queue with its filter, a safe key, LDAPS, a purger in cron.d.
        good = pgsite.Site(env, name='good')
        good.write_conf(['RequireAllQueues Yes', 'LDAPURI ldaps://127.0.0.1:1'])
        privacy = [l for l in (h.src_dir() / 'conf' / 'cupsd-privacy.conf').read_text().splitlines()
                   if l.strip() and not l.startswith('#')]
        cupsd2 = pgsite.cupsd_for(env, good, name='cupsd-good', extra_conf=privacy)
        cupsd2.add_queue('secure', printer.uri, model='everywhere')
        good.cli('queue', 'enable', 'secure', cupsd=cupsd2)
        cupsd2.run(['lpadmin', '-p', 'secure', '-v', 'printguard:%s' % printer.uri])
        root = env.mkdir('good-root', 'etc', 'cron.d').parent.parent
        (root / 'etc' / 'cron.d' / 'printguard-purge').write_text((h.src_dir() / 'conf' / 'printguard-purge.cron').read_text())
        status, found, out = findings(good, cupsd2, root)
        highs = [fid for fid, v in found.items() if any(s == 'HIGH' for s, _ in v)]
        assert not highs, 'hardened configuration has high findings %s:\n%s' % (highs, out)
        assert status == 0, out
        for fid in ('impersonation', 'job-files-kept', 'page-log-titles', 'max-jobs', 'no-purger', 'key-file'):
            assert fid not in found, '%s reported on the hardened configuration:\n%s' % (fid, out)
        print('check: every weakness reported on the weak cupsd; nothing high on the hardened one')
    return 0


if __name__ == '__main__':
    sys.exit(main())
