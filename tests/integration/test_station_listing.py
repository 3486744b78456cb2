#!/usr/bin/env python3
"""The release station asks cupsd only for what it needs: per queue (its own
and the Find-Me queues, never the others), the held jobs' ids and owners,
attributes cupsd keeps in memory; then the full attributes of the user's own
jobs only (Get-Jobs with job-ids). With 10 000 held jobs, fetching every
job's full attributes made one listing take seconds. A stand-in cupsd
(recording every request) answers; the user authenticates against slapd."""

import http.server
import os
import pathlib
import subprocess
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

USER, PASSWORD = 'alice', 'alice-secret'
QUEUES = {'sec': 'printguard:ipp://127.0.0.1:9/ipp/print', 'other': 'printguard:ipp://127.0.0.1:9/ipp/other',
          'fm': 'printguard:findme', 'plain': 'ipp://127.0.0.1:9/ipp/print'}
JOBS = {1: ('sec', USER), 2: ('sec', 'bob'), 3: ('fm', USER), 4: ('other', USER), 5: ('plain', USER)}
CHEAP = {'job-id', 'job-originating-user-name', 'job-state', 'job-printer-uri', 'job-name', 'time-at-creation'}
SEEN = []  # (operation, {attribute: [values]}) of every request


def job_group(jid):
    """The job group cupsd would return for a held job."""
    queue, owner = JOBS[jid]
    return (h.TAG_JOB, [(h.T_INTEGER, 'job-id', jid), (h.T_URI, 'job-uuid', 'urn:uuid:0000-%d' % jid),
                        (h.T_NAME, 'job-originating-user-name', owner),
                        (h.T_URI, 'job-printer-uri', 'ipp://localhost/printers/%s' % queue),
                        (h.T_NAME, 'job-name', 'job %d' % jid), (h.T_ENUM, 'job-state', 4),
                        (h.T_INTEGER, 'time-at-creation', 1700000000)])


class FakeCupsd(http.server.BaseHTTPRequestHandler):
    """Answers the IPP operations the station sends, recording each request."""

    protocol_version = 'HTTP/1.1'

    def log_message(self, *args):
        """Quiet."""

    def do_POST(self):
        """Decode the IPP request, record it, answer."""
        body = self.rfile.read(int(self.headers.get('Content-Length', 0)))
        op, groups = h._decode(body)
        rid = int.from_bytes(body[4:8], 'big')
        attrs = {}
        for tag, a in groups:
            if tag == h.TAG_OPERATION:
                attrs.update(a)
        SEEN.append((op, attrs))
        out = [(h.TAG_OPERATION, [(h.T_CHARSET, 'attributes-charset', 'utf-8'),
                                  (h.T_LANGUAGE, 'attributes-natural-language', 'en')])]
        if op == h.OP['Get-Printer-Attributes']:
            queue = attrs['printer-uri'][0].rsplit('/', 1)[1]
            out.append((h.TAG_PRINTER, [(h.T_URI, 'device-uri', QUEUES[queue])]))
        elif op == h.OP['CUPS-Get-Printers']:
            for q, uri in QUEUES.items():
                out.append((h.TAG_PRINTER, [(h.T_NAME, 'printer-name', q), (h.T_URI, 'device-uri', uri),
                                            (h.T_NAME, 'printer-op-policy', 'default')]))
        elif op == h.OP['Get-Jobs']:
            if 'job-ids' in attrs:
                out += [job_group(j) for j in attrs['job-ids']]
            else:
                queue = attrs['printer-uri'][0].rsplit('/', 1)[1]
                out += [job_group(j) for j, (q, _) in sorted(JOBS.items()) if q == queue]
        data = h._encode(0, rid, out)
        self.send_response(200)
        self.send_header('Content-Type', 'application/ipp')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    h.skip_unless_root('slapd')
    with h.TestEnv('station-listing') as env:
        slapd = h.Slapd(env)
        slapd.add_user(USER, PASSWORD)
        slapd.start()
        secret = env.path / 'ldap.secret'
        secret.write_text(slapd.root_password + '\n')
        secret.chmod(0o600)
        site = pgsite.Site(env, ['LDAPURI %s' % slapd.ldaps_uri, 'LDAPCAFile %s' % slapd.ca_file,
                                 'LDAPBindDN %s' % slapd.root_dn, 'LDAPBindPasswordFile %s' % secret,
                                 'LDAPBase %s' % slapd.people, 'LDAPTimeout 5'])
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), FakeCupsd)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            env_vars = dict(os.environ, CUPS_SERVER='127.0.0.1:%d' % server.server_address[1], HOME=str(env.path))
            r = subprocess.run([str(pgsite.program('tools/printguard')), '-c', str(site.conf), 'release', '-d', 'sec',
                                  '--user', USER, '--password-stdin', '--list'], input=PASSWORD + '\n',
                                 capture_output=True, text=True, env=env_vars, timeout=60)
        finally:
            server.shutdown()
        assert r.returncode == 0, r.stdout + r.stderr
        listed = sorted(int(l.split()[0]) for l in r.stdout.splitlines() if l.startswith('  '))
        assert listed == [1, 3], 'listed %s, expected the user\'s held jobs here and on Find-Me: [1, 3]\n%s' % (
            listed, r.stdout)
        get_jobs = [a for op, a in SEEN if op == h.OP['Get-Jobs']]
        per_queue = [a for a in get_jobs if 'job-ids' not in a]
        asked = sorted(a['printer-uri'][0].rsplit('/', 1)[1] for a in per_queue)
        assert asked == ['fm', 'sec'], 'Get-Jobs asked for queues %s, expected only fm and sec' % asked
        for a in per_queue:
            assert a.get('which-jobs') == ['pending-held'], a
            wanted = set(a.get('requested-attributes', ['all']))
            assert wanted <= CHEAP, 'per-queue Get-Jobs asked for %s (cupsd loads those from disk)' % (wanted - CHEAP)
        detail = [a for a in get_jobs if 'job-ids' in a]
        assert len(detail) == 1 and sorted(detail[0]['job-ids']) == [1, 3], \
            'full attributes asked for jobs %s, expected only the user\'s [1, 3]' % [a['job-ids'] for a in detail]
    print('PASS: the station asks for held jobs on its queues only, and details of the user\'s jobs only')
    return h.PASS


if __name__ == '__main__':
    sys.exit(main())
