"""pgharness - integration-test harness for printguard (stdlib only).

Starts private, throw-away instances of cupsd, ippeveprinter and slapd on
loopback addresses inside one temporary directory, and kills every process
it started (by pid, plus anything left in that process's session) when the
test ends, fails, or is interrupted.  Nothing touches the machine's own CUPS,
/etc/cups or /etc/pam.d.

Typical use::

    with TestEnv() as env:
        cups = Cupsd(env, policy='hardened')
        printer = IppEvePrinter(env)
        cups.add_queue('Q', printer.uri, model='everywhere')
        job = cups.submit('Q', make_pdf(env.path / 'in.pdf'))
        cups.wait_job(job, 'completed')
        printer.wait_files(1)

Environment: PG_SRCDIR (source tree, default: two levels above this file),
PG_BUILDDIR (built programs), PG_AVAHI_SHIM (prebuilt avahi-noop.so),
PG_TMPDIR (where the temp dir goes, default /tmp; keep it short, unix
sockets live below it), PG_KEEP_TMP=1 (keep the temp dir for post-mortem).
"""

import atexit
import base64
import hashlib
import html.parser
import http.client
import os
import pathlib
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

HARNESS_DIR = pathlib.Path(__file__).resolve().parent
CUPS_LIB = pathlib.Path('/usr/lib/cups')

__all__ = [
    'TestEnv', 'Cupsd', 'IppEvePrinter', 'Slapd', 'IppClient', 'IppError', 'Interrupted',
    'free_port', 'src_dir', 'build_dir', 'make_pdf', 'make_png', 'pdftotext_pages',
    'run_checked', 'wait_for', 'skip_unless_root', 'reap_pidfile',
    'SKIP', 'PASS', 'FAIL',
]

PASS, FAIL, SKIP = 0, 1, 77          # automake/CTest exit-status convention

# cupsd, lpadmin, slapd, slapadd, runuser live in sbin, which a plain user's
# (or a CI runner's) PATH may lack; every child process inherits this.
for _sbin in ('/usr/sbin', '/sbin'):
    if _sbin not in os.environ.get('PATH', '').split(':'):
        os.environ['PATH'] = os.environ.get('PATH', '/usr/bin:/bin') + ':' + _sbin


# ---------------------------------------------------------------------------
# Small utilities
# ---------------------------------------------------------------------------

def src_dir():
    """Return the printguard source tree (env PG_SRCDIR or this file's repo)."""
    return pathlib.Path(os.environ.get('PG_SRCDIR') or HARNESS_DIR.parent.parent)


def build_dir():
    """Return the build tree holding built programs (env PG_BUILDDIR or src)."""
    return pathlib.Path(os.environ.get('PG_BUILDDIR') or src_dir())


def free_port():
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run_checked(args, timeout=60, check=True, **kw):
    """Run a command with a timeout; raise with its output if it fails."""
    kw.setdefault('capture_output', True)
    kw.setdefault('text', True)
    proc = subprocess.run([str(a) for a in args], timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise RuntimeError('command failed (exit %d): %s\n--- stdout:\n%s\n--- stderr:\n%s'
                           % (proc.returncode, ' '.join(map(str, args)),
                              proc.stdout, proc.stderr))
    return proc


def wait_for(predicate, timeout=20.0, interval=0.05, what='condition'):
    """Poll predicate() until it returns a truthy value; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError('timed out after %.1f s waiting for %s' % (timeout, what))
        time.sleep(interval)


def skip_unless_root(*programs):
    """Exit 77 (skip) unless running as root with every named program on PATH."""
    if os.geteuid() != 0:
        print('SKIP: needs root (private cupsd runs filters as lp)')
        sys.exit(SKIP)
    missing = [p for p in programs if not shutil.which(p)]
    if missing:
        print('SKIP: missing programs: %s' % ' '.join(missing))
        sys.exit(SKIP)


def _pdf_escape(text):
    """Escape a string for a PDF literal string (...)."""
    return text.replace('\\', '\\\\').replace('(', '\\(').replace(')', '\\)')


def make_pdf(path, pages=1, text='printguard test page'):
    """Write a valid N-page Letter PDF with Helvetica text; return its path."""
    path = pathlib.Path(path)
    npages = int(pages)
    font_id = 3 + 2 * npages
    objs = {1: b'<< /Type /Catalog /Pages 2 0 R >>'}
    kids = ' '.join('%d 0 R' % (3 + 2 * i) for i in range(npages))
    objs[2] = ('<< /Type /Pages /Kids [%s] /Count %d >>' % (kids, npages)).encode()
    for i in range(npages):
        lines = ['%s' % text, 'Page %d of %d' % (i + 1, npages)]
        content = 'BT /F1 24 Tf 72 700 Td 28 TL\n'
        content += ''.join('(%s) Tj T*\n' % _pdf_escape(l) for l in lines) + 'ET\n'
        data = content.encode('cp1252', 'replace')     # WinAnsiEncoding
        objs[3 + 2 * i] = ('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] '
                           '/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>'
                           % (font_id, 4 + 2 * i)).encode()
        objs[4 + 2 * i] = b'<< /Length %d >>\nstream\n' % len(data) + data + b'endstream'
    objs[font_id] = (b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica '
                     b'/Encoding /WinAnsiEncoding >>')
    out = bytearray(b'%PDF-1.4\n%\xe2\xe3\xcf\xd3\n')
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b'%d 0 obj\n' % num + objs[num] + b'\nendobj\n'
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
    for num in sorted(objs):
        out += b'%010d 00000 n \n' % offsets[num]
    out += (b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n'
            % (len(objs) + 1, xref))
    path.write_bytes(bytes(out))
    path.chmod(0o644)
    return path


def make_png(path, width=64, height=64):
    """Write a small 8-bit greyscale PNG (a diagonal pattern); return its path."""
    path = pathlib.Path(path)

    def chunk(kind, data):
        """Return one PNG chunk: length, type, data, CRC."""
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    rows = b''.join(b'\x00' + bytes(((x + y) * 4) & 0xff for x in range(width))
                    for y in range(height))
    path.write_bytes(b'\x89PNG\r\n\x1a\n'
                     + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0))
                     + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))
    path.chmod(0o644)
    return path


def pdftotext_pages(path):
    """Return the text of each page of a PDF (pdftotext, split on form feeds)."""
    out = run_checked(['pdftotext', '-layout', str(path), '-']).stdout
    pages = out.split('\f')
    if pages and not pages[-1].strip():
        pages.pop()                     # pdftotext ends every page with \f
    return pages


def _proc_stat(pid):
    """Return (state, session id, start time) of a pid, or None if it is gone."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[0], int(fields[3]), int(fields[19])


def _alive(pid):
    """Tell whether pid exists and is not a zombie."""
    st = _proc_stat(pid)
    return st is not None and st[0] != 'Z'


def _session_members(sid):
    """Return the pids whose session id is sid (processes a leader left behind)."""
    pids = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            st = _proc_stat(int(entry))
            if st and st[1] == sid and st[0] != 'Z':
                pids.append(int(entry))
    return pids


def _kill(pid, sig):
    """Send sig to pid, ignoring a pid that is already gone."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def reap_pidfile(pidfile):
    """Kill processes recorded in a pidfile of an earlier, crashed run."""
    try:
        lines = pathlib.Path(pidfile).read_text().splitlines()
    except OSError:
        return
    for line in lines:
        pid, start = (int(x) for x in line.split()[:2])
        st = _proc_stat(pid)
        if st and st[2] == start:       # same process, not a reused pid
            for p in _session_members(pid) + [pid]:
                _kill(p, signal.SIGKILL)


# ---------------------------------------------------------------------------
# Minimal IPP client (enough for job/printer state and a few operations)
# ---------------------------------------------------------------------------

OP = {
    'Print-Job': 0x0002, 'Validate-Job': 0x0004, 'Create-Job': 0x0005,
    'Send-Document': 0x0006, 'Cancel-Job': 0x0008,
    'Get-Job-Attributes': 0x0009, 'Get-Jobs': 0x000A,
    'Get-Printer-Attributes': 0x000B, 'Hold-Job': 0x000C,
    'Release-Job': 0x000D, 'Restart-Job': 0x000E,
    'Set-Job-Attributes': 0x0014, 'CUPS-Get-Printers': 0x4002,
    'CUPS-Move-Job': 0x400D,
}
TAG_OPERATION, TAG_JOB, TAG_END, TAG_PRINTER = 0x01, 0x02, 0x03, 0x04
T_INTEGER, T_BOOLEAN, T_ENUM = 0x21, 0x22, 0x23
T_TEXT, T_NAME, T_KEYWORD, T_URI = 0x41, 0x42, 0x44, 0x45
T_CHARSET, T_LANGUAGE, T_MIME = 0x47, 0x48, 0x49
JOB_STATES = {3: 'pending', 4: 'pending-held', 5: 'processing',
              6: 'processing-stopped', 7: 'canceled', 8: 'aborted', 9: 'completed'}
PRINTER_STATES = {3: 'idle', 4: 'processing', 5: 'stopped'}
TERMINAL_JOB_STATES = ('canceled', 'aborted', 'completed')
MULTI_VALUED = {'job-state-reasons', 'printer-state-reasons',
                'document-format-supported', 'requested-attributes'}


class IppError(Exception):
    """An IPP request failed at the HTTP or IPP level."""


class _UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix-domain socket (cupsd's local listener)."""

    def __init__(self, path, timeout=10):
        """Remember the socket path; the Host header says localhost."""
        super().__init__('localhost', timeout=timeout)
        self.unix_path = path

    def connect(self):
        """Connect to the unix socket instead of TCP."""
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def _encode_value(tag, value):
    """Encode one IPP attribute value."""
    if tag in (T_INTEGER, T_ENUM):
        return struct.pack('>i', value)
    if tag == T_BOOLEAN:
        return b'\x01' if value else b'\x00'
    return value if isinstance(value, bytes) else str(value).encode('utf-8')


def _encode(op, request_id, groups, data=b''):
    """Encode an IPP request: groups is [(group_tag, [(tag, name, value(s))])]."""
    out = bytearray(struct.pack('>BBhi', 2, 0, op, request_id))
    for gtag, attrs in groups:
        out.append(gtag)
        for tag, name, values in attrs:
            if not isinstance(values, (list, tuple)):
                values = [values]
            for i, v in enumerate(values):
                raw = _encode_value(tag, v)
                nm = b'' if i else name.encode()
                out += struct.pack('>BH', tag, len(nm)) + nm
                out += struct.pack('>H', len(raw)) + raw
    out.append(TAG_END)
    return bytes(out) + data


def _decode_value(tag, raw):
    """Decode one IPP attribute value into a Python value."""
    if tag in (T_INTEGER, T_ENUM) and len(raw) == 4:
        return struct.unpack('>i', raw)[0]
    if tag == T_BOOLEAN:
        return raw != b'\x00'
    if tag in (0x35, 0x36) and len(raw) >= 2:      # text/name with language
        ll = struct.unpack('>H', raw[:2])[0]
        tl = struct.unpack('>H', raw[2 + ll:4 + ll])[0]
        return raw[4 + ll:4 + ll + tl].decode('utf-8', 'replace')
    if tag == 0x32 and len(raw) == 9:              # resolution
        return struct.unpack('>iib', raw)
    if tag == 0x33 and len(raw) == 8:              # rangeOfInteger
        return struct.unpack('>ii', raw)
    if tag in (0x30, 0x31):                        # octetString, dateTime
        return raw
    if tag < 0x20:                                 # out-of-band: no-value, ...
        return None
    return raw.decode('utf-8', 'replace')


def _decode(body):
    """Decode an IPP response into (status, [(group_tag, {name: [values]})])."""
    if len(body) < 8:
        raise IppError('short IPP response (%d bytes)' % len(body))
    _, _, status, _ = struct.unpack('>BBhi', body[:8])
    pos, groups, cur, last = 8, [], None, None
    stack = []                          # open collections: [dict, member name]
    while pos < len(body):
        tag = body[pos]
        pos += 1
        if tag < 0x10:                  # delimiter tag
            if tag == TAG_END:
                break
            cur, last = {}, None
            groups.append((tag, cur))
            continue
        nlen = struct.unpack('>H', body[pos:pos + 2])[0]
        name = body[pos + 2:pos + 2 + nlen].decode('utf-8', 'replace')
        pos += 2 + nlen
        vlen = struct.unpack('>H', body[pos:pos + 2])[0]
        raw = body[pos + 2:pos + 2 + vlen]
        pos += 2 + vlen
        if tag == 0x37:                 # endCollection
            if stack:
                stack.pop()
            continue
        if tag == 0x4A and stack:       # memberAttrName
            stack[-1][1] = raw.decode('utf-8', 'replace')
            continue
        if stack:
            target, key = stack[-1][0], stack[-1][1]
        else:
            if cur is None:
                raise IppError('attribute outside any group')
            target, key = cur, (name if nlen else last)
            last = key
        value = {} if tag == 0x34 else _decode_value(tag, raw)
        target.setdefault(key, []).append(value)
        if tag == 0x34:                 # begCollection
            stack.append([value, None])
    return status, groups


def _flatten(attrs):
    """Turn {name: [v]} into {name: v} except for known multi-valued names."""
    out = {}
    for k, v in attrs.items():
        out[k] = v if (len(v) != 1 or k in MULTI_VALUED) else v[0]
    for k, names in (('job-state', JOB_STATES), ('printer-state', PRINTER_STATES)):
        if isinstance(out.get(k), int):
            out[k] = names.get(out[k], str(out[k]))
    return out


class IppResponse:
    """A decoded IPP response: status code plus attribute groups."""

    def __init__(self, status, groups):
        """Store the status and the (group tag, attributes) list."""
        self.status = status
        self.groups = groups

    @property
    def ok(self):
        """Tell whether the status is successful-ok*."""
        return self.status < 0x0100

    def group(self, tag):
        """Return the flattened attributes of every group with this tag."""
        return [_flatten(a) for t, a in self.groups if t == tag]

    def status_message(self):
        """Return the operation status-message, if any."""
        ops = self.group(TAG_OPERATION)
        return ops[0].get('status-message', '') if ops else ''


class IppClient:
    """Sends IPP requests over TCP or cupsd's unix socket."""

    def __init__(self, host='localhost', port=631, unix_path=None, user=None):
        """Target host:port (TCP) or unix_path; user is requesting-user-name."""
        self.host, self.port, self.unix_path = host, port, unix_path
        self.user = user or pwd.getpwuid(os.geteuid()).pw_name
        self._request_id = 0

    def request(self, op, path, attrs=(), groups=(), data=b'', timeout=10):
        """Send one operation to path; return an IppResponse."""
        self._request_id += 1
        oper = [(T_CHARSET, 'attributes-charset', 'utf-8'),
                (T_LANGUAGE, 'attributes-natural-language', 'en'),
                (T_NAME, 'requesting-user-name', self.user)]
        body = _encode(OP[op] if isinstance(op, str) else op, self._request_id,
                       [(TAG_OPERATION, oper[:2] + list(attrs) + oper[2:])]
                       + list(groups), data)
        headers = {'Content-Type': 'application/ipp'}
        if self.unix_path:
            conn = _UnixHTTPConnection(self.unix_path, timeout=timeout)
            # cupsd checks this claim against SO_PEERCRED (libcups does the same).
            headers['Authorization'] = 'PeerCred ' + self.user
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request('POST', path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
        except OSError as exc:
            raise IppError('%s to %s: %s' % (op, self.unix_path or self.port, exc)) from exc
        finally:
            conn.close()
        if resp.status != 200:
            raise IppError('%s: HTTP %d %s' % (op, resp.status, resp.reason))
        return IppResponse(*_decode(payload))


# ---------------------------------------------------------------------------
# TestEnv: temp dir + process ownership
# ---------------------------------------------------------------------------

_LIVE_ENVS = []
_HANDLERS_INSTALLED = False
_PENDING_SIGNAL = None                  # first SIGINT/SIGTERM/SIGHUP received
_CLOSING = 0                            # TestEnv.close() calls in progress


class Interrupted(BaseException):
    """Raised in the test's main flow when SIGINT, SIGTERM or SIGHUP arrives."""


def _cleanup_all():
    """Close every live TestEnv."""
    for env in list(_LIVE_ENVS):
        env.close()


def _at_exit():
    """Close what is still open; if a signal stopped us, die of that signal."""
    _cleanup_all()
    if _PENDING_SIGNAL is not None:
        signal.signal(_PENDING_SIGNAL, signal.SIG_DFL)
        os.kill(os.getpid(), _PENDING_SIGNAL)


def _on_signal(signum, frame):
    """Unwind the test (with/finally blocks close their TestEnv), unless cleaning up."""
    global _PENDING_SIGNAL
    if _PENDING_SIGNAL is None:
        _PENDING_SIGNAL = signum
    if _CLOSING:
        return                          # let close() finish; _at_exit() re-raises
    raise Interrupted('signal %d' % signum)


def _install_handlers():
    """Install atexit and SIGINT/SIGTERM/SIGHUP handling once per process."""
    global _HANDLERS_INSTALLED
    if _HANDLERS_INSTALLED:
        return
    atexit.register(_at_exit)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) != signal.SIG_IGN:     # respect nohup / background &
            signal.signal(sig, _on_signal)
    _HANDLERS_INSTALLED = True


class Proc:
    """A process started by TestEnv.spawn()."""

    def __init__(self, popen, name, log):
        """Wrap a Popen with a name and its log file path."""
        self.popen, self.name, self.log = popen, name, log
        self.pid = popen.pid

    def running(self):
        """Tell whether the process is still running."""
        return self.popen.poll() is None

    def log_text(self):
        """Return the process's stdout/stderr so far."""
        try:
            return self.log.read_text(errors='replace')
        except OSError:
            return ''


class TestEnv:
    """Owns one temp dir and every process started in it; cleans up on exit."""

    __test__ = False                    # not a pytest test class

    def __init__(self, name='test', keep=None, prefix=None):
        """Create $PG_TMPDIR/printguard-NAME-XXXX (0755, lp must traverse it) + pidfile."""
        base = os.environ.get('PG_TMPDIR') or '/tmp'
        prefix = prefix or 'printguard-%s-' % name
        self.path = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        if len(str(self.path)) > 60:    # unix socket paths below it must stay < 108
            shutil.rmtree(self.path)
            raise ValueError('temp dir %s too long for unix sockets; set PG_TMPDIR'
                             % self.path)
        self.path.chmod(0o755)
        self.pidfile = self.path / 'pids'
        self.pidfile.touch()
        self.keep = keep if keep is not None else os.environ.get('PG_KEEP_TMP') == '1'
        self.procs = []
        self.services = []
        self.closed = False
        _install_handlers()
        _LIVE_ENVS.append(self)

    def __enter__(self):
        """Return self."""
        return self

    def __exit__(self, exc_type, exc, tb):
        """Stop everything (the temp dir stays if keep / PG_KEEP_TMP=1)."""
        self.close()
        return False

    def mkdir(self, *parts, mode=0o755):
        """Create (and return) a directory below the temp dir."""
        p = self.path.joinpath(*parts)
        p.mkdir(parents=True, exist_ok=True)
        p.chmod(mode)
        return p

    def spawn(self, args, name, env=None, cwd=None):
        """Start a process in its own session, log to NAME.log, record its pid."""
        log = self.path / ('%s.log' % name)
        with open(log, 'ab') as out:
            popen = subprocess.Popen([str(a) for a in args], stdin=subprocess.DEVNULL,
                                     stdout=out, stderr=subprocess.STDOUT, env=env,
                                     cwd=cwd, start_new_session=True)
        proc = Proc(popen, name, log)
        self.procs.append(proc)
        st = _proc_stat(proc.pid)
        with open(self.pidfile, 'a') as f:
            f.write('%d %d %s\n' % (proc.pid, st[2] if st else 0, name))
        return proc

    def kill(self, proc, timeout=10.0):
        """SIGTERM a spawned process, SIGKILL it after timeout, reap its session."""
        if proc.popen.poll() is None:   # not reaped yet, so the pid is still ours
            for sig, limit in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
                if _alive(proc.pid):
                    _kill(proc.pid, sig)
                deadline = time.monotonic() + limit
                while _alive(proc.pid) and time.monotonic() < deadline:
                    time.sleep(0.02)
            try:
                proc.popen.wait(1)      # reap the zombie
            except subprocess.TimeoutExpired:
                pass
        # Children (filters, backends, ippeveprinter -c commands) stay in the
        # leader's session unless they call setsid(); none of ours do.
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            left = _session_members(proc.pid)
            if not left:
                break
            for pid in left:
                _kill(pid, signal.SIGKILL)
            time.sleep(0.02)
        if proc in self.procs:
            self.procs.remove(proc)

    def leftover_pids(self):
        """Return pids of our processes (or their sessions) still alive."""
        pids = []
        for line in self.pidfile.read_text().splitlines():
            pid, start = (int(x) for x in line.split()[:2])
            st = _proc_stat(pid)
            if st and st[2] == start and st[0] != 'Z':     # not a reused pid
                pids.append(pid)
            pids += _session_members(pid)
        return sorted(set(pids))

    def close(self):
        """Stop services, kill remaining processes, remove the temp dir."""
        global _CLOSING
        if self.closed:
            return
        self.closed = True
        _CLOSING += 1
        try:
            for svc in reversed(self.services):
                try:
                    svc.stop()
                except Exception as exc:    # keep cleaning up
                    print('pgharness: stopping %s: %s' % (type(svc).__name__, exc),
                          file=sys.stderr)
            for proc in list(self.procs):
                self.kill(proc, timeout=5)
            if self in _LIVE_ENVS:
                _LIVE_ENVS.remove(self)
            if self.keep:
                print('pgharness: keeping %s' % self.path, file=sys.stderr)
            else:
                for _ in range(20):         # a dying process may still add a file
                    shutil.rmtree(self.path, ignore_errors=True)
                    if not self.path.exists():
                        break
                    time.sleep(0.05)
                else:
                    print('pgharness: could not remove %s' % self.path, file=sys.stderr)
        finally:
            _CLOSING -= 1


def _install_program(src, dest, mode):
    """Copy a program into a private ServerBin dir, root-owned, with mode;
    mode None links to it instead, so its own (installed) mode counts."""
    dest = pathlib.Path(dest)
    if dest.is_symlink() or dest.exists():
        dest.unlink()
    if mode is None:
        dest.symlink_to(pathlib.Path(src).resolve())
        return dest
    shutil.copyfile(src, dest)
    os.chown(dest, 0, 0)
    dest.chmod(mode)
    return dest


# ---------------------------------------------------------------------------
# cupsd
# ---------------------------------------------------------------------------

def stock_policy_text():
    """Return CUPS's shipped default policy (from /usr/share/cups/cupsd.conf.default)."""
    text = pathlib.Path('/usr/share/cups/cupsd.conf.default').read_text()
    block = re.search(r'^<Policy default>$.*?^</Policy>$', text, re.M | re.S)
    return 'DefaultPolicy default\n%s\n' % block.group(0)


def hardened_policy_text():
    """Return the shipped hardened policy snippet (conf/cupsd-hardened-policy.conf)."""
    return (src_dir() / 'conf' / 'cupsd-hardened-policy.conf').read_text()


CAPTURE_BACKEND = r"""#!/bin/sh
# pgcapture - test backend: writes the job's final data to DIR/JOBID.prn,
# where the device URI is pgcapture:DIR.  Installed by pgharness only.
if [ $# -eq 0 ]; then
  echo 'direct pgcapture "Unknown" "printguard test capture backend"'
  exit 0
fi
dir=${DEVICE_URI#pgcapture:}
echo "DEBUG: pgcapture writing $dir/$1.prn" >&2
if [ -n "$6" ]; then
  cat "$6" > "$dir/$1.prn" || exit 1
else
  cat > "$dir/$1.prn" || exit 1
fi
exit 0
"""


class Cupsd:
    """A private cupsd on 127.0.0.1:PORT and a unix socket, all paths in the temp dir."""

    def __init__(self, env, policy='stock', filters=(), backends=(), setenv=None,
                 extra_conf=(), max_hold_time=None, name='cupsd', start=True):
        """Write the config and private ServerBin; start unless start=False.

        filters: paths (or (path, name) / (path, name, mode)) copied into
        ServerBin/filter, 0755; mode None links to the file instead.
        backends: paths, or (path, mode) / (path, mode, name); mode 0700 makes
        cupsd run the backend as root, 0755 as lp; mode None links to the
        file, keeping its own mode (an installed backend).
        setenv: {VAR: value} written as SetEnv lines (seen by filters/backends).
        """
        self.env = env
        self.name = name
        self.dir = env.mkdir(name)
        self.port = free_port()
        self.socket = str(self.dir / 'cups.sock')
        self.server_root = env.mkdir(name, 'etc')
        self.request_root = env.mkdir(name, 'spool', mode=0o710)
        self.temp_dir = env.mkdir(name, 'spool', 'tmp', mode=0o1770)
        self.cache_dir = env.mkdir(name, 'cache', mode=0o770)
        self.state_dir = env.mkdir(name, 'state')
        self.log_dir = env.mkdir(name, 'log')
        self.server_bin = env.mkdir(name, 'bin')
        self.cupsd_conf = self.server_root / 'cupsd.conf'
        self.files_conf = self.server_root / 'cups-files.conf'
        self.proc = None
        self.capture_dir = None         # set by capture_uri()
        self.ipp = IppClient(unix_path=self.socket)
        self._make_server_bin()
        for f in filters:
            f = (f,) if isinstance(f, (str, os.PathLike)) else tuple(f)
            self.install_filter(*f)
        for b in backends:
            b = (b,) if isinstance(b, (str, os.PathLike)) else tuple(b)
            self.install_backend(*b)
        self._write_conf(policy, setenv or {}, list(extra_conf), max_hold_time)
        env.services.append(self)
        if start:
            self.start()

    # -- configuration ------------------------------------------------------

    def _make_server_bin(self):
        """Build ServerBin: per-file symlinks in backend/ filter/, dir symlinks else."""
        for sub in ('backend', 'filter'):
            dest = self.server_bin / sub
            dest.mkdir(mode=0o755)
            dest.chmod(0o755)
            for prog in sorted((CUPS_LIB / sub).iterdir()):
                (dest / prog.name).symlink_to(prog)
        for sub in ('cgi-bin', 'daemon', 'driver', 'monitor', 'notifier'):
            if (CUPS_LIB / sub).is_dir():
                (self.server_bin / sub).symlink_to(CUPS_LIB / sub)

    def install_filter(self, path, name=None, mode=0o755):
        """Copy a filter into the private ServerBin/filter (root-owned); return it."""
        dest = self.server_bin / 'filter' / (name or pathlib.Path(path).name)
        return _install_program(path, dest, mode)

    def install_backend(self, path, mode=0o755, name=None):
        """Copy a backend into ServerBin/backend; mode 0700 runs it as root."""
        dest = self.server_bin / 'backend' / (name or pathlib.Path(path).name)
        return _install_program(path, dest, mode)

    def capture_uri(self):
        """Install the pgcapture backend; return a URI whose jobs land in capture_dir."""
        self.capture_dir = self.env.mkdir(self.name, 'capture', mode=0o1777)
        script = self.dir / 'pgcapture'
        script.write_text(CAPTURE_BACKEND)
        self.install_backend(script, 0o755, 'pgcapture')
        return 'pgcapture:%s' % self.capture_dir

    def captured(self, job_id):
        """Return the data pgcapture received for a job, or None if it never ran."""
        path = self.capture_dir / ('%d.prn' % job_id)
        return path.read_bytes() if path.exists() else None

    def _write_conf(self, policy, setenv, extra_conf, max_hold_time):
        """Write cups-files.conf and cupsd.conf."""
        d, log = self.dir, self.log_dir
        files = [
            'ServerRoot %s' % self.server_root,
            'RequestRoot %s' % self.request_root,
            'TempDir %s' % self.temp_dir,
            'CacheDir %s' % self.cache_dir,
            'StateDir %s' % self.state_dir,
            'ServerBin %s' % self.server_bin,
            'ServerKeychain %s' % (self.server_root / 'ssl'),
            'ErrorLog %s' % (log / 'error_log'),
            'AccessLog %s' % (log / 'access_log'),
            'PageLog %s' % (log / 'page_log'),
            'Printcap %s' % (d / 'printcap'),
            'User lp', 'Group lp', 'SystemGroup root', 'FileDevice No',
            'LogFilePerm 0644', 'CreateSelfSignedCerts no',
        ]
        files += ['SetEnv %s %s' % (k, v) for k, v in setenv.items()]
        if policy == 'stock':
            policy_text = stock_policy_text()
        elif policy == 'hardened':
            policy_text = hardened_policy_text()
        else:
            raise ValueError("policy must be 'stock' or 'hardened'")
        conf = [
            'LogLevel debug', 'MaxLogSize 0', 'LogTimeFormat usecs',
            'Listen 127.0.0.1:%d' % self.port, 'Listen %s' % self.socket,
            'Browsing No', 'BrowseLocalProtocols none', 'DefaultShared No',
            'WebInterface No', 'DefaultAuthType Basic',
            '<Location />', '  Order allow,deny', '</Location>',
            '<Location /admin>', '  Order allow,deny', '</Location>',
            '<Location /admin/conf>', '  AuthType Default', '  Require user @SYSTEM',
            '  Order allow,deny', '</Location>',
        ]
        if max_hold_time is not None:
            conf.append('MaxHoldTime %d' % max_hold_time)
        conf += extra_conf
        self.files_conf.write_text('\n'.join(files) + '\n')
        self.cupsd_conf.write_text('\n'.join(conf) + '\n' + policy_text)

    # -- lifecycle ----------------------------------------------------------

    def start(self, timeout=20):
        """Validate the config (cupsd -t), start cupsd -f, wait until it answers."""
        args = ['/usr/sbin/cupsd', '-c', self.cupsd_conf, '-s', self.files_conf]
        # cupsd -t exits 0 even for unknown directives or operation names; only
        # its stderr tells.  Lines about our two config files are errors; the
        # rest are notes about the machine or existing queues ('Filter "pstops"
        # not found.', 'Printer drivers are deprecated...', 'q: File
        # ".../commandtops" not available', 'Bad policy "default" ... of
        # printers.conf' after a policy switch) and are left to the test.
        test = run_checked(args + ['-t'], timeout=20)
        problems = [l for l in test.stderr.splitlines()
                    if str(self.cupsd_conf) in l or str(self.files_conf) in l]
        if problems:
            raise RuntimeError('cupsd -t: %s' % '\n'.join(problems))
        self.proc = self.env.spawn(args[:1] + ['-f'] + args[1:], self.name,
                                   env=self._daemon_env())

        def ready():
            """Tell whether cupsd answers IPP on its socket; fail if it died."""
            if not self.proc.running():
                raise RuntimeError('cupsd exited (%s)\n%s\n%s' % (
                    self.proc.popen.returncode, self.proc.log_text(), self.error_log()[-3000:]))
            if not os.path.exists(self.socket):
                return False
            try:
                return self.ipp.request('CUPS-Get-Printers', '/', timeout=2) is not None
            except IppError:
                return False
        wait_for(ready, timeout, 0.05, 'cupsd to answer on %s' % self.socket)

    def _daemon_env(self):
        """Return a minimal environment for cupsd (no CUPS_* from the caller)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith('CUPS_')}
        env['HOME'] = str(self.dir)
        return env

    def stop(self):
        """Stop cupsd (SIGTERM, then SIGKILL) and anything left in its session."""
        if self.proc is not None:
            self.env.kill(self.proc, timeout=10)
            self.proc = None

    def restart(self):
        """Stop and start again with the same dirs, keeping queues and jobs."""
        self.stop()
        self.start()

    # -- clients ------------------------------------------------------------

    def client_env(self, tcp=False):
        """Return the environment for lp/lpstat/lpadmin/cancel (unix socket or TCP)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith('CUPS_')}
        env['HOME'] = str(self.dir)     # no ~/.cups/lpoptions or client.conf
        env['LC_ALL'] = 'C'             # untranslated messages to match on
        if tcp:
            env['CUPS_SERVER'] = '127.0.0.1:%d' % self.port
            env['CUPS_STATEDIR'] = str(self.state_dir)  # root's local certificate
        else:
            env['CUPS_SERVER'] = self.socket
        return env

    def run(self, args, user=None, check=True, timeout=30, input=None, tcp=False):
        """Run a CUPS client command against this cupsd, optionally as user or over TCP.

        A non-root user runs via runuser without CUPS_STATEDIR (so it cannot
        borrow root's local certificate).  The command gets no controlling
        terminal, so a password prompt fails instead of hanging.
        """
        args = [str(a) for a in args]
        env = self.client_env(tcp)
        if user is not None and user != pwd.getpwuid(os.geteuid()).pw_name:
            args = (['runuser', '-u', user, '--', 'env', '-u', 'CUPS_STATEDIR',
                     'CUPS_SERVER=%s' % env['CUPS_SERVER']] + args)
        return run_checked(args, timeout=timeout, check=check, input=input, env=env,
                           stdin=None if input is not None else subprocess.DEVNULL,
                           start_new_session=True)

    def add_queue(self, name, device_uri, ppd=None, model=None, options=None,
                  enable=True, timeout=60):
        """Create a queue (lpadmin -p NAME -v URI [-m MODEL | -P PPD] -E)."""
        args = ['lpadmin', '-p', name, '-v', device_uri]
        if ppd:
            args += ['-P', str(ppd)]
        elif model:
            args += ['-m', model]
        for k, v in (options or {}).items():
            args += ['-o', '%s=%s' % (k, v)]
        if enable:
            args.append('-E')
        self.run(args, timeout=timeout)
        if model == 'everywhere':
            # cupsd builds the driverless PPD in a background thread after
            # lpadmin returns; until then the queue is a raw queue.
            wait_for(lambda: self.printer_attrs(name).get('printer-make-and-model')
                     not in (None, 'Local Raw Printer') and self.queue_ppd(name).exists(),
                     timeout, 0.05, 'driverless PPD for queue %s' % name)
        return name

    def queue_ppd(self, name):
        """Return the path of a queue's PPD in the private ServerRoot."""
        return self.server_root / 'ppd' / ('%s.ppd' % name)

    def set_queue_ppd(self, name, text):
        """Replace a queue's PPD with text (uploaded with lpadmin -P)."""
        tmp = self.dir / ('%s.new.ppd' % name)
        tmp.write_text(text)
        self.run(['lpadmin', '-p', name, '-P', tmp])
        tmp.unlink()

    def submit(self, queue, file, options=None, title=None, user=None, args=()):
        """Submit a file with lp (optionally as user); return the job id."""
        cmd = ['lp', '-d', queue]
        if title is not None:
            cmd += ['-t', title]
        for k, v in (options or {}).items():
            cmd += ['-o', k if v is None else '%s=%s' % (k, v)]
        cmd += list(args) + [str(file)]
        out = self.run(cmd, user=user).stdout
        m = re.search(r'request id is \S+-(\d+)', out)
        if not m:
            raise RuntimeError('no job id in lp output: %r' % out)
        return int(m.group(1))

    def request(self, op, path, attrs=()):
        """Send an IPP request as root over the unix socket; say so if cupsd died."""
        try:
            return self.ipp.request(op, path, attrs)
        except IppError as exc:
            if not self.env.path.exists():
                raise IppError('%s; the test dir %s was deleted under us (by another '
                               'process cleaning up /tmp?)' % (exc, self.env.path)) from exc
            if self.proc is None or not self.proc.running():
                code = self.proc.popen.returncode if self.proc else 'not started'
                raise IppError('%s; cupsd is not running (exit status %s)\n%s' % (
                    exc, code, self.error_log()[-2000:])) from exc
            raise

    def job_attrs(self, job_id):
        """Return the job's attributes (job-state as a keyword) via IPP."""
        resp = self.request('Get-Job-Attributes', '/jobs/', [
            (T_URI, 'job-uri', 'ipp://localhost/jobs/%d' % job_id),
            (T_KEYWORD, 'requested-attributes', ['all'])])
        if not resp.ok:
            raise IppError('Get-Job-Attributes %d: 0x%04x %s' % (
                job_id, resp.status, resp.status_message()))
        return resp.group(TAG_JOB)[0]

    def job_state(self, job_id):
        """Return the job-state keyword ('pending-held', 'completed', ...)."""
        return self.job_attrs(job_id)['job-state']

    def wait_job(self, job_id, states=('completed',), timeout=30):
        """Wait until the job is in one of states; fail early on another final state."""
        states = (states,) if isinstance(states, str) else tuple(states)
        seen = {}

        def check():
            """Return the job's attributes once it is in one of states."""
            seen.clear()
            seen.update(self.job_attrs(job_id))
            state = seen['job-state']
            if state in states:
                return seen
            # cupsd parks a job whose filter failed as processing-stopped with
            # job-completed-with-errors; it never moves on by itself.
            if state in TERMINAL_JOB_STATES or (
                    state == 'processing-stopped'
                    and 'job-completed-with-errors' in seen.get('job-state-reasons', [])):
                raise AssertionError('job %d ended %s (%s), wanted %s\n%s' % (
                    job_id, state, seen.get('job-printer-state-message'), states,
                    self.job_log(job_id)))
            return None
        try:
            return wait_for(check, timeout, 0.1, 'job %d to be %s' % (job_id, states))
        except TimeoutError as exc:
            raise TimeoutError('%s; now %s %s\n%s' % (
                exc, seen.get('job-state'), seen.get('job-state-reasons'),
                self.job_log(job_id))) from None

    def job_log(self, job_id, lines=60):
        """Return the last error_log lines about one job (argv/envp dumps left out)."""
        tag = '[Job %d] ' % job_id
        picked = [l for l in self.error_log().splitlines()
                  if tag in l and '] argv[' not in l and '] envp[' not in l]
        return '\n'.join(picked[-lines:])

    def printer_attrs(self, queue):
        """Return a queue's attributes (printer-state as a keyword) via IPP."""
        resp = self.request('Get-Printer-Attributes', '/printers/%s' % queue, [
            (T_URI, 'printer-uri', 'ipp://localhost/printers/%s' % queue)])
        if not resp.ok:
            raise IppError('Get-Printer-Attributes %s: 0x%04x %s' % (
                queue, resp.status, resp.status_message()))
        return resp.group(TAG_PRINTER)[0]

    def cancel(self, job_id, purge=False):
        """Cancel a job as root via IPP (purge-job=true removes it entirely)."""
        attrs = [(T_URI, 'job-uri', 'ipp://localhost/jobs/%d' % job_id)]
        if purge:
            attrs.append((T_BOOLEAN, 'purge-job', True))
        return self.request('Cancel-Job', '/jobs/', attrs)

    def log_mark(self):
        """Return the current error_log size, for error_log(since=mark)."""
        try:
            return (self.log_dir / 'error_log').stat().st_size
        except OSError:
            return 0

    def error_log(self, since=0):
        """Return the error_log text (from byte offset since)."""
        return self._read_log('error_log', since)

    def page_log(self):
        """Return the page_log text."""
        return self._read_log('page_log', 0)

    def _read_log(self, name, since):
        """Read one of the log files, '' if it does not exist yet."""
        try:
            with open(self.log_dir / name, 'rb') as f:
                f.seek(since)
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''


# ---------------------------------------------------------------------------
# ippeveprinter
# ---------------------------------------------------------------------------

def avahi_shim(env=None):
    """Return the avahi-noop.so path: PG_AVAHI_SHIM, or build it (into env's dir)."""
    shim = os.environ.get('PG_AVAHI_SHIM')
    if shim:
        if not os.path.exists(shim):
            raise FileNotFoundError('PG_AVAHI_SHIM=%s does not exist' % shim)
        return shim
    out = (env.path if env else pathlib.Path(tempfile.gettempdir())) / 'avahi-noop.so'
    if not out.exists():
        run_checked(['cc', '-shared', '-fPIC', '-O2', '-o', out,
                     HARNESS_DIR / 'avahi-noop.c'])
    return str(out)


class IppEvePrinter:
    """ippeveprinter on localhost:PORT, keeping every received document."""

    def __init__(self, env, name='pgtest', formats='application/pdf',
                 command='/bin/true', extra_args=(), start=True):
        """Prepare dirs; start unless start=False.

        command is ippeveprinter's -c per-job command (its output lands in
        N-name.prn, ignored by received_files()); the default /bin/true makes
        jobs finish at once.  command=None restores ippeveprinter's simulated
        5-15 s of printing per job.
        """
        self.env = env
        self.name = name
        self.dir = env.mkdir('ippeve-%s' % name)
        self.spool = env.mkdir('ippeve-%s' % name, 'spool')
        self.port = free_port()
        self.formats = formats
        self.command = command
        self.extra_args = list(extra_args)
        self.proc = None
        self.ipp = IppClient('127.0.0.1', self.port)
        self._form_defaults = {}        # form page -> its values at first use
        env.services.append(self)
        if start:
            self.start()

    @property
    def uri(self):
        """The printer URI to give cupsd (ipp://localhost:PORT/ipp/print)."""
        return 'ipp://localhost:%d/ipp/print' % self.port

    def start(self, timeout=15):
        """Start ippeveprinter with the avahi shim preloaded; wait until it answers."""
        args = ['/usr/sbin/ippeveprinter', '-n', 'localhost', '-p', self.port,
                '-d', self.spool, '-k', '-f', self.formats, '-r', 'off',
                '-K', self.env.mkdir('ippeve-%s' % self.name, 'keys', mode=0o700)]
        if self.command:
            args += ['-c', self.command]
        args += self.extra_args + [self.name]
        env = dict(os.environ, LD_PRELOAD=avahi_shim(self.env), HOME=str(self.dir))
        self.proc = self.env.spawn(args, 'ippeve-%s' % self.name, env=env)

        def ready():
            """Tell whether ippeveprinter answers IPP; fail if it died."""
            if not self.proc.running():
                raise RuntimeError('ippeveprinter exited: %s' % self.proc.log_text())
            try:
                return self.attrs() is not None
            except IppError:
                return False
        wait_for(ready, timeout, 0.05, 'ippeveprinter on port %d' % self.port)

    def stop(self):
        """Stop ippeveprinter."""
        if self.proc is not None:
            self.env.kill(self.proc, timeout=5)
            self.proc = None

    def attrs(self, requested=('all',)):
        """Return the printer's attributes (Get-Printer-Attributes)."""
        resp = self.ipp.request('Get-Printer-Attributes', '/ipp/print', [
            (T_URI, 'printer-uri', self.uri),
            (T_KEYWORD, 'requested-attributes', list(requested))], timeout=3)
        return resp.group(TAG_PRINTER)[0]

    def state_reasons(self):
        """Return printer-state-reasons as a list."""
        return self.attrs(('printer-state-reasons',)).get('printer-state-reasons', [])

    def jobs(self, which='all'):
        """Return the printer's jobs (Get-Jobs which-jobs=which)."""
        resp = self.ipp.request('Get-Jobs', '/ipp/print', [
            (T_URI, 'printer-uri', self.uri), (T_KEYWORD, 'which-jobs', which),
            (T_KEYWORD, 'requested-attributes',
             ['job-id', 'job-state', 'job-name', 'job-originating-user-name'])])
        return resp.group(TAG_JOB)

    def received_files(self):
        """Return the documents received so far, sorted by job id."""
        files = [p for p in self.spool.iterdir() if p.is_file()
                 and re.match(r'\d+-', p.name) and p.suffix != '.prn']
        return sorted(files, key=lambda p: int(p.name.split('-', 1)[0]))

    def wait_files(self, n, timeout=30):
        """Wait until n documents arrived and no job is still active; return them."""
        def check():
            """Return the files once n arrived and every job is finished."""
            files = self.received_files()
            if len(files) >= n and not self.jobs('not-completed'):
                return files
            return None
        return wait_for(check, timeout, 0.1, '%d file(s) at ippeveprinter' % n)

    def _form_get(self, path, params=None):
        """GET one of ippeveprinter's web pages (forms take a query string); return HTML."""
        query = '?' + urllib.parse.urlencode(params) if params is not None else ''
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=5)
        try:
            conn.request('GET', path + query, headers={'Host': 'localhost:%d' % self.port})
            resp = conn.getresponse()
            body = resp.read().decode('utf-8', 'replace')
        finally:
            conn.close()
        if resp.status != 200:
            raise IppError('GET %s: HTTP %d' % (path, resp.status))
        return body

    def _form_values(self, path):
        """Return the current field values of the form on /supplies or /media."""
        if path not in self._form_defaults:
            parser = _FormParser()
            parser.feed(self._form_get(path))
            self._form_defaults[path] = parser
        return dict(self._form_defaults[path].values)

    def supplies(self):
        """Return {form field: label} for the supplies, e.g. {'supply1': 'Black Toner'}."""
        self._form_values('/supplies')
        return dict(self._form_defaults['/supplies'].labels)

    def set_supply(self, **levels):
        """Set supply levels in percent by field, e.g. set_supply(supply1=0) -> toner-empty."""
        values = self._form_values('/supplies')
        values.update({k: str(v) for k, v in levels.items()})
        self._form_get('/supplies', values)

    def set_media_empty(self, trays=(1, 3)):
        """Set the given trays' levels to 0 sheets so the printer reports media-empty."""
        values = self._form_values('/media')
        values.update({'level%d' % t: '0' for t in trays})
        self._form_get('/media', values)

    def clear_errors(self):
        """Restore the supply and media levels ippeveprinter started with."""
        self._form_get('/supplies', self._form_values('/supplies'))
        self._form_get('/media', self._form_values('/media'))


class _FormParser(html.parser.HTMLParser):
    """Collects the fields of ippeveprinter's form: value of each input/select."""

    def __init__(self):
        """Start with no fields."""
        super().__init__()
        self.values, self.labels = {}, {}
        self._select = self._option = self._label = self._last_label = None
        self._option_text = ''
        self._first = {}                # select name -> its first option's value

    def handle_starttag(self, tag, attrs):
        """Record inputs, selects and (selected or first) options."""
        a = dict(attrs)
        if tag == 'th':
            self._label = ''
        elif tag == 'input' and a.get('name'):
            self.values[a['name']] = a.get('value', '')
            self.labels[a['name']] = (self._last_label or '').rstrip(':')
        elif tag == 'select':
            self._select = a.get('name')
        elif tag == 'option' and self._select:
            self._option = a
            self._option_text = ''

    def handle_data(self, data):
        """Collect label and option texts."""
        if self._label is not None:
            self._label += data
        if self._option is not None:
            self._option_text += data

    def handle_endtag(self, tag):
        """Resolve an option's value; remember the selected one, else the first."""
        if tag == 'th' and self._label is not None:
            self._last_label, self._label = self._label, None
        elif tag == 'option' and self._option is not None:
            value = self._option.get('value', self._option_text)
            self._first.setdefault(self._select, value)
            if 'selected' in self._option:
                self.values[self._select] = value
            self._option = None
        elif tag == 'select' and self._select:
            self.values.setdefault(self._select, self._first.get(self._select, ''))
            self._select = None


# ---------------------------------------------------------------------------
# slapd
# ---------------------------------------------------------------------------

def _ssha(password):
    """Return an {SSHA} userPassword value for password."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return '{SSHA}' + base64.b64encode(digest + salt).decode()


def _ldif_value(name, value):
    """Return one LDIF line, base64-encoding values that need it."""
    value = str(value)
    if (not value or value[0] in ' :<' or value[-1] == ' '
            or any(ord(c) < 32 or ord(c) > 126 for c in value)):
        return '%s:: %s' % (name, base64.b64encode(value.encode()).decode())
    return '%s: %s' % (name, value)


class Slapd:
    """A private slapd (back_mdb) on ldap://, ldaps:// (127.0.0.1) and ldapi://."""

    SUFFIX = 'dc=example,dc=test'

    def __init__(self, env, ldif='', name='slapd', root_password='rootsecret'):
        """Write slapd.conf, make the CAs and server cert; start() loads and runs it."""
        self.env = env
        self.name = name
        self.dir = env.mkdir(name, mode=0o700)
        self.db = env.mkdir(name, 'db', mode=0o700)
        self.tls = env.mkdir(name, 'tls')
        self.port = free_port()
        self.tls_port = free_port()
        self.socket = str(self.dir / 'ldapi')
        self.root_dn = 'cn=admin,%s' % self.SUFFIX
        self.root_password = root_password
        self.people = 'ou=people,%s' % self.SUFFIX
        self.groups_dn = 'ou=groups,%s' % self.SUFFIX
        self.extra_ldif = ldif
        self.pending_ldif = ''          # users added before the first start()
        self.users = {}                 # uid -> dn
        self.groups = {}                # cn -> [uid]
        self.proc = None
        self.loaded = False
        self.conf = self.dir / 'slapd.conf'
        self._make_certs()
        self._write_conf()
        env.services.append(self)

    @property
    def uri(self):
        """Plain LDAP URI (connect to 127.0.0.1, never localhost)."""
        return 'ldap://127.0.0.1:%d' % self.port

    @property
    def ldaps_uri(self):
        """LDAPS URI; the server cert has SAN IP:127.0.0.1."""
        return 'ldaps://127.0.0.1:%d' % self.tls_port

    @property
    def ldapi_uri(self):
        """ldapi:// URI of the unix socket."""
        return 'ldapi://%s' % urllib.parse.quote(self.socket, safe='')

    def user_dn(self, uid):
        """Return the DN of a user entry."""
        return 'uid=%s,%s' % (uid, self.people)

    def _make_certs(self):
        """Create a CA, a server cert (SAN IP:127.0.0.1) and an unrelated CA."""
        t = self.tls
        ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
        for ca, cn in (('ca', 'printguard test CA'), ('wrong-ca', 'unrelated CA')):
            run_checked(['openssl', 'req', '-x509', '-days', '7', '-subj', '/CN=%s' % cn,
                         '-keyout', t / ('%s.key' % ca), '-out', t / ('%s.pem' % ca)] + ec)
        ext = t / 'server.ext'
        ext.write_text('subjectAltName=IP:127.0.0.1,DNS:localhost\n'
                       'basicConstraints=CA:FALSE\n'
                       'keyUsage=digitalSignature,keyEncipherment\n'
                       'extendedKeyUsage=serverAuth\n')
        run_checked(['openssl', 'req', '-new', '-subj', '/CN=127.0.0.1',
                     '-keyout', t / 'server.key', '-out', t / 'server.csr'] + ec)
        run_checked(['openssl', 'x509', '-req', '-days', '7', '-in', t / 'server.csr',
                     '-CA', t / 'ca.pem', '-CAkey', t / 'ca.key', '-CAcreateserial',
                     '-extfile', ext, '-out', t / 'server.pem'])
        self.ca_file = t / 'ca.pem'
        self.wrong_ca_file = t / 'wrong-ca.pem'

    def _write_conf(self):
        """Write slapd.conf (schemas, back_mdb, TLS, simple ACLs)."""
        schema = pathlib.Path('/etc/ldap/schema')
        lines = ['include %s' % (schema / ('%s.schema' % s))
                 for s in ('core', 'cosine', 'inetorgperson', 'nis')]
        lines += [
            'pidfile %s' % (self.dir / 'slapd.pid'),
            'argsfile %s' % (self.dir / 'slapd.args'),
            'modulepath /usr/lib/ldap', 'moduleload back_mdb',
            'TLSCACertificateFile %s' % self.ca_file,
            'TLSCertificateFile %s' % (self.tls / 'server.pem'),
            'TLSCertificateKeyFile %s' % (self.tls / 'server.key'),
            'database mdb', 'maxsize 16777216',
            'suffix "%s"' % self.SUFFIX,
            'rootdn "%s"' % self.root_dn,
            'rootpw %s' % _ssha(self.root_password),
            'directory %s' % self.db,
            'index objectClass eq', 'index uid eq', 'index memberUid eq',
            'access to attrs=userPassword by self write by anonymous auth by * none',
            'access to * by * read',
        ]
        self.conf.write_text('\n'.join(lines) + '\n')
        run_checked(['slaptest', '-f', self.conf, '-u'])

    def _base_ldif(self):
        """Return the LDIF for the suffix and the people/groups OUs."""
        return ('dn: %s\nobjectClass: dcObject\nobjectClass: organization\n'
                'dc: example\no: printguard test\n\n'
                'dn: %s\nobjectClass: organizationalUnit\nou: people\n\n'
                'dn: %s\nobjectClass: organizationalUnit\nou: groups\n\n'
                % (self.SUFFIX, self.people, self.groups_dn))

    def _user_ldif(self, uid, password, employee_number, uid_number, extra):
        """Return the LDIF of one inetOrgPerson + posixAccount entry."""
        attrs = [('objectClass', 'inetOrgPerson'), ('objectClass', 'posixAccount'),
                 ('uid', uid), ('cn', uid), ('sn', uid),
                 ('userPassword', _ssha(password)), ('uidNumber', uid_number),
                 ('gidNumber', uid_number), ('homeDirectory', '/nonexistent'),
                 ('mail', '%s@example.test' % uid)]
        if employee_number is not None:
            attrs.append(('employeeNumber', employee_number))
        attrs += list((extra or {}).items())
        return ('dn: %s\n' % self.user_dn(uid)
                + ''.join(_ldif_value(k, v) + '\n' for k, v in attrs) + '\n')

    def _group_ldif(self, cn, members, gid_number):
        """Return the LDIF of one posixGroup with memberUid values."""
        return ('dn: cn=%s,%s\nobjectClass: posixGroup\ncn: %s\ngidNumber: %d\n'
                % (cn, self.groups_dn, cn, gid_number)
                + ''.join('memberUid: %s\n' % m for m in members) + '\n')

    def add_user(self, uid, password, employeeNumber=None, groups=(), extra=None):
        """Add a user (inetOrgPerson+posixAccount) and posixGroup memberships."""
        uid_number = 10000 + len(self.users)
        ldif = self._user_ldif(uid, password, employeeNumber, uid_number, extra)
        self.users[uid] = self.user_dn(uid)
        if self.loaded:
            self.ldap_modify(ldif, add=True)
        else:
            self.pending_ldif += ldif
        for g in groups:
            new = g not in self.groups
            self.groups.setdefault(g, []).append(uid)
            if not self.loaded:
                continue
            if new:
                self.ldap_modify(self._group_ldif(g, [uid], 20000 + len(self.groups)),
                                 add=True)
            else:
                self.ldap_modify('dn: cn=%s,%s\nchangetype: modify\nadd: memberUid\n'
                                 'memberUid: %s\n' % (g, self.groups_dn, uid))
        return self.user_dn(uid)

    def _load(self):
        """slapadd the base entries, queued users/groups and the caller's LDIF."""
        ldif = self._base_ldif() + self.pending_ldif
        for i, (cn, members) in enumerate(sorted(self.groups.items())):
            ldif += self._group_ldif(cn, members, 20001 + i)
        ldif += self.extra_ldif
        path = self.dir / 'initial.ldif'
        path.write_text(ldif)
        run_checked(['slapadd', '-q', '-f', self.conf, '-l', path])
        self.loaded = True

    def start(self, timeout=15):
        """Load the data on first start, run slapd -d 0, wait for all listeners."""
        if not self.loaded:
            self._load()
        urls = '%s/ %s/ %s/' % (self.uri, self.ldaps_uri, self.ldapi_uri)
        self.proc = self.env.spawn(['/usr/sbin/slapd', '-d', '0', '-h', urls,
                                    '-f', self.conf], self.name)

        def ready():
            """Tell whether all three slapd listeners are up; fail if it died."""
            if not self.proc.running():
                raise RuntimeError('slapd exited: %s' % self.proc.log_text())
            for port in (self.port, self.tls_port):
                try:
                    socket.create_connection(('127.0.0.1', port), 1).close()
                except OSError:
                    return False
            return os.path.exists(self.socket)
        wait_for(ready, timeout, 0.05, 'slapd on ports %d/%d' % (self.port, self.tls_port))

    def stop(self):
        """Stop slapd (it can be started again with the same data)."""
        if self.proc is not None:
            self.env.kill(self.proc, timeout=10)
            self.proc = None

    def client_env(self, ca=None):
        """Env for ldap* tools: no /etc/ldap/ldap.conf or ldaprc; optional CA file."""
        env = dict(os.environ, LDAPCONF='/dev/null', LDAPRC='pg-no-ldaprc',
                   HOME=str(self.dir))
        if ca is not None:
            env.update(LDAPTLS_CACERT=str(ca), LDAPTLS_REQCERT='demand')
        return env

    def ldap_modify(self, ldif, add=False):
        """Apply LDIF as the rootdn over ldap:// (ldapadd when add=True)."""
        run_checked(['ldapmodify', '-x', '-H', self.uri, '-D', self.root_dn,
                     '-w', self.root_password] + (['-a'] if add else []),
                    input=ldif, env=self.client_env())
