// purge.cc - retention enforcement.
#include "purge.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <thread>

#include "audit.h"
#include "cupsjobs.h"
#include "keys.h"
#include "util.h"

namespace pg {

namespace {

// state_dir() - the directory holding the audit store.
std::string state_dir(const Config& cfg) {
  size_t p = cfg.audit_db.rfind('/');
  return p == std::string::npos || p == 0 ? "/" : cfg.audit_db.substr(0, p);
}

// spool_files() - the document files d<ID>-<N> in the spool, by job id.
std::map<int, std::vector<std::string>> spool_files(const std::string& spool) {
  std::map<int, std::vector<std::string>> out;
  DIR* d = opendir(spool.c_str());
  if (!d) return out;
  while (auto* e = readdir(d)) {
    int id = 0, n = 0;
    char tail;
    if (e->d_name[0] == 'd' && sscanf(e->d_name, "d%d-%d%c", &id, &n, &tail) == 2 && id > 0)
      out[id].push_back(spool + "/" + e->d_name);
  }
  closedir(d);
  return out;
}

// send_mail() - pipe message to `sendmail -t -oi` (no shell); false on failure.
bool send_mail(const std::string& sendmail, const std::string& message) {
  int p[2];
  if (pipe(p) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(p[0]);
    close(p[1]);
    return false;
  }
  if (pid == 0) {
    dup2(p[0], STDIN_FILENO);
    close(p[0]);
    close(p[1]);
    execl(sendmail.c_str(), "sendmail", "-t", "-oi", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(p[0]);
  bool ok = write_all(p[1], message.data(), message.size());
  close(p[1]);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return ok && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

}  // namespace

std::string notice_message(const Config& cfg, const std::string& owner, int job_id, const std::string& queue,
                           long long when) {
  if (owner.empty() || owner.size() > 64 || cfg.notice_domain.empty()) return "";
  for (char c : owner)
    if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return "";  // no header injection
  for (char c : queue)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return "";
  return "To: " + owner + "@" + cfg.notice_domain + "\nSubject: Your held print job " + std::to_string(job_id) +
         " will be deleted\nContent-Type: text/plain; charset=utf-8\nAuto-Submitted: auto-generated\n\n"
         "Your print job " + std::to_string(job_id) + " on printer " + queue + " is still waiting to be released.\n"
         "It will be deleted after " + utc_iso8601(when) + " (UTC).\n\n"
         "To print it, release it at the printer's release station before then.\n";
}

PurgeLock::PurgeLock(const Config& cfg, bool exclusive) {
  std::string path = state_dir(cfg) + "/purge.lock";
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0660);
  if (fd_ < 0) throw Error("cannot open the purge lock " + path + ": " + strerror(errno));
  while (flock(fd_, exclusive ? LOCK_EX : LOCK_SH) != 0)
    if (errno != EINTR) throw Error("cannot take the purge lock " + path + ": " + strerror(errno));
}

PurgeLock::~PurgeLock() {
  if (fd_ >= 0) close(fd_);
}

PurgeReport run_purge(const Config& cfg, const PurgeOptions& o) {
  PurgeReport rep;
  rep.dry_run = o.dry_run;
  long long now = o.now ? o.now : time(nullptr);
  crypto_init();
  KeyStore keys(cfg.key_dir);
  Key key = keys.current();
  AuditStore audit(cfg.audit_db, cfg.syslog);
  PurgeLock lock(cfg, true);  // one purge at a time; no release while we purge

  // event_for() - one audit record (purge, notice) of this run, about a job or not.
  auto event_for = [&](const std::string& event, const std::string& detail, const CupsJob* j) {
    AuditEvent ev;
    ev.event = event;
    ev.title_hidden = true;
    ev.detail = detail;
    if (j) {
      ev.user = j->owner;
      ev.queue = j->queue;
      ev.job_id = j->id;
      ev.job_uuid = j->uuid;
    }
    return ev;
  };
  // record() - write one such record now (not in a dry run).
  auto record = [&](const std::string& event, const std::string& detail, const CupsJob* j) {
    if (!o.dry_run) audit.append(event_for(event, detail, j), key);
  };

  // 1. Held jobs on printguard queues past their queue's retention.
  std::set<std::string> guarded;
  for (auto& q : list_queues_with_device_prefix("printguard:")) guarded.insert(lower(q));
  std::set<int> active;
  // Expired - a held job to purge, its report line and its audit record.
  struct Expired {
    CupsJob job;
    std::string line;
    AuditEvent ev;
  };
  std::vector<Expired> expired;
  auto jobs = list_jobs();
  // The spool is read once: its document files, by job.
  std::map<int, std::vector<std::string>> files = spool_files(cfg.spool_dir);
  for (auto& j : jobs) {
    active.insert(j.id);
    if (j.state != 4 || !guarded.count(lower(j.queue))) continue;
    // Held since submission, or since its latest release (refused or
    // interrupted jobs are held again then).
    long long age = now - std::max(j.created, audit.last_event_time(j.uuid, "release"));
    long long retention = cfg.for_queue(j.queue).held_retention;
    if (age < retention) {
      // Optional notice, once per job, within PurgeNotice of the purge.
      if (cfg.purge_notice > 0 && age >= retention - cfg.purge_notice && !audit.has_event(j.uuid, "notice")) {
        std::string msg = notice_message(cfg, j.owner, j.id, j.queue, now + retention - age);
        if (msg.empty()) {
          rep.errors.push_back("job " + std::to_string(j.id) + ": no notice: owner has no safe mail address (NoticeMailDomain?)");
        } else if (o.dry_run) {
          rep.notices_sent++;
        } else if (send_mail(cfg.sendmail, msg)) {
          rep.notices_sent++;
          record("notice", "purge notice mailed", &j);
        } else {
          rep.errors.push_back("job " + std::to_string(j.id) + ": " + cfg.sendmail + " failed to send the purge notice");
        }
      }
      continue;
    }
    if (audit.has_live_release(j.uuid, now)) {
      rep.kept_jobs.push_back(std::to_string(j.id) + " " + j.queue + " " + j.owner + ": being released");
      continue;
    }
    std::string line = std::to_string(j.id) + " " + j.queue + " " + j.owner + " held " + std::to_string(age / 60) + " min";
    if (o.dry_run) {
      rep.purged_jobs.push_back(line);
      continue;
    }
    expired.push_back({j, line, event_for("purge", "held job purged after " + std::to_string(age) + " s (HeldJobRetention " +
                                                     std::to_string(retention) + " s)", &j)});
  }

  // Purged in batches: the batch's records first (one transaction; recorded
  // before it happens, like every admin action), then one Purge-Jobs request.
  // Per job, that was a commit, a Cancel-Job and a scan of the whole spool.
  const size_t kBatch = 100;
  for (size_t b = 0; b < expired.size(); b += kBatch) {
    size_t e = std::min(expired.size(), b + kBatch);
    std::vector<AuditEvent> evs;
    std::vector<int> ids;
    for (size_t i = b; i < e; i++) {
      evs.push_back(expired[i].ev);
      ids.push_back(expired[i].job.id);
    }
    audit.append_all(evs, key);
    std::set<int> failed;
    try {
      purge_jobs(ids);
    } catch (const Error&) {
      // One of them is gone or refused: cupsd touched none; one by one.
      for (int id : ids) {
        try {
          cancel_job(id, true);
        } catch (const Error& err) {
          rep.errors.push_back("job " + std::to_string(id) + ": " + err.what());
          failed.insert(id);
        }
      }
    }
    // cupsd removes the files as it purges: check that they are really gone.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (size_t i = b; i < e; i++) {
      const Expired& x = expired[i];
      if (failed.count(x.job.id)) continue;
      auto it = files.find(x.job.id);
      if (it != files.end()) {
        for (auto& f : it->second) {
          while (access(f.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
          if (access(f.c_str(), F_OK) != 0) continue;
          if (unlink(f.c_str()) == 0) rep.spool_files_removed++;
          else rep.errors.push_back("job " + std::to_string(x.job.id) + ": cannot remove " + f + ": " + strerror(errno));
        }
      }
      rep.purged_jobs.push_back(x.line);
    }
  }

  // 2. Documents left in the spool by jobs that are no longer active. The job
  // list is taken again now, and recent files are left alone: a job submitted
  // during this purge is never touched.
  DIR* spool = opendir(cfg.spool_dir.c_str());
  if (!spool) rep.errors.push_back("cannot read SpoolDir " + cfg.spool_dir + ": " + strerror(errno));
  else closedir(spool);
  active.clear();
  for (auto& j : list_jobs()) active.insert(j.id);
  for (auto& [id, id_files] : spool_files(cfg.spool_dir)) {
    if (active.count(id)) continue;
    for (auto& f : id_files) {
      struct stat st;
      if (stat(f.c_str(), &st) != 0 || now - st.st_mtime < 600) continue;
      if (o.dry_run) {
        rep.spool_files_removed++;
      } else if (unlink(f.c_str()) == 0) {
        rep.spool_files_removed++;
        record("purge", "spool file of finished job " + std::to_string(id) + " removed", nullptr);
      } else {
        rep.errors.push_back("cannot remove " + f + ": " + strerror(errno));
      }
    }
  }

  // 3. Expired release records; 4. personal details past DetailRetention.
  if (!o.dry_run) rep.releases_removed = audit.delete_expired_releases(now);
  rep.records_redacted = audit.redact_details(now - cfg.detail_retention, o.dry_run);
  // 5. Users inactive for AnonymiseAfter: replaced by pseudonyms (recorded first).
  if (cfg.anonymise_after > 0) {
    for (auto& u : audit.inactive_users(now - cfg.anonymise_after)) {
      rep.users_anonymised++;
      if (o.dry_run) continue;
      AuditEvent ev;
      ev.event = "anonymise";
      ev.user = pseudonym_of(field_hash(key, "user", lower(u)));
      ev.title_hidden = true;
      ev.detail = "inactive for AnonymiseAfter " + std::to_string(cfg.anonymise_after) + " s, by printguard purge";
      audit.append(ev, key);
      audit.anonymise_user(u);
    }
  }
  if (!o.dry_run && (rep.releases_removed || rep.records_redacted))
    record("purge", std::to_string(rep.records_redacted) + " record(s) redacted (DetailRetention " +
               std::to_string(cfg.detail_retention) + " s), " + std::to_string(rep.releases_removed) +
               " expired release(s) removed",
           nullptr);
  return rep;
}

std::string purge_report_text(const PurgeReport& r) {
  std::string s = r.dry_run ? "printguard purge (dry run: nothing changed)\n" : "printguard purge\n";
  s += "  held jobs purged:     " + std::to_string(r.purged_jobs.size()) + "\n";
  for (auto& j : r.purged_jobs) s += "    " + printable(j) + "\n";
  for (auto& j : r.kept_jobs) s += "  kept: " + printable(j) + "\n";
  s += "  spool files removed:  " + std::to_string(r.spool_files_removed) + "\n";
  s += "  releases removed:     " + std::to_string(r.releases_removed) + "\n";
  s += "  records redacted:     " + std::to_string(r.records_redacted) + "\n";
  s += "  users anonymised:     " + std::to_string(r.users_anonymised) + "\n";
  s += "  notices mailed:       " + std::to_string(r.notices_sent) + "\n";
  for (auto& e : r.errors) s += "  error: " + printable(e) + "\n";
  return s;
}

std::string purge_report_json(const PurgeReport& r) {
  auto list = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); i++) out += (i ? "," : "") + json_quote(v[i]);
    return out + "]";
  };
  return "{\"dry_run\":" + std::string(r.dry_run ? "true" : "false") + ",\"purged_jobs\":" + list(r.purged_jobs) +
         ",\"kept_jobs\":" + list(r.kept_jobs) + ",\"spool_files_removed\":" + std::to_string(r.spool_files_removed) +
         ",\"releases_removed\":" + std::to_string(r.releases_removed) +
         ",\"records_redacted\":" + std::to_string(r.records_redacted) +
         ",\"users_anonymised\":" + std::to_string(r.users_anonymised) + ",\"notices_sent\":" +
         std::to_string(r.notices_sent) + ",\"errors\":" + list(r.errors) + "}\n";
}

}  // namespace pg
