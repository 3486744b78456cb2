#!/usr/bin/env python3
"""The installed form of the watermark filter, run directly as cupsd runs it.

With the default fast start (configure without --disable-fast-start) the
filter carries libqpdf and libstdc++ and loads GnuTLS only when qpdf first needs
it: this test checks the link (no libqpdf, libstdc++ or GnuTLS among the
program's shared libraries), that the paths that need GnuTLS still work (an
encrypted PDF is decrypted and stamped; a hidden-title queue's full rewrite
makes a new file ID), and, where it can hide GnuTLS in a private mount
namespace, that a document needing GnuTLS is refused with a clear error while
an ordinary one is still stamped. With a shared link only the middle part runs. It also checks the document
digest in the signed record against Python's own BLAKE2b.
"""

import hashlib
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

STATIC = os.environ.get('PG_FAST_START') == 'yes'
GNUTLS = os.environ.get('PG_GNUTLS_SONAME', '')


def run_filter(env, site, queue, pdf, wrap=()):
    """Run the filter like cupsd (argv + environment); return (status, stdout bytes, stderr)."""
    e = {'PATH': '/usr/bin:/bin', 'LANG': 'C', 'PRINTER': queue, 'TMPDIR': str(env.path),
         'PRINTGUARD_CONF': str(site.conf), 'CONTENT_TYPE': 'application/pdf'}
    args = list(wrap) + [str(pgsite.program('filters/printguard-watermark')), '12', 'alice', 'Budget 2027', '1',
                         'job-uuid=urn:uuid:0f3c6c2e-6d1e-4d53-9a55-1d1b1d6f0a12', str(pdf)]
    r = subprocess.run(args, env=e, capture_output=True, timeout=120)
    return r.returncode, r.stdout, r.stderr.decode('utf-8', 'replace')


def stamped_pages(env, out_bytes, name):
    """Write the filter's output and return its pages' text (Poppler)."""
    out = env.path / name
    out.write_bytes(out_bytes)
    return h.pdftotext_pages(out)


def needed_libraries(path):
    """The DT_NEEDED entries of an ELF program."""
    r = subprocess.run(['readelf', '-d', str(path)], capture_output=True, text=True, check=True)
    return [line.split('[', 1)[1].rstrip(']') for line in r.stdout.splitlines() if '(NEEDED)' in line]


def gnutls_paths():
    """Every file the dynamic linker may load as GnuTLS (ldconfig's cache)."""
    r = subprocess.run(['/sbin/ldconfig', '-p'], capture_output=True, text=True)
    paths = set()
    for line in r.stdout.splitlines():
        if line.strip().startswith(GNUTLS + ' ') and '=>' in line:
            paths.add(os.path.realpath(line.split('=>', 1)[1].strip()))
    return sorted(paths)


def blake2b_tree(data):
    """The document digest as printguard-watermark(8) defines it, by Python's hashlib."""
    leaf = 1 << 20
    root = hashlib.blake2b(digest_size=32, person=b'printguard-root1')
    for i in range(0, len(data), leaf):
        root.update(hashlib.blake2b(data[i:i + leaf], digest_size=32, person=b'printguard-leaf1').digest())
    root.update(len(data).to_bytes(8, 'little'))
    return root.hexdigest()


def large_pdf(path, filler):
    """A one-page PDF carrying an unused stream of `filler` bytes (several digest leaves)."""
    content = b'BT /F1 12 Tf 72 700 Td (large document) Tj ET'
    objs = [b'<< /Type /Catalog /Pages 2 0 R >>',
            b'<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
            b'<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> '
            b'/Contents 4 0 R >>',
            b'<< /Length %d >>\nstream\n%s\nendstream' % (len(content), content),
            b'<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
            b'<< /Length %d >>\nstream\n%s\nendstream' % (filler, bytes(i % 251 for i in range(filler)))]
    out = b'%PDF-1.4\n'
    offsets = []
    for i, body in enumerate(objs):
        offsets.append(len(out))
        out += b'%d 0 obj\n%s\nendobj\n' % (i + 1, body)
    xref = len(out)
    out += b'xref\n0 %d\n0000000000 65535 f \n' % (len(objs) + 1)
    out += b''.join(b'%010d 00000 n \n' % o for o in offsets)
    out += b'trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n' % (len(objs) + 1, xref)
    path.write_bytes(out)
    return path


def check_document_digest(env, site, pdf):
    """The filter's signed record names pdf's document digest, as printguard
    verify shows it, printguard digest prints it and hashlib computes it."""
    status, out, err = run_filter(env, site, 'q', pdf)
    assert status == 0, '%s: exit %d\n%s' % (pdf.name, status, err)
    codes = re.findall(r'PG alice ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){4}-[0-9A-Z])', ' '.join(
        stamped_pages(env, out, pdf.stem + '-out.pdf')))
    assert codes, 'no code on %s' % pdf.name
    want = blake2b_tree(pdf.read_bytes())
    shown = site.cli('verify', codes[0]).stdout
    assert 'document: digest %s' % want in shown, 'verify shows another digest than hashlib (%s):\n%s' % (want, shown)
    printed = site.cli('digest', pdf).stdout
    assert printed == '%s  %s\n' % (want, pdf), 'printguard digest: %r, hashlib: %s' % (printed, want)


def main():
    with h.TestEnv('filter-binary') as env:
        fixtures = env.mkdir('fixtures')
        subprocess.run([str(h.build_dir() / 'tests' / 'pdfgen'), str(fixtures)], check=True,
                       stdout=subprocess.DEVNULL)
        encrypted = fixtures / 'encrypted-empty-user.pdf'
        plain = h.make_pdf(env.path / 'plain.pdf', pages=2, text='ordinary page')
        site = pgsite.Site(env, ['Template "PG ${user} ${code}"', 'Watermark Required',
                                 '<Queue hidden>', 'HideTitles Yes', '</Queue>'])
        prog = pgsite.program('filters/printguard-watermark')

        if STATIC:
            libs = needed_libraries(prog)
            for lib in libs:
                assert not lib.startswith(('libqpdf', 'libgnutls', 'libstdc++', 'libsodium', 'libsqlite3')), \
                    'the static filter still needs %s at start (NEEDED: %s)' % (lib, ', '.join(libs))

        # The document digest, from a one-leaf and a four-leaf document (the
        # latter hashed on helper threads), against an independent implementation.
        check_document_digest(env, site, plain)
        check_document_digest(env, site, large_pdf(env.path / 'large.pdf', (3 << 20) + 12345))
        r = site.cli('digest', env.path / 'missing.pdf', plain, check=False)
        assert r.returncode == 4 and 'missing.pdf' in r.stderr and str(plain) in r.stdout, \
            'an unreadable file must be reported and the others still printed: %r' % (r,)

        # An encrypted PDF (AES-256, empty user password): qpdf decrypts it with GnuTLS.
        status, out, err = run_filter(env, site, 'q', encrypted)
        assert status == 0, 'encrypted input: exit %d\n%s' % (status, err)
        assert b'/Encrypt' not in out, 'the output is still encrypted'
        pages = stamped_pages(env, out, 'encrypted-out.pdf')
        assert len(pages) == 2 and all('PG alice' in p for p in pages), 'encrypted input not stamped: %r' % pages

        # A hidden-title queue: the whole file is rewritten with a new /ID (MD5 in GnuTLS).
        status, out, err = run_filter(env, site, 'hidden', plain)
        assert status == 0, 'hidden-title queue: exit %d\n%s' % (status, err)
        assert b'Budget 2027' not in out, 'the title leaked into the output'
        pages = stamped_pages(env, out, 'hidden-out.pdf')
        assert all('PG alice' in p for p in pages), 'hidden-title output not stamped: %r' % pages

        # GnuTLS missing (hidden by /dev/null in a private mount namespace): an
        # ordinary document is stamped as usual; one that needs GnuTLS is not printed.
        libs = gnutls_paths() if STATIC and GNUTLS else []
        if libs and os.geteuid() == 0 and shutil.which('unshare'):
            mounts = ' && '.join('mount --bind /dev/null %s' % shlex.quote(p) for p in libs)
            hide = ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', mounts + ' && exec "$@"', 'hide-gnutls']
            status, out, err = run_filter(env, site, 'q', plain, wrap=hide)
            if 'mount' in err and status != 0 and b'%PDF' not in out:
                print('SKIP part: cannot bind-mount in a private namespace here: %s' % err.strip())
            else:
                assert status == 0, 'without GnuTLS an ordinary PDF must still be stamped: exit %d\n%s' % (status, err)
                assert all('PG alice' in p for p in stamped_pages(env, out, 'nognutls-plain.pdf'))
                status, out, err = run_filter(env, site, 'q', encrypted, wrap=hide)
                assert status == 1, 'encrypted input without GnuTLS: exit %d, must fail\n%s' % (status, err)
                assert out == b'', 'something was printed without GnuTLS (%d bytes)' % len(out)
                assert 'cannot load %s' % GNUTLS in err and 'nothing printed' in err, \
                    'the error must name the missing GnuTLS:\n%s' % err
        elif STATIC:
            print('SKIP part: GnuTLS cannot be hidden here (not root, no unshare, or %r not in ldconfig)' % GNUTLS)
    print('PASS')
    return h.PASS


if __name__ == '__main__':
    sys.exit(main())
