#!/usr/bin/env python3
"""Hostile job attributes end to end: job names and user names with quotes,
parentheses, backslashes, % sequences, PDF and LDAP delimiters, shell
metacharacters, overlong UTF-8, surrogates, C1 controls and bidi overrides
go through a private cupsd, the watermark filter, the hold/release backend,
the audit store, the release station, reports and the GDPR export: no
injection, no crash, no merged fields, one line per record.

What CUPS 2.4.2 does to them first (observed, see cups_filters_names()):
job-name and requesting-user-name are IPP "name" values, and cupsd checks
them with ippValidateAttribute(): a control character (CR, LF, tab, ESC,
DEL), more than 255 bytes, or a byte that breaks the UTF-8 lead/continuation
structure (\\xff\\xfe) gets the job accepted anyway, with job-name "Untitled"
(status-message "Bad job-name value"), or owner "anonymous" for a bad
requesting-user-name. A NUL ends the value (C strings). Overlong forms
(\\xc0\\xaf, \\xe0\\x80\\xaf), surrogates (\\xed\\xa0\\x80), C1 controls
(U+009B) and U+202E pass unchanged. Values CUPS never lets through (newlines,
4000 bytes, \\xff) are still given to the filter and the backend directly
(run_programs_directly()), as another spooler or a future CUPS might."""

import csv
import io
import json
import os
import pathlib
import re
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

OWNER, PASSWORD = 'daemon', 'owner-secret'
# A directory uid CUPS, LDAP (DN-safe) and the station all accept, full of metacharacters.
ODD_UID, ODD_PASSWORD = "o'brien $(id) %s%n|`x`*(", 'odd-secret'
INJECT = b') Tj /F1 99 Tf (X'

# name -> (value as sent, how the stamp shows it: WinAnsi, '?' for what Helvetica cannot show)
HOSTILE = {
    'quotes': (b'O\'Brien "quoted"', 'O\'Brien "quoted"'),
    'parens': (b'a (b) c', 'a (b) c'),
    'backslash': (b'back\\slash\\', 'back\\slash\\'),
    'percent': (b'%s %n %% %x', '%s %n %% %x'),
    'pdf': (INJECT, INJECT.decode()),
    'pdf2': (b'\\) \\\\( <</A 1>> endstream', '\\) \\\\( <</A 1>> endstream'),
    'ldap': (b'*)(uid=*', '*)(uid=*'),
    'shell': (b'$(id) ; | `id` &&', '$(id) ; | `id` &&'),
    'html': (b'<b>x</b> & "y" <script>', '<b>x</b> & "y" <script>'),
    # CUPS allows 255 bytes; ippeveprinter, our test printer, fails a job whose
    # file name N-title.pdf passes 255 ("File name too long"), so 240 here.
    'long': (b'L' * 237 + b'end', 'L' * 237 + 'end'),
    'overlong': (b'ov\xc0\xaf \xe0\x80\xaf', 'ov?? ???'),
    'surrogate': (b'sur\xed\xa0\x80', 'sur???'),
    'c1': (b'c1 \xc2\x9b31m', 'c1 ?31m'),
    'rlo': ('rlo \u202eexe.pdf'.encode(), 'rlo ?exe.pdf'),
    'formula': (b'=HYPERLINK("http://x")', '=HYPERLINK("http://x")'),
}
# What cupsd 2.4.2 turns into "Untitled" / "anonymous" (see the module doc).
CUPS_REJECTS = {
    'crlf': b'line1\r\nSTATE: +media-empty-error',
    'tab': b'a\tb',
    'esc': b'esc \x1b[31m',
    'del': b'del\x7f',
    'ff': b'bad\xff\xfe',
    'long4000': b'L' * 4000,
}

TEMPLATE = r'Template "Sig ${code}\nU[${user}]\nT[${title}]"'


def expect(cond, what):
    """Fail with a message."""
    if not cond:
        raise AssertionError(what)


def clean_text(b, what):
    """b is valid UTF-8 with no control character but newline and no bidi override; return it."""
    try:
        t = b.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise AssertionError('%s is not valid UTF-8 (%s): %r' % (what, exc, b[max(0, exc.start - 40):exc.end + 40]))
    bad = [c for c in t if (ord(c) < 32 and c not in '\n\r') or 0x7f <= ord(c) <= 0x9f
           or c in '\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069']
    expect(not bad, '%s has control or bidi characters %r' % (what, bad[:5]))
    return t


def shown(value):
    """How printable() shows a value: \\xNN for bytes it escapes, \\\\ for a backslash."""
    out = ''
    t = value.decode('utf-8', 'surrogateescape')
    for c in t:
        o = ord(c)
        if 0xdc80 <= o <= 0xdcff:
            out += '\\x%02x' % (o - 0xdc00)
        elif c == '\\':
            out += '\\\\'
        elif o < 32 or 0x7f <= o <= 0x9f or c in '\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069':
            out += ''.join('\\x%02x' % b for b in c.encode())
        else:
            out += c
    return out


class Rig:
    """slapd, a site with a title/user template, cupsd (stock policy), two printers."""

    def __init__(self, env):
        """Start everything; queue wm (watermark only) and sec (hold/release)."""
        self.env = env
        self.slapd = h.Slapd(env)
        self.slapd.add_user(OWNER, PASSWORD)
        self.slapd.add_user(ODD_UID, ODD_PASSWORD)
        self.slapd.start()
        self.site = pgsite.Site(env, pgsite.ldap_conf(env, self.slapd) + ['LDAPTimeout 5', TEMPLATE])
        # The stock policy: over TCP, requesting-user-name becomes the job's owner.
        self.cupsd = pgsite.cupsd_for(env, self.site, policy='stock')
        self.p1 = h.IppEvePrinter(env, 'p1')
        self.p2 = h.IppEvePrinter(env, 'p2')
        self.cupsd.add_queue('wm', self.p1.uri, model='everywhere')
        self.site.cli('queue', 'enable', 'wm', cupsd=self.cupsd)
        self.cupsd.add_queue('sec', self.p2.uri, model='everywhere')
        self.site.cli('queue', 'enable', 'sec', cupsd=self.cupsd)
        self.cupsd.run(['lpadmin', '-p', 'sec', '-v', 'printguard:%s' % self.p2.uri])
        self.pdf = h.make_pdf(env.path / 'doc.pdf', pages=1, text='hostile test page')

    def submit(self, queue, user, title, must=True):
        """Print-Job over TCP as user with job-name title (bytes); return (job id or None, IPP response)."""
        ipp = h.IppClient('127.0.0.1', self.cupsd.port, user=user)
        r = ipp.request('Print-Job', '/printers/%s' % queue, [
            (h.T_URI, 'printer-uri', 'ipp://localhost/printers/%s' % queue),
            (h.T_MIME, 'document-format', 'application/pdf'), (h.T_NAME, 'job-name', title)],
            data=self.pdf.read_bytes())
        jobs = r.group(h.TAG_JOB)
        expect(not must or (jobs and jobs[0].get('job-id')), 'Print-Job as %r: 0x%04x %s' % (user, r.status, r.status_message()))
        return (jobs[0].get('job-id') if jobs else None), r

    def cli(self, *args, stdin=b'', check=True):
        """printguard -c CONF ARGS with byte arguments; return (status, stdout bytes, stderr bytes)."""
        env = self.cupsd.client_env()
        cmd = [str(pgsite.program('tools/printguard')).encode(), b'-c', str(self.site.conf).encode()]
        cmd += [a if isinstance(a, bytes) else str(a).encode() for a in args]
        p = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=60)
        if check:
            expect(p.returncode == 0, '%r exited %d: %r %r' % (cmd[3:], p.returncode, p.stdout, p.stderr))
        return p.returncode, p.stdout, p.stderr


def cups_filters_names(r):
    """Record what cupsd makes of values it rejects (CUPS 2.4.2: the job prints as Untitled / by anonymous,
    see the module doc); a CUPS that refuses such jobs outright is fine too. Return how many printed."""
    printed = 0
    for name, v in CUPS_REJECTS.items():
        for user, title in ((OWNER, v), (v, b'user ' + name.encode())):
            jid, resp = r.submit('wm', user, title, must=False)
            if jid is None:
                print('note: cupsd refused a job with %s %s: %s' % ('user' if user == v else 'title', name, resp.status_message()))
                continue
            printed += 1
            a = r.cupsd.job_attrs(jid)
            names = a['job-name'] if isinstance(a['job-name'], list) else [a['job-name']]
            expect(user == v or 'Untitled' in names, '%s: cupsd kept job-name %r' % (name, names))
            expect(user != v or a['job-originating-user-name'] == 'anonymous',
                   '%s: cupsd made the owner %r' % (name, a['job-originating-user-name']))
    return printed


def stamp_lines(path):
    """The U[...] and T[...] lines and the codes on each page of a PDF."""
    pages = []
    for text in h.pdftotext_pages(path):
        lines = [l.strip() for l in text.splitlines() if l.strip()]
        pages.append({'U': [l[2:-1] for l in lines if l.startswith('U[') and l.endswith(']')],
                      'T': [l[2:-1] for l in lines if l.startswith('T[') and l.endswith(']')],
                      'codes': re.findall(r'Sig ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}-[0-9A-Z])', text), 'text': text})
    return pages


def check_pdf(path, user_shown, title_shown):
    """A stamped PDF: qpdf --check passes; one page, one code, the values shown literally, no injected operators."""
    chk = h.run_checked(['qpdf', '--check', path], check=False)
    expect(chk.returncode == 0, 'qpdf --check %s: %s' % (path, chk.stdout + chk.stderr))
    pages = stamp_lines(path)
    expect(len(pages) == 1, '%s: %d pages' % (path, len(pages)))
    p = pages[0]
    expect(len(p['codes']) == 1, '%s: codes %r' % (path, p['codes']))
    expect(p['U'] == [user_shown], '%s: user line %r, wanted %r' % (path, p['U'], user_shown))
    expect(p['T'] == [title_shown], '%s: title line %r, wanted %r' % (path, p['T'], title_shown))
    expect(p['text'].count('hostile test page') == 1, '%s: original content changed: %r' % (path, p['text']))
    qdf = scratch_path(path)
    h.run_checked(['qpdf', '--qdf', '--object-streams=disable', path, qdf])
    data = qdf.read_bytes()
    # The only font operators are the original /F1 24 Tf and the stamp's three /PGfont lines.
    tf = re.findall(rb'(/[A-Za-z0-9]+) [0-9.]+ Tf', re.sub(rb'\((?:\\.|[^\\()])*\)', b'()', data))
    expect(sorted(set(tf)) == [b'/F1', b'/PGfont'] and tf.count(b'/F1') == 1 and tf.count(b'/PGfont') == 3,
           '%s: font operators %r (injected?)' % (path, tf))
    return p['codes'][0]


def scratch_path(path):
    """A scratch file name next to path."""
    return pathlib.Path(str(path) + '.qdf')


def run_hostile_jobs(r):
    """Every hostile value as a title and as a user on wm: each printed once, stamped literally."""
    names = list(HOSTILE)
    jobs = {}
    for i, name in enumerate(names):
        user = HOSTILE[name][0]
        title = HOSTILE[names[(i + 1) % len(names)]][0]
        jid, _ = r.submit('wm', user, title)
        jobs[jid] = (name, names[(i + 1) % len(names)])
    rejected = cups_filters_names(r)
    for jid in jobs:
        r.cupsd.wait_job(jid, 'completed', timeout=60)
        a = r.cupsd.job_attrs(jid)
        uname, tname = jobs[jid]
        # What reached printguard: the owner and title cupsd stored.
        expect(a['job-originating-user-name'].encode('utf-8', 'surrogateescape') != b'anonymous',
               '%s: cupsd refused the user name' % uname)
    files = r.p1.wait_files(len(jobs) + rejected, timeout=90)
    by_code = {}
    for f in files:
        for p in stamp_lines(f):
            for c in p['codes']:
                by_code[c] = f
    log = json.loads(r.cli('log', '--format', 'json', '--event', 'stamp', '--limit', '1000')[1])
    code_of = {e['job_id']: e['code'] for e in log if e['queue'] == 'wm'}
    for jid, (uname, tname) in jobs.items():
        f = by_code.get(code_of.get(jid))
        expect(f is not None, 'job %d (%s/%s): no printed page carries its code' % (jid, uname, tname))
        check_pdf(f, HOSTILE[uname][1], HOSTILE[tname][1])
    return jobs


def check_audit_formats(r, jobs):
    """log table/CSV/JSON: one record per line, right field count, valid UTF-8 and JSON; chain intact."""
    _, out, _ = r.cli('log', '--format', 'json', '--limit', '100000')
    records = json.loads(clean_text(out, 'log --format json'))
    _, out, _ = r.cli('log', '--format', 'csv', '--limit', '100000')
    rows = list(csv.reader(io.StringIO(clean_text(out, 'log --format csv'), newline='')))
    expect(len(rows) == len(records) + 1, 'CSV has %d rows for %d records' % (len(rows), len(records)))
    expect(all(len(x) == 14 for x in rows), 'CSV rows with a wrong field count: %r' % [x for x in rows if len(x) != 14][:2])
    expect(not any(f[:1] in ('=', '+', '-', '@') for x in rows[1:] for f in x[3:] if f), 'a CSV field starts a formula')
    _, out, _ = r.cli('log', '--limit', '100000')
    lines = clean_text(out, 'log table').splitlines()
    expect(len(lines) == len(records) + 1, 'log table: %d lines for %d records' % (len(lines), len(records)))
    users = {x['user'] for x in records}
    titles = {x['title'] for x in records}
    for uname, tname in jobs.values():
        expect(shown(HOSTILE[uname][0]) in users, 'user %s not recorded as %r: %r' % (uname, shown(HOSTILE[uname][0]), users))
        expect(shown(HOSTILE[tname][0]) in titles, 'title %s not recorded whole' % tname)
    _, out, _ = r.cli('log', 'verify')
    expect(b'every record verifies' in out, out)


def check_station(r):
    """Held jobs with hostile titles: one listing line each; the injection title releases and prints stamped."""
    held = []
    for name in ('pdf', 'quotes', 'overlong', 'rlo', 'c1', 'long'):
        jid, _ = r.submit('sec', OWNER, HOSTILE[name][0])
        held.append((jid, name))
    odd, _ = r.submit('sec', ODD_UID, HOSTILE['backslash'][0])
    for jid, _ in held + [(odd, None)]:
        r.cupsd.wait_job(jid, 'pending-held', timeout=60)
    _, out, _ = r.cli('release', '-d', 'sec', '--user', OWNER, '--password-stdin', '--list', stdin=PASSWORD.encode() + b'\n')
    text = clean_text(out, 'release --list')
    listed = [l for l in text.splitlines() if re.match(r'  \d+  sec  ', l)]
    expect(len(listed) == len(held), 'station lists %d lines for %d jobs:\n%s' % (len(listed), len(held), text))
    for jid, name in held:
        line = [l for l in listed if l.startswith('  %d  ' % jid)]
        expect(line == ['  %d  sec  %s' % (jid, shown(HOSTILE[name][0]))], 'job %d (%s): %r' % (jid, name, line))
    pdf_job = held[0][0]
    code, out, err = r.cli('release', '-d', 'sec', '--user', OWNER, '--password-stdin', '--job', str(pdf_job), '--wait', '30',
                           stdin=PASSWORD.encode() + b'\n', check=False)
    expect(code == 0 and b'printed' in out, 'release: %d %r %r' % (code, out, err))
    # The odd directory uid lists and releases its own job, and only that.
    code, out, err = r.cli('release', '-d', 'sec', '--user', ODD_UID, '--password-stdin', '--all', '--wait', '30',
                           stdin=ODD_PASSWORD.encode() + b'\n', check=False)
    text = clean_text(out, 'release as the odd uid')
    expect(code == 0 and 'job %d: printed' % odd in text and text.count('printed') == 1, 'odd uid release: %d %s %r' % (code, text, err))
    files = r.p2.wait_files(2, timeout=30)
    check_pdf(files[0], OWNER, HOSTILE['pdf'][1])
    check_pdf(files[1], ODD_UID, HOSTILE['backslash'][1])
    for jid, _ in held[1:]:
        expect(r.cupsd.job_state(jid) == 'pending-held', 'job %d left the held state' % jid)
    reasons = r.cupsd.printer_attrs('sec').get('printer-state-reasons')
    expect('media-empty-error' not in str(reasons), 'printer-state-reasons %r' % reasons)


def check_reports(r):
    """report CSV/JSON/HTML and user export: valid, escaped, one row per key."""
    _, out, _ = r.cli('report', '--by', 'user', '--format', 'json')
    rep = json.loads(clean_text(out, 'report json'))
    keys = [x['user'] for x in rep['rows']]
    expect(len(keys) == len(set(keys)), 'report keys repeat: %r' % keys)
    for name in ('quotes', 'html', 'overlong', 'rlo', 'formula'):
        expect(shown(HOSTILE[name][0]) in keys, 'report lacks user %s: %r' % (name, keys))
    _, out, _ = r.cli('report', '--by', 'user', '--format', 'csv')
    rows = list(csv.reader(io.StringIO(clean_text(out, 'report csv'), newline='')))
    expect(len(rows) == len(keys) + 1 and all(len(x) == 7 for x in rows), 'report CSV: %r' % rows[:3])
    expect(not any(x[0][:1] in ('=', '+', '-', '@') for x in rows[1:]), 'a report CSV key starts a formula')
    _, out, _ = r.cli('report', '--by', 'user', '--format', 'html')
    html = clean_text(out, 'report html')
    expect('<b>x</b>' not in html and '<script>' not in html, 'report HTML not escaped')
    expect('&lt;b&gt;x&lt;/b&gt; &amp; &quot;y&quot; &lt;script&gt;' in html, 'report HTML lacks the escaped user')
    for name in ('quotes', 'overlong', 'html'):
        _, out, _ = r.cli('user', 'export', HOSTILE[name][0])
        exp = json.loads(clean_text(out, 'user export %s' % name))
        expect(exp['user'] == shown(HOSTILE[name][0]) and len(exp['records']) >= 1, 'export %s: %r' % (name, exp))
        expect(all(x['user'] == shown(HOSTILE[name][0]) for x in exp['records']), 'export %s mixes users' % name)


def run_programs_directly(r):
    """Values CUPS would reject, given straight to the filter and the backend: no injection, nothing lost."""
    long_title = b'T' * 4000 + b'|end'
    user = b'u\xff\xfe\nSTATE: +media-empty-error\nATTR: marker-levels=0'
    env = dict(os.environ, PRINTER='wm', PRINTGUARD_CONF=str(r.site.conf), TMPDIR=str(r.env.path))
    opts = b'job-uuid=urn:uuid:0badc0de-0000-4000-8000-000000000001 job-originating-host-name=localhost'
    p = subprocess.run([b'printguard-watermark', b'4242', user, long_title + b'\nSTATE: +toner-empty-error', b'1', opts,
                        str(r.pdf).encode()], executable=str(pgsite.program('filters/printguard-watermark')),
                       capture_output=True, env=env, timeout=60)
    expect(p.returncode == 0, 'filter: %d %r' % (p.returncode, p.stderr))
    expect(not any(l.startswith((b'STATE:', b'ATTR:')) for l in p.stderr.splitlines()), 'filter stderr: %r' % p.stderr)
    out = r.env.path / 'direct.pdf'
    out.write_bytes(p.stdout)
    chk = h.run_checked(['qpdf', '--check', out], check=False)
    expect(chk.returncode == 0, 'qpdf --check: %s' % chk.stdout)
    page = stamp_lines(out)[0]
    expect(page['U'] == ['u?? STATE: +media-empty-error ATTR: marker-levels=0'], 'user line %r' % page['U'])
    expect(len(page['T']) == 1 and page['T'][0].replace(' ', '').endswith('|endSTATE:+toner-empty-error'),
           'title line %r' % page['T'][:1])
    rec = json.loads(r.cli('log', '--format', 'json', '--event', 'stamp', '--limit', '1')[1])[0]
    expect(rec['title'] == shown(long_title + b'\nSTATE: +toner-empty-error'), 'the long title was cut in the audit store')
    expect(rec['user'] == shown(user), 'user recorded as %r' % rec['user'])
    # The backend: no release, so it holds; its message lines are all its own.
    env = dict(env, PRINTER='sec', DEVICE_URI='printguard:%s' % r.p2.uri)
    p = subprocess.run([r.p2.uri.encode(), b'4243', user, long_title, b'1', opts.replace(b'0001', b'0002')],
                       executable=str(pgsite.program('backends/printguard')), capture_output=True, env=env,
                       stdin=subprocess.DEVNULL, timeout=60)
    expect(p.returncode == 3, 'backend: %d %r' % (p.returncode, p.stderr))
    for line in p.stderr.splitlines():
        expect(line.startswith((b'INFO: ', b'ERROR: ', b'DEBUG: ', b'WARNING: ')) and b'STATE:' not in line[:7],
               'backend stderr line %r' % line)
    rec = json.loads(r.cli('log', '--format', 'json', '--event', 'hold', '--limit', '1')[1])[0]
    expect(rec['user'] == shown(user) and rec['job_id'] == 4243, 'hold record %r' % rec)


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter', 'slapd', 'pdftotext', 'qpdf')
    with h.TestEnv('hostile') as env:
        r = Rig(env)
        jobs = run_hostile_jobs(r)
        check_station(r)
        run_programs_directly(r)
        check_audit_formats(r, jobs)
        check_reports(r)
        for q in ('wm', 'sec'):
            reasons = r.cupsd.printer_attrs(q).get('printer-state-reasons')
            expect('empty' not in str(reasons), 'queue %s: printer-state-reasons %r' % (q, reasons))
        print('hostile job and user names: printed and stamped literally, listed on one line, '
              'recorded whole; CSV/JSON/HTML valid and escaped; no STATE: injection')
    return 0


if __name__ == '__main__':
    sys.exit(main())
