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
#include "pamlogin.h"
#include "pinauth.h"
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

// kPamService - the PAM service of ReleaseAuth PAM.
const char* const kPamService = "printguard";

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
    gate_ = std::make_unique<AuthGate>(cfg_, *audit_, key_, AuthSite{o_.printer, "", "station " + o_.printer});

    if (o_.user.empty() && o_.badge.empty()) {
      // A badge reader types digits and Enter; a person types a name.
      std::string typed = trim(read_line("User name or badge: ", false));
      bool digits = !typed.empty() && typed.find_first_not_of("0123456789") == std::string::npos;
      (digits ? o_.badge : o_.user) = typed;
    }
    bool badge = !o_.badge.empty();
    std::string secret = read_line(o_.secret_from_stdin ? "" : badge ? "PIN: " : "Password: ", true);
    bool ok = cfg_.release_pam ? authenticate_pam(badge ? o_.badge : o_.user, badge, secret)
              : badge          ? authenticate_badge(o_.badge, secret)
                               : authenticate(o_.user, secret);
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
    if (gate_->locked_out(user)) return deny_locked_out();
    AuthResult r = ldap_authenticate(cfg_.ldap, user, password);
    if (!r.ok) {
      std::cout << "denied: " << (r.message == "wrong password" || r.message == "unknown user" ? "wrong user name or password" : r.message) << "\n";
      // Credential failures count for lockout (auth-fail); directory or TLS trouble does not (auth-error).
      gate_->record(r.credentials ? "auth-fail" : "auth-error", r.message, user);
      return false;
    }
    dn_ = r.dn;
    o_.user = r.user;  // the directory's uid, not what was typed
    gate_->record("auth-ok", "ldap password", r.user);
    std::cout << "authenticated as " << printable(r.user) << " at " << printable(o_.printer) << "\n";
    return true;
  }

  // deny_locked_out() - tell a locked-out user (the gate recorded it); returns false.
  bool deny_locked_out() {
    std::cout << "denied: too many failed attempts; try again later\n";
    return false;
  }

  // authenticate_badge() - badge number looked up in LDAP, then the user's PIN
  // (AuthGate::badge_pin, shared with pam_printguard).
  bool authenticate_badge(const std::string& badge, const std::string& pin) {
    PinResult r = gate_->badge_pin(badge, pin);
    if (!r.user.empty()) o_.user = r.user;
    switch (r.status) {
      case PinStatus::Ok:
        dn_ = r.dn;
        std::cout << "authenticated as " << printable(r.user) << " at " << printable(o_.printer) << "\n";
        return true;
      case PinStatus::LockedOut:
        return deny_locked_out();
      case PinStatus::UnknownBadge:
        std::cout << "denied: wrong badge or PIN\n";
        return false;
      case PinStatus::Denied:
        std::cout << "denied: " << (r.user.empty() ? r.message : "wrong badge or PIN") << "\n";
        return false;
      default:
        std::cout << "denied: " << r.message << "\n";
        return false;
    }
  }

  // authenticate_pam() - ReleaseAuth PAM: PAM service "printguard" for the name
  // typed (a badge number is passed as it is, for pam_printguard to map), with
  // the station's own lockout around it; each attempt recorded once.
  bool authenticate_pam(const std::string& name, bool badge, const std::string& secret) {
    badge = badge || is_badge_name(name, BadgeMode::Auto);
    std::string who = badge ? badge_key(name) : name;
    if (!valid_login_name(name)) {
      std::cout << "denied: " << (badge ? "wrong badge or PIN" : "wrong user name or password") << "\n";
      gate_->record("auth-fail", badge ? "invalid badge number" : "invalid user name", who);
      return false;
    }
    if (gate_->locked_out(who)) return deny_locked_out();
    long long mark = newest_record();
    std::string tty;
    if (isatty(STDIN_FILENO) && ttyname(STDIN_FILENO)) tty = ttyname(STDIN_FILENO);
    PamLogin p = pam_login(kPamService, name, secret, tty);
    for (auto& m : p.shown) std::cout << m << "\n";
    if (!p.ok) {
      if (p.too_many) std::cout << "denied: too many failed attempts; try again later\n";
      else if (p.credentials) std::cout << "denied: " << (badge ? "wrong badge or PIN" : "wrong user name or password") << "\n";
      else std::cout << "denied: PAM " << p.stage << ": " << p.message << "\n";
      // pam_printguard records its own failures; the others' are the station's to record.
      if (!pam_module_recorded(mark))
        gate_->record(p.credentials ? "auth-fail" : "auth-error", "PAM " + p.stage + ": " + p.message, who);
      return false;
    }
    o_.user = p.user;  // PAM_USER as PAM left it (pam_printguard maps a badge to its uid)
    gate_->record("auth-ok", std::string("PAM service ") + kPamService, p.user);
    std::cout << "authenticated as " << printable(p.user) << " at " << printable(o_.printer) << "\n";
    return true;
  }

  // newest_record() - id of the newest audit record, or 0.
  long long newest_record() {
    AuditQuery q;
    q.limit = 1;
    auto v = audit_->query(q);
    return v.empty() ? 0 : v[0].id;
  }

  // pam_module_recorded() - whether pam_printguard recorded a failure after record `mark`.
  bool pam_module_recorded(long long mark) {
    AuditQuery q;
    q.after_id = mark;
    q.limit = 1000;
    for (auto& e : audit_->query(q))
      if ((e.event == "auth-fail" || e.event == "auth-error") && e.detail.find("[PAM service ") != std::string::npos)
        return true;
    return false;
  }

  // held_jobs() - the user's held jobs on this station's queue and on Find-Me
  // queues: from the audit store's index, confirmed by cupsd, or (StationListing
  // Scan, --scan) from cupsd's whole list of held jobs on those queues.
  std::vector<CupsJob> held_jobs() {
    auto queues = list_queues_with_device_prefix("printguard:findme");
    queues.push_back(o_.printer);
    std::vector<CupsJob> out;
    if (cfg_.station_scan || o_.scan) {
      out = list_held_jobs(queues, o_.user);  // every held job on these queues
    } else {
      // StationListing Index: the jobs the backend recorded holding for this
      // user, each confirmed by cupsd; the cost follows the user's jobs, not
      // the server's.
      std::vector<std::pair<int, std::string>> cands;
      for (auto& c : audit_->held_candidates(o_.user))
        if (c.job_id <= 0x7fffffff) cands.emplace_back(static_cast<int>(c.job_id), c.job_uuid);
      out = confirm_held_jobs(cands, queues, o_.user);
    }
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
      if (dn_.empty() && lower(cfg_.ldap.group_attribute) != "memberuid") {
        // Authenticated through PAM: the group lists DNs, so find the user's.
        AuthResult f = ldap_find_user(cfg_.ldap, o_.user);
        if (f.ok) dn_ = f.dn;
      }
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
      long long mark = 0;
      try {
        mark = record("release", &moved, "released at " + o_.printer + (lower(j.queue) != lower(dest) ? " (from Find-Me queue " + j.queue + ")" : ""));
      } catch (const Error&) {
        // No release without its audit record: spend it, so that a resume by
        // someone else within ReleaseTimeout finds nothing to print with.
        try {
          audit_->spend_releases(j.uuid);
        } catch (const Error&) {
          // The store is failing; the job is not resumed here either way.
        }
        throw;
      }
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
    int lost = 0;
    while (std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      CupsJob now;
      try {
        now = get_job(j.id);
        lost = 0;
      } catch (const Error& e) {
        if (++lost < 5) continue;
        // cupsd stopped or crashed: the job may or may not have printed.
        std::cout << "job " << j.id << ": released, but lost contact with CUPS (" << printable(e.what())
                  << "); whether it printed is unknown: check lpstat -o and the printer before releasing it again\n";
        return false;
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
        // Held again: only the backend does that. Its reason is in the audit
        // store or, if it could not write there, in the job's state message.
        std::string why;
        try {
          AuditQuery q;
          q.job_uuid = j.uuid;
          q.after_id = mark;
          for (auto& e : audit_->query(q))
            if (why.empty() && (e.event == "refuse" || e.event == "interrupted" || e.event == "bypass" || e.event == "hold"))
              why = e.detail;
          // Whatever release is left must not print the job later, unattended.
          audit_->spend_releases(j.uuid);
        } catch (const Error& e) {
          log_error(std::string("audit store: ") + e.what());
        }
        if (why.empty()) why = now.state_message.empty() ? "held again by the printguard backend" : now.state_message;
        std::cout << "job " << j.id << ": not printed, still held: " << printable(why) << "\n";
        return false;
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
  std::unique_ptr<AuthGate> gate_;
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
