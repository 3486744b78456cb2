// station.cc - the release station.
#include "station.h"

#include <sodium.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "audit.h"
#include "backend.h"
#include "cupsjobs.h"
#include "keys.h"
#include "ldapauth.h"
#include "log.h"
#include "pin.h"
#include "purge.h"
#include "release.h"
#include "util.h"

namespace pg {

std::string read_line(const std::string& prompt, bool secret) {
  bool tty = isatty(STDIN_FILENO);
  if (tty && !prompt.empty()) {
    std::cerr << prompt << std::flush;
  }
  struct termios old {};
  bool restore = false;
  if (secret && tty && tcgetattr(STDIN_FILENO, &old) == 0) {
    struct termios t = old;
    t.c_lflag &= static_cast<tcflag_t>(~ECHO);
    restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) == 0;
  }
  std::string line;
  std::getline(std::cin, line);
  if (restore) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::cerr << "\n";
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

namespace {

// Station - one session at a release station.
class Station {
 public:
  Station(const Config& cfg, StationOptions& o) : cfg_(cfg), o_(o), keys_(cfg.key_dir) {
    crypto_init();
    key_ = keys_.current();
    audit_ = std::make_unique<AuditStore>(cfg.audit_db, cfg.syslog);
  }

  // run() - authenticate, list, release.
  int run() {
    if (o_.printer.empty()) o_.printer = cfg_.station_printer;
    if (o_.printer.empty()) throw Error("no printer for this station: use -d QUEUE or set StationPrinter");
    InnerDevice dev = parse_device_uri(queue_device_uri(o_.printer));
    if (dev.findme) throw Error("station printer " + o_.printer + " is a Find-Me queue; bind the station to a real printer queue");

    if (o_.user.empty() && o_.badge.empty()) {
      // A badge reader types digits and Enter; a person types a name.
      std::string typed = trim(read_line("User name or badge: ", false));
      bool digits = !typed.empty() && typed.find_first_not_of("0123456789") == std::string::npos;
      (digits ? o_.badge : o_.user) = typed;
    }
    bool badge = !o_.badge.empty();
    std::string secret = read_line(o_.secret_from_stdin ? "" : badge ? "PIN: " : "Password: ", true);
    bool ok = badge ? authenticate_badge(o_.badge, secret) : authenticate(o_.user, secret);
    sodium_memzero(secret.data(), secret.size());
    if (!ok) return 1;

    auto jobs = held_jobs();
    print_jobs(jobs);
    if (o_.list_only) return 0;
    std::vector<CupsJob> chosen;
    if (o_.all) {
      chosen = jobs;
    } else if (!o_.jobs.empty()) {
      for (int id : o_.jobs) {
        auto it = std::find_if(jobs.begin(), jobs.end(), [&](const CupsJob& j) { return j.id == id; });
        if (it == jobs.end()) {
          std::cout << "job " << id << ": not one of your held jobs for this printer\n";
          record("release-denied", nullptr, "job " + std::to_string(id) + " is not the user's held job here");
          return 3;
        }
        chosen.push_back(*it);
      }
    } else if (isatty(STDIN_FILENO) && !jobs.empty()) {
      std::string ans = lower(trim(read_line("Release which jobs (numbers, \"all\", or Enter for none)? ", false)));
      if (ans == "all") chosen = jobs;
      else
        for (auto& w : split_ws(ans))
          for (auto& j : jobs)
            if (std::to_string(j.id) == w) chosen.push_back(j);
    }
    int status = 0;
    PurgeLock no_purge_meanwhile(cfg_, false);
    for (auto& j : chosen)
      if (!release(j)) status = 3;
    return status;
  }

 private:
  // authenticate() - LDAP password check with lockout; audited either way.
  bool authenticate(const std::string& user, const std::string& password) {
    if (locked_out(user)) return false;
    AuthResult r = ldap_authenticate(cfg_.ldap, user, password);
    if (!r.ok) {
      std::cout << "denied: " << (r.message == "wrong password" || r.message == "unknown user" ? "wrong user name or password" : r.message) << "\n";
      fail(r, user, r.message);
      return false;
    }
    dn_ = r.dn;
    o_.user = r.user;  // the directory's uid, not what was typed
    record("auth-ok", nullptr, "ldap password", lower(r.user));
    std::cout << "authenticated as " << printable(r.user) << " at " << printable(o_.printer) << "\n";
    return true;
  }

  // locked_out() - whether `who` (a user, or "badge:N") has too many recent failures.
  // Lockout counts per lower-cased name: LDAP matches uid case-insensitively.
  bool locked_out(const std::string& who) {
    if (audit_->recent_failures(lower(who), time(nullptr) - cfg_.lockout_window) < cfg_.lockout_failures) return false;
    std::cout << "denied: too many failed attempts; try again later\n";
    record("auth-error", nullptr, "locked out", lower(who));
    return true;
  }

  // fail() - record a denied authentication: credential failures count for
  // lockout (auth-fail), directory or TLS trouble does not (auth-error).
  void fail(const AuthResult& r, const std::string& who, const std::string& detail) {
    record(r.credentials ? "auth-fail" : "auth-error", nullptr, detail, lower(who));
  }

  // authenticate_badge() - badge number looked up in LDAP, then the user's PIN;
  // failures count against both the badge and the user.
  bool authenticate_badge(const std::string& badge, const std::string& pin) {
    std::string badge_key = lower("badge:" + badge.substr(0, 64));
    if (locked_out(badge_key)) return false;
    AuthResult r = ldap_find_badge(cfg_.ldap, badge);
    if (!r.ok) {
      std::cout << "denied: " << (r.message == "unknown badge" ? "wrong badge or PIN" : r.message) << "\n";
      fail(r, badge_key, r.message);
      return false;
    }
    o_.user = r.user;
    if (locked_out(r.user)) return false;
    std::string hash = audit_->pin_of(r.user);
    if (hash.empty() || !pin_verify(hash, pin)) {
      std::cout << "denied: wrong badge or PIN\n";
      std::string why = hash.empty() ? "no PIN set (printguard pin set " + r.user + ")" : "wrong PIN";
      record("auth-fail", nullptr, why, badge_key);
      record("auth-fail", nullptr, why + " with badge", lower(r.user));
      return false;
    }
    dn_ = r.dn;
    record("auth-ok", nullptr, "badge + PIN", lower(r.user));
    std::cout << "authenticated as " << printable(r.user) << " at " << printable(o_.printer) << "\n";
    return true;
  }

  // held_jobs() - the user's held jobs on this station's queue and on Find-Me queues.
  std::vector<CupsJob> held_jobs() {
    auto queues = list_queues_with_device_prefix("printguard:findme");
    queues.push_back(o_.printer);
    std::vector<CupsJob> out = list_held_jobs(queues, o_.user);
    std::sort(out.begin(), out.end(), [](const CupsJob& a, const CupsJob& b) { return a.id < b.id; });
    return out;
  }

  // print_jobs() - the list shown at the station; titles only where not hidden.
  void print_jobs(const std::vector<CupsJob>& jobs) {
    if (jobs.empty()) {
      std::cout << "no held jobs for " << printable(o_.user) << "\n";
      return;
    }
    for (auto& j : jobs) {
      bool hidden = cfg_.for_queue(j.queue).hide_titles;
      std::cout << "  " << j.id << "  " << printable(j.queue) << "  " << (hidden ? std::string("(title hidden)") : printable(j.title))
                << "\n";
    }
  }

  // release() - grant a release for j at this printer and let CUPS run it; report the outcome.
  bool release(const CupsJob& j) {
    std::string dest = o_.printer;
    const QueueSettings& qs = cfg_.for_queue(dest);
    if (!qs.release_group.empty()) {
      std::string why;
      if (!ldap_is_member(cfg_.ldap, qs.release_group, dn_, o_.user, why)) {
        std::cout << "job " << j.id << ": not released: " << why << "\n";
        record("release-denied", &j, why);
        return false;
      }
    }
    try {
      if (lower(j.queue) != lower(dest)) move_job(j.id, dest);  // Find-Me: to this printer first
      Release r = make_release(key_, j.uuid, j.id, j.owner, dest, cfg_.release_timeout, o_.printer);
      Mac m = release_mac(key_, r);
      audit_->add_release(j.uuid, dest, r.expires, key_.id, encode_release(r), std::string(m.begin(), m.end()));
      CupsJob moved = j;
      moved.queue = dest;
      long long mark = record("release", &moved, "released at " + o_.printer + (lower(j.queue) != lower(dest) ? " (from Find-Me queue " + j.queue + ")" : ""));
      release_job(j.id);
      return report_outcome(moved, mark);
    } catch (const Error& e) {
      std::cout << "job " << j.id << ": not released: " << e.what() << "\n";
      return false;
    }
  }

  // report_outcome() - wait for the job to print or be held again, and say which.
  bool report_outcome(const CupsJob& j, long long mark) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(o_.wait);
    while (std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      CupsJob now;
      try {
        now = get_job(j.id);
      } catch (const Error&) {
        break;
      }
      if (now.state == 9) {
        std::cout << "job " << j.id << ": printed on " << printable(j.queue) << "\n";
        return true;
      }
      if (now.state == 7 || now.state == 8) {
        std::cout << "job " << j.id << ": " << (now.state == 7 ? "canceled" : "aborted") << "\n";
        return false;
      }
      if (now.state == 4) {
        AuditQuery q;
        q.job_uuid = j.uuid;
        q.after_id = mark;
        for (auto& e : audit_->query(q))
          if (e.event == "refuse" || e.event == "interrupted" || e.event == "bypass" || e.event == "hold") {
            std::cout << "job " << j.id << ": not printed, still held: " << printable(e.detail) << "\n";
            return false;
          }
      }
    }
    std::cout << "job " << j.id << ": released; still being sent to the printer\n";
    return true;
  }

  // record() - one audit record for this station session; returns its id.
  long long record(const std::string& event, const CupsJob* j, const std::string& detail, const std::string& who = "") {
    AuditEvent ev;
    ev.event = event;
    ev.user = who.empty() ? o_.user : who;
    ev.queue = j ? j->queue : o_.printer;
    if (j) {
      ev.job_id = j->id;
      ev.job_uuid = j->uuid;
    }
    ev.title_hidden = true;
    ev.detail = detail + " [station " + o_.printer + "]";
    try {
      return audit_->append(ev, key_);
    } catch (const Error& e) {
      log_error(std::string("cannot record in the audit store: ") + e.what());
      throw;
    }
  }

  const Config& cfg_;
  StationOptions& o_;
  KeyStore keys_;
  Key key_;
  std::unique_ptr<AuditStore> audit_;
  std::string dn_;
};

}  // namespace

int run_release_station(const Config& cfg, StationOptions o) {
  try {
    Station s(cfg, o);
    return s.run();
  } catch (const Error& e) {
    log_error(e.what());
    return 4;
  }
}

}  // namespace pg
