"""pgsite - a printguard site for integration tests: keys, config, audit store,
the built programs, and a CLI wrapper. Lives in a pgharness TestEnv."""

import grp
import hashlib
import hmac
import os
import pathlib
import re
import secrets
import sqlite3
import struct
import subprocess
import time

import pgharness as h


# Where `make install` / the Debian packages put each program, below a root.
INSTALLED = {
    'tools/printguard': 'usr/sbin/printguard',
    'filters/printguard-watermark': 'usr/lib/cups/filter/printguard-watermark',
    'backends/printguard': 'usr/lib/cups/backend/printguard',
}


def install_root():
    """The root of installed programs to test (env PG_INSTALL_ROOT), or None: the build tree."""
    root = os.environ.get('PG_INSTALL_ROOT')
    return pathlib.Path(root) if root else None


def program(rel):
    """Path of a built program, e.g. program('tools/printguard'), or of the
    installed one below PG_INSTALL_ROOT when that is set."""
    root = install_root()
    p = root / INSTALLED[rel] if root else h.build_dir() / rel
    if not p.exists():
        raise FileNotFoundError('%s is not built (PG_BUILDDIR=%s)' % (p, h.build_dir()) if not root
                                else '%s is not installed (PG_INSTALL_ROOT=%s)' % (p, root))
    return p


class Site:
    """A site key, printguard.conf and audit store, readable/writable by lp as in production."""

    def __init__(self, env, conf_lines=(), name='site', keys=None, state=None):
        """Create keys (0750 root:lp dir, 0640 key), state dir (0770 root:lp), config.
        keys/state: use these existing dirs (an installed site) as they are."""
        self.env = env
        self.dir = env.mkdir(name)
        lp = grp.getgrnam('lp').gr_gid
        if keys is None:
            self.keys = env.mkdir(name, 'keys', mode=0o750)
            os.chown(self.keys, 0, lp)
        else:
            self.keys = pathlib.Path(keys)
        if state is None:
            self.state = env.mkdir(name, 'state', mode=0o770)
            os.chown(self.state, 0, lp)
        else:
            self.state = pathlib.Path(state)
        self.audit_db = self.state / 'audit.db'
        self.conf = self.dir / 'printguard.conf'
        self.base = ['KeyDir %s' % self.keys, 'AuditDB %s' % self.audit_db, 'Syslog No', 'TimeZone UTC']
        self.write_conf(conf_lines)
        if keys is None:
            self.cli('keygen', '--id', 'TEST')

    def write_conf(self, lines):
        """(Re)write printguard.conf: the site basics plus lines."""
        self.conf.write_text('\n'.join(self.base + list(lines)) + '\n')
        self.conf.chmod(0o644)

    def cli(self, *args, cupsd=None, input=None, check=True, timeout=60):
        """Run printguard -c CONF ARGS (against cupsd's socket if given)."""
        env = cupsd.client_env() if cupsd else dict(os.environ)
        env.pop('PRINTGUARD_CONF', None)
        cmd = [str(program('tools/printguard')), '-c', str(self.conf)] + [str(a) for a in args]
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, env=env, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError('%s exited %d\nstdout: %s\nstderr: %s' % (cmd, r.returncode, r.stdout, r.stderr))
        return r

    def events(self, event=None):
        """Audit records as dicts (newest first) via printguard log."""
        args = ['log', '--limit', '100000'] + (['--event', event] if event else [])
        out = self.cli(*args).stdout.splitlines()[1:]
        rows = []
        for line in out:
            f = line.split(None, 7)
            if len(f) >= 7:
                rows.append({'id': int(f[0]), 'event': f[2], 'user': f[3], 'rest': line})
        return rows


    def grant_release(self, job_uuid, job_id, owner, queue, ttl=120):
        """Store a valid release record for a job, as a release station does (lib/release.cc format)."""
        key_id = (self.keys / 'current').read_text().strip()
        key = bytes.fromhex((self.keys / ('%s.key' % key_id)).read_text().strip())
        now = int(time.time())
        fields = ['printguard-release', '1', key_id, job_uuid, str(job_id), owner, queue.lower(),
                  str(now), str(now + ttl), secrets.token_hex(16), 'test']
        rec = b''.join(struct.pack('>I', len(f.encode())) + f.encode() for f in fields)
        label = b'printguard-release'
        mac = hmac.new(key, struct.pack('>I', len(label)) + label + rec, hashlib.sha256).digest()
        db = sqlite3.connect(str(self.audit_db), timeout=30)
        db.execute('INSERT INTO releases (job_uuid,queue,created,expires,key_id,record,mac) VALUES (?,?,?,?,?,?,?)',
                   (job_uuid, queue, now, now + ttl, key_id, rec, mac))
        db.commit()
        db.close()

    def events_for(self, user):
        """Audit records naming a user (any case), via printguard log --user."""
        out = self.cli('log', '--user', user, '--limit', '100000').stdout.splitlines()[1:]
        return [line for line in out if line.strip()]


def ldap_conf(env, slapd, name='ldap'):
    """printguard.conf lines for a harness Slapd: LDAPS with its test CA, the root DN
    as service account, its password in a 0600 file env.path/NAME.secret."""
    secret = env.path / ('%s.secret' % name)
    secret.write_text(slapd.root_password + '\n')
    secret.chmod(0o600)
    return ['LDAPURI %s' % slapd.ldaps_uri, 'LDAPCAFile %s' % slapd.ca_file,
            'LDAPBindDN %s' % slapd.root_dn, 'LDAPBindPasswordFile %s' % secret,
            'LDAPBase %s' % slapd.people]


def codes_in(pdf):
    """Signature codes printed on each page of a PDF (via pdftotext)."""
    return [re.findall(r'Sig ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}-[0-9A-Z])', page) for page in h.pdftotext_pages(pdf)]


def cupsd_for(env, site, extra_filters=(), **kw):
    """A private cupsd with printguard's filter (and backend, 0700) installed;
    with PG_INSTALL_ROOT, links to the installed ones, whose modes then count."""
    kw.setdefault('policy', 'hardened')
    installed = install_root() is not None
    watermark = program('filters/printguard-watermark')
    return h.Cupsd(env, filters=[(watermark, None, None) if installed else watermark] + list(extra_filters),
                   backends=[(program('backends/printguard'), None if installed else 0o700)],
                   setenv={'PRINTGUARD_CONF': str(site.conf)}, **kw)
