#!/usr/bin/env python3
"""printguard purge against a real cupsd: a held job past its retention is
canceled and purged (job and document file gone), a younger one stays, one
being released is untouched, jobs on other queues are not printguard's; two
purges at once neither fail nor purge twice; --dry-run changes nothing;
expired releases go and old audit details are redacted with the chain intact."""

import json
import os
import pathlib
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / 'harness'))
import pgharness as h  # noqa: E402
import pgsite  # noqa: E402

OWNER = 'daemon'
RETENTION = 4  # seconds


def dfiles(cupsd, jid):
    """The job's document files in cupsd's spool."""
    return sorted(cupsd.request_root.glob('d%05d-*' % jid))


def gone(cupsd, jid):
    """Whether cupsd no longer knows the job."""
    try:
        cupsd.job_attrs(jid)
        return False
    except h.IppError:
        return True


def purge(site, cupsd, *args):
    """Start printguard purge --json; return the Popen."""
    cmd = [str(pgsite.program('tools/printguard')), '-c', str(site.conf), 'purge', '--json'] + list(args)
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cupsd.client_env())


def main():
    h.skip_unless_root('cupsd', 'ippeveprinter', 'sqlite3')
    with h.TestEnv() as env:
        site = pgsite.Site(env, ['Watermark Off'])
        cupsd = pgsite.cupsd_for(env, site)
        site.write_conf(['Watermark Off', 'HeldJobRetention %ds' % RETENTION, 'DetailRetention 2s',
                         'SpoolDir %s' % cupsd.request_root])
        printer = h.IppEvePrinter(env)
        cupsd.add_queue('sec', printer.uri, model='everywhere')
        cupsd.run(['lpadmin', '-p', 'sec', '-v', 'printguard:%s' % printer.uri])
        cupsd.add_queue('plain', printer.uri, model='everywhere')
        pdf = env.path / 'doc.pdf'
        h.make_pdf(pdf, pages=1)
        pdf.chmod(0o644)

        def held(queue, args=()):
            jid = cupsd.submit(queue, pdf, user=OWNER, args=args)
            cupsd.wait_job(jid, 'pending-held', timeout=60)
            return jid

        old, releasing = held('sec'), held('sec')
        other = held('plain', ['-H', 'indefinite'])
        time.sleep(RETENTION + 1)
        young = held('sec')
        for j in (old, releasing, young):
            assert dfiles(cupsd, j), 'job %d has no document in the spool' % j
        now = int(time.time())
        db = sqlite3.connect(site.audit_db)
        uuid = cupsd.job_attrs(releasing)['job-uuid']
        # A release in flight for one old job, and an expired one.
        db.execute("INSERT INTO releases (job_uuid,queue,created,expires,key_id,record,mac) VALUES (?,?,?,?,?,?,?)",
                   (uuid, 'sec', now, now + 120, 'TEST', b'r', b'm'))
        db.execute("INSERT INTO releases (job_uuid,queue,created,expires,key_id,record,mac) VALUES (?,?,?,?,?,?,?)",
                   ('urn:uuid:stale', 'sec', now - 600, now - 300, 'TEST', b'r', b'm'))
        db.commit()

        # Documents of jobs cupsd no longer knows: an old one goes, a fresh one
        # (a job being submitted right now) stays.
        stale_doc, fresh_doc = cupsd.request_root / 'd99990-001', cupsd.request_root / 'd99991-001'
        for f in (stale_doc, fresh_doc):
            f.write_bytes(b'%PDF-1.4 leftover')
        os.utime(stale_doc, (now - 3600, now - 3600))

        dry = purge(site, cupsd, '--dry-run')
        out, err = dry.communicate(timeout=60)
        assert dry.returncode == 0, err
        report = json.loads(out)
        assert report['dry_run'] and len(report['purged_jobs']) == 1, report
        assert not gone(cupsd, old) and dfiles(cupsd, old), 'dry run changed something'

        # Two purges at once: both succeed, the old job is purged exactly once.
        access_log = cupsd.log_dir / 'access_log'
        mark = access_log.stat().st_size if access_log.exists() else 0
        a, b = purge(site, cupsd), purge(site, cupsd)
        ra, rb = [json.loads(p.communicate(timeout=120)[0]) for p in (a, b)]
        assert a.returncode == 0 and b.returncode == 0, (ra, rb)
        # Expired jobs go in batches, one Purge-Jobs request per batch (with
        # 10 000 held jobs, a Cancel-Job per job took minutes).
        with open(access_log, 'rb') as f:
            f.seek(mark)
            ops = f.read().decode('utf-8', 'replace')
        assert ops.count(' Purge-Jobs ') == 1 and ' Cancel-Job ' not in ops, ops
        assert len(ra['purged_jobs']) + len(rb['purged_jobs']) == 1, (ra, rb)
        assert gone(cupsd, old), 'the old held job is still in CUPS'
        assert not dfiles(cupsd, old), 'the old job\'s document is still in the spool'
        assert cupsd.job_state(young) == 'pending-held' and dfiles(cupsd, young), 'the young job was purged'
        assert cupsd.job_state(releasing) == 'pending-held', 'a job being released was purged'
        assert any('being released' in k for k in ra['kept_jobs'] + rb['kept_jobs']), (ra, rb)
        assert cupsd.job_state(other) == 'pending-held', 'a job on a queue without printguard was purged'
        purges = [e for e in site.events('purge') if 'held job purged' in e['rest']]
        assert len(purges) == 1, 'purge audited %d times' % len(purges)

        assert not stale_doc.exists(), 'an old leftover document is still in the spool'
        assert fresh_doc.exists(), 'a fresh spool file was removed'
        stale = db.execute("SELECT COUNT(*) FROM releases WHERE job_uuid='urn:uuid:stale'").fetchone()[0]
        assert stale == 0, 'expired release record kept'
        redacted = db.execute("SELECT COUNT(*) FROM events WHERE redacted=1").fetchone()[0]
        assert redacted > 0 and ra['records_redacted'] + rb['records_redacted'] == redacted, (redacted, ra, rb)
        assert 'every record verifies' in site.cli('log', 'verify').stdout
        # Idempotent: nothing left to do.
        again = purge(site, cupsd)
        r3 = json.loads(again.communicate(timeout=60)[0])
        assert again.returncode == 0 and not r3['purged_jobs'], r3
        # PurgeNotice: the owner of a job near its purge is mailed once, by the
        # local sendmail (a stand-in here that keeps what it is given).
        mailbox = env.path / 'mailbox'
        fake = env.path / 'sendmail'
        fake.write_text('#!/bin/sh\n[ "$1 $2" = "-t -oi" ] || exit 64\ncat >> %s\necho "--" >> %s\n' % (mailbox, mailbox))
        fake.chmod(0o755)
        noticed = held('sec')
        site.write_conf(['Watermark Off', 'HeldJobRetention 1h', 'PurgeNotice 3599s', 'NoticeMailDomain example.test',
                         'SendmailCommand %s' % fake, 'SpoolDir %s' % cupsd.request_root])
        time.sleep(2)
        sent = []
        for _ in range(2):
            run = purge(site, cupsd)
            rn = json.loads(run.communicate(timeout=60)[0])
            assert run.returncode == 0, rn
            sent.append(rn['notices_sent'])
        mail = mailbox.read_text()
        assert sent[0] >= 1 and sent[1] == 0, 'notices per run %s: not once per job' % sent
        assert mail.count('Your print job %d on printer sec ' % noticed) == 1, mail
        assert mail.count('To: %s@example.test' % OWNER) == sent[0] and 'will be deleted after' in mail, mail
        assert cupsd.job_state(noticed) == 'pending-held', 'a noticed job was purged before its time'

        # AnonymiseAfter: the owner, inactive for longer, becomes a pseudonym.
        site.write_conf(['Watermark Off', 'HeldJobRetention 1d', 'DetailRetention 2s', 'AnonymiseAfter 1s',
                         'SpoolDir %s' % cupsd.request_root])
        time.sleep(2)
        anon = purge(site, cupsd)
        r4 = json.loads(anon.communicate(timeout=60)[0])
        assert anon.returncode == 0 and r4['users_anonymised'] >= 1, r4
        assert not site.events_for(OWNER), 'records still name the inactive user'
        assert 'every record verifies' in site.cli('log', 'verify').stdout
        print('purge: old job and file gone, young and releasing kept, concurrent purges safe, details redacted')
    return 0


if __name__ == '__main__':
    sys.exit(main())
