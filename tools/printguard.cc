// printguard - administration CLI: keys, signature verification, audit log, queues.
#include <cstring>
#include <pwd.h>
#include <sodium.h>
#include <unistd.h>
#include <iostream>
#include <string>
#include <vector>

#include "admin.h"
#include "audit.h"
#include "check.h"
#include "config.h"
#include "docdigest.h"
#include "keys.h"
#include "code.h"
#include "leak.h"
#include "log.h"
#include "pin.h"
#include "purge.h"
#include "queue.h"
#include "report.h"
#include "station.h"
#include "util.h"
#include "verify.h"

namespace {

const char* kUsage =
    "usage: printguard [-c CONFIG] COMMAND [ARGS]\n"
    "commands:\n"
    "  keygen [--id ID] [--no-activate]   create a new site key (mode 0640 root:lp)\n"
    "  keys                                list the keys and which one signs\n"
    "  verify CODE | FILE.pdf              check a signature code, or every code on a PDF's pages\n"
    "  digest FILE...                      the document digest signed records carry, per file\n"
    "  log [--user U] [--queue Q] [--host H] [--event E] [--code CODE] [--since DATE] [--until DATE]\n"
    "      [--limit N] [--format table|csv|json]\n"
    "                                      show recent audit records\n"
    "  log verify                          check the audit store's hash chain\n"
    "  queue enable QUEUE                  add the watermark filter to a CUPS queue\n"
    "  queue disable QUEUE                 remove it\n"
    "  queue status QUEUE                  tell whether the filter is on the queue\n"
    "  release [-d QUEUE] [--user U | --badge N] [--password-stdin] [--list | --all | --job N ...] [--scan] [--wait S]\n"
    "                                      release station: authenticate, list, release\n"
    "  purge [--dry-run] [--json] [--quiet]  enforce retention (run from cron)\n"
    "  check [--cups-root DIR] [--root DIR]  audit this CUPS installation\n"
    "  report [--by user|queue|day] [--since DATE] [--until DATE] [--format csv|json|html]\n"
    "                                      activity: jobs, pages, held/released/purged, refusals\n"
    "  user export USER                    everything recorded about a user, as JSON (GDPR)\n"
    "  user anonymise USER                 replace the user by a pseudonym everywhere (GDPR)\n"
    "  pin set USER [--pin-stdin]          set a user's release-station PIN (argon2id)\n"
    "  pin clear USER                      remove it\n"
    "See printguard(8).\n";

// Args - the words after the command, with simple --name VALUE option parsing.
struct Args {
  std::vector<std::string> words;
  size_t i = 0;
  bool more() const { return i < words.size(); }
  const std::string& next() { return words[i++]; }
  // value() - the value following option `opt`; throws Error if missing.
  std::string value(const std::string& opt) {
    if (!more()) throw pg::Error(opt + " needs a value");
    return next();
  }
};

// cmd_keygen() - printguard keygen.
int cmd_keygen(const pg::Config& cfg, Args& a) {
  std::string id;
  bool activate = true;
  while (a.more()) {
    auto w = a.next();
    if (w == "--id") id = a.value(w);
    else if (w == "--no-activate") activate = false;
    else throw pg::Error("keygen: unknown argument " + pg::printable(w));
  }
  pg::KeyStore ks(cfg.key_dir);
  std::string made = ks.generate(id, activate);
  std::cout << "created key " << made << " in " << cfg.key_dir << (activate ? " (now signing)" : "") << "\n";
  try {
    pg::AuditStore audit(cfg.audit_db, cfg.syslog);
    pg::AuditEvent ev;
    ev.event = "keygen";
    ev.key_id = made;
    ev.user = pg::admin_name();
    ev.detail = activate ? "activated" : "not activated";
    audit.append(ev, ks.load(made));
  } catch (const pg::Error& e) {
    pg::log_warning(std::string("key created, but not recorded in the audit store: ") + e.what());
  }
  return 0;
}

// cmd_keys() - printguard keys.
int cmd_keys(const pg::Config& cfg, Args&) {
  pg::KeyStore ks(cfg.key_dir);
  std::string cur;
  try {
    cur = pg::trim(pg::read_file(cfg.key_dir + "/current", 64));
  } catch (const pg::Error&) {
  }
  for (auto& id : ks.list()) std::cout << id << (id == cur ? "  (signing)" : "") << "\n";
  return 0;
}

// print_event() - the who/what/when/where of a verified record, indented.
void print_event(const pg::VerifyResult& r, const pg::Config& cfg, const std::string& indent) {
  const auto& e = r.event;
  std::cout << indent << "user:     " << pg::printable(e.user) << "\n"
            << indent << "queue:    " << pg::printable(e.queue) << "\n"
            << indent << "job:      " << e.job_id << " (" << pg::printable(e.job_uuid) << ")\n"
            << indent << "host:     " << pg::printable(e.host) << "\n"
            << indent << "time:     " << e.time_utc << "\n"
            << indent << "pages:    " << e.pages << "\n"
            << indent << "title:    "
            << (e.title_hidden ? "(hidden; keyed hash " + e.title_h.substr(0, 16) + "...)" : pg::printable(e.title)) << "\n";
  if (!e.record.empty())
    std::cout << indent << "document: " << pg::record_digest_name(r.record) << " "
              << pg::hex(r.record.doc_digest.data(), r.record.doc_digest.size()) << "\n";
  std::cout << indent << "record:   #" << e.id << " in " << cfg.audit_db << "\n";
}

// cmd_verify_file() - printguard verify FILE.pdf: every page's codes.
int cmd_verify_file(const pg::Config& cfg, const std::string& path) {
  pg::AuditStore audit(cfg.audit_db, false, false);
  pg::KeyStore keys(cfg.key_dir);
  auto pages = pg::verify_pdf(path, audit, keys);
  std::cout << pg::printable(path) << ": " << pages.size() << " page(s)\n";
  for (auto& p : pages) {
    int shown = 0;
    for (auto& c : p.codes) {
      if (c.status == pg::VerifyStatus::Malformed) continue;
      std::cout << "page " << p.page << ": " << c.code << ": " << c.message << "\n";
      if (c.status == pg::VerifyStatus::Valid || c.status == pg::VerifyStatus::Redacted) print_event(c, cfg, "    ");
      shown++;
    }
    if (!shown) std::cout << "page " << p.page << ": no signature code found\n";
  }
  return pg::verify_pdf_exit_status(pages);
}

// cmd_verify() - printguard verify CODE | FILE.
int cmd_verify(const pg::Config& cfg, Args& a) {
  if (!a.more()) throw pg::Error("verify: which code or file? usage: printguard verify CODE | FILE.pdf");
  if (a.words.size() - a.i == 1 && access(a.words[a.i].c_str(), F_OK) == 0) return cmd_verify_file(cfg, a.next());
  std::string typed;
  while (a.more()) typed += a.next();
  pg::crypto_init();
  pg::AuditStore audit(cfg.audit_db, false, false);
  pg::KeyStore keys(cfg.key_dir);
  auto r = pg::verify_code(typed, audit, keys);
  std::cout << (r.code.empty() ? pg::printable(typed) : r.code) << ": " << r.message << "\n";
  if (r.status == pg::VerifyStatus::Valid || r.status == pg::VerifyStatus::Forged ||
      r.status == pg::VerifyStatus::Redacted)
    print_event(r, cfg, "  ");
  return pg::verify_exit_status(r.status);
}

// cmd_digest() - printguard digest FILE...: each file's document digest, as
// "HEX  FILE" (the layout of sha256sum); 4 if a file could not be read.
int cmd_digest(Args& a) {
  if (!a.more()) throw pg::Error("digest: which file? usage: printguard digest FILE...");
  int status = 0;
  while (a.more()) {
    std::string path = a.next();
    try {
      auto d = pg::digest_file(path);
      std::cout << pg::hex(d.data(), d.size()) << "  " << pg::printable(path) << "\n";
    } catch (const pg::Error& e) {
      pg::log_error(e.what());
      status = 4;
    }
  }
  return status;
}

// cmd_log_verify() - printguard log verify: walk the hash chain.
int cmd_log_verify(const pg::Config& cfg) {
  pg::AuditStore audit(cfg.audit_db, false, false);
  pg::KeyStore keys(cfg.key_dir);
  std::string why;
  long long bad = audit.verify_chain(keys, why);
  if (bad) {
    std::cout << cfg.audit_db << ": record #" << bad << ": " << why << "\n";
    return 3;
  }
  std::cout << cfg.audit_db << ": every record verifies\n";
  return 0;
}

// cmd_log() - printguard log [verify].
int cmd_log(const pg::Config& cfg, Args& a) {
  if (a.more() && a.words[a.i] == "verify") return cmd_log_verify(cfg);
  pg::AuditQuery q;
  std::string format = "table";
  while (a.more()) {
    auto w = a.next();
    if (w == "--user") q.user = a.value(w);
    else if (w == "--queue") q.queue = a.value(w);
    else if (w == "--host") q.host = a.value(w);
    else if (w == "--event") q.event = a.value(w);
    else if (w == "--code") {
      std::string canon;
      if (pg::parse_code(a.value(w), canon) != pg::CodeStatus::Ok) throw pg::Error("log: --code: not a valid signature code");
      q.code = canon;
    } else if (w == "--since") q.since = pg::parse_date(a.value(w));
    else if (w == "--until") q.until = pg::parse_date(a.value(w), true);
    else if (w == "--limit") q.limit = static_cast<int>(pg::parse_int(a.value(w), 1, 100000000, "--limit"));
    else if (w == "--format") {
      format = a.value(w);
      if (format != "table" && format != "csv" && format != "json") throw pg::Error("log: --format is table, csv or json");
    } else throw pg::Error("log: unknown argument " + pg::printable(w));
  }
  pg::AuditStore audit(cfg.audit_db, false, false);
  auto rows = audit.query(q);
  if (format == "csv") {
    std::cout << pg::events_csv(rows);
    return 0;
  }
  if (format == "json") {
    std::cout << pg::events_json(rows);
    return 0;
  }
  printf("%-6s %-20s %-12s %-12s %-14s %-6s %-5s %s\n", "ID", "TIME (UTC)", "EVENT", "USER", "QUEUE", "JOB", "PAGES",
         "CODE / DETAIL");
  for (auto& e : rows) {
    std::string tail = e.code.empty() ? pg::printable(e.detail) : e.code;
    printf("%-6lld %-20s %-12s %-12s %-14s %-6lld %-5lld %s\n", e.id, e.time_utc.c_str(), pg::printable(e.event).c_str(),
           pg::printable(e.user).c_str(), pg::printable(e.queue).c_str(), e.job_id, e.pages, tail.c_str());
  }
  return 0;
}

// cmd_queue() - printguard queue enable|disable|status QUEUE.
int cmd_queue(const pg::Config& cfg, Args& a) {
  if (!a.more()) throw pg::Error("queue: usage: printguard queue enable|disable|status QUEUE");
  std::string action = a.next();
  if (!a.more()) throw pg::Error("queue " + action + ": which queue?");
  std::string queue = a.next();
  auto audit_it = [&](const std::string& what) {
    try {
      pg::AuditStore audit(cfg.audit_db, cfg.syslog);
      pg::admin_event(audit, pg::KeyStore(cfg.key_dir).current(), "queue", what + " on queue " + queue);
    } catch (const pg::Error& e) {
      pg::log_warning(std::string("done, but not recorded in the audit store: ") + e.what());
    }
  };
  if (action == "enable") {
    pg::queue_set_filter(queue, true);
    audit_it("printguard-watermark enabled");
    std::cout << "printguard-watermark is now on queue " << queue << "\n";
  } else if (action == "disable") {
    pg::queue_set_filter(queue, false);
    audit_it("printguard-watermark disabled");
    std::cout << "printguard-watermark removed from queue " << queue << "\n";
  } else if (action == "status") {
    bool on = pg::queue_has_filter(queue);
    std::cout << queue << ": printguard-watermark " << (on ? "enabled" : "not enabled") << "\n";
    return on ? 0 : 1;
  } else {
    throw pg::Error("queue: unknown action " + pg::printable(action) + " (enable, disable or status)");
  }
  return 0;
}

// cmd_pin() - printguard pin set|clear USER.
int cmd_pin(const pg::Config& cfg, Args& a) {
  if (!a.more()) throw pg::Error("pin: usage: printguard pin set|clear USER");
  std::string action = a.next();
  if (!a.more()) throw pg::Error("pin " + action + ": which user?");
  std::string user = a.next();
  bool from_stdin = false;
  while (a.more()) {
    auto w = a.next();
    if (w == "--pin-stdin") from_stdin = true;
    else throw pg::Error("pin: unknown argument " + pg::printable(w));
  }
  pg::AuditStore audit(cfg.audit_db, cfg.syslog);
  pg::KeyStore keys(cfg.key_dir);
  pg::AuditEvent ev;
  ev.user = user;
  ev.title_hidden = true;
  if (action == "set") {
    std::string pin, again;
    bool tty = isatty(STDIN_FILENO) && !from_stdin;
    pin = pg::read_line(tty ? "New PIN for " + pg::printable(user) + ": " : "", true);
    if (tty) {
      again = pg::read_line("Again: ", true);
      if (again != pin) throw pg::Error("the PINs do not match; nothing changed");
    }
    pg::validate_pin(pin);
    std::string hash = pg::pin_hash(pin);
    sodium_memzero(pin.data(), pin.size());
    ev.event = "pin-set";
    ev.detail = "by " + pg::admin_name();
    audit.append(ev, keys.current());  // recorded first: no unaudited change
    audit.set_pin(user, hash);
  } else if (action == "clear") {
    if (audit.pin_of(user).empty()) throw pg::Error("no PIN set for " + pg::printable(user));
    ev.event = "pin-clear";
    ev.detail = "by " + pg::admin_name();
    audit.append(ev, keys.current());
    audit.clear_pin(user);
  } else {
    throw pg::Error("pin: unknown action " + pg::printable(action) + " (set or clear)");
  }
  std::cout << (action == "set" ? "PIN set for " : "PIN cleared for ") << pg::printable(user) << "\n";
  return 0;
}

// cmd_purge() - printguard purge: 0 done, 1 something could not be purged.
int cmd_purge(const pg::Config& cfg, Args& a) {
  pg::PurgeOptions o;
  bool json = false, quiet = false;
  while (a.more()) {
    auto w = a.next();
    if (w == "--dry-run") o.dry_run = true;
    else if (w == "--json") json = true;
    else if (w == "--quiet") quiet = true;
    else throw pg::Error("purge: unknown argument " + pg::printable(w));
  }
  auto r = pg::run_purge(cfg, o);
  bool something = !r.purged_jobs.empty() || r.spool_files_removed || r.records_redacted || r.users_anonymised ||
                   r.notices_sent || !r.errors.empty();
  if (json) std::cout << pg::purge_report_json(r);
  else if (!quiet || something) std::cout << pg::purge_report_text(r);
  return r.errors.empty() ? 0 : 1;
}

// cmd_check() - printguard check: 1 if any finding is of high severity.
int cmd_check(const pg::Config& cfg, Args& a) {
  pg::CheckOptions o;
  while (a.more()) {
    auto w = a.next();
    if (w == "--cups-root") o.cups_root = a.value(w);
    else if (w == "--root") o.root = a.value(w);
    else throw pg::Error("check: unknown argument " + pg::printable(w));
  }
  auto findings = pg::run_check(cfg, o);
  bool high = false;
  for (auto& f : findings) {
    high = high || f.severity == pg::Severity::High;
    printf("%-6s %-18s %s\n       fix: %s\n", pg::severity_name(f.severity), f.id.c_str(), pg::printable(f.what).c_str(),
           pg::printable(f.fix).c_str());
  }
  if (findings.empty()) std::cout << "no findings\n";
  return high ? 1 : 0;
}

// cmd_report() - printguard report: activity per user, queue or day.
int cmd_report(const pg::Config& cfg, Args& a) {
  std::string by = "user", format = "csv", since_s, until_s;
  long long since = 0, until = 0;
  while (a.more()) {
    auto w = a.next();
    if (w == "--by") by = a.value(w);
    else if (w == "--format") format = a.value(w);
    else if (w == "--since") since = pg::parse_date(since_s = a.value(w));
    else if (w == "--until") until = pg::parse_date(until_s = a.value(w), true);
    else throw pg::Error("report: unknown argument " + pg::printable(w));
  }
  if (by != "user" && by != "queue" && by != "day") throw pg::Error("report: --by is user, queue or day");
  pg::AuditStore audit(cfg.audit_db, false, false);
  auto rows = audit.report(by, since, until);
  if (format == "csv") std::cout << pg::report_csv(rows, by);
  else if (format == "json") std::cout << pg::report_json(rows, by);
  else if (format == "html") {
    std::string period = since_s.empty() && until_s.empty() ? "" : (since_s.empty() ? "..." : since_s) + " to " + (until_s.empty() ? "now" : until_s);
    std::cout << pg::report_html(rows, by, period);
  } else throw pg::Error("report: --format is csv, json or html");
  return 0;
}

// cmd_user() - printguard user export|anonymise USER (GDPR).
int cmd_user(const pg::Config& cfg, Args& a) {
  if (!a.more()) throw pg::Error("user: usage: printguard user export|anonymise USER");
  std::string action = a.next();
  if (!a.more()) throw pg::Error("user " + action + ": which user?");
  std::string user = a.next();
  if (a.more()) throw pg::Error("user: unexpected argument " + pg::printable(a.next()));
  if (action == "export") {
    pg::AuditStore audit(cfg.audit_db, false, false);
    std::cout << pg::export_user(audit, user);
    return 0;
  }
  if (action != "anonymise" && action != "anonymize")
    throw pg::Error("user: unknown action " + pg::printable(action) + " (export or anonymise)");
  pg::AuditStore audit(cfg.audit_db, cfg.syslog);
  pg::KeyStore keys(cfg.key_dir);
  pg::Key key = keys.current();
  std::string pseudonym = pg::pseudonym_of(pg::field_hash(key, "user", pg::lower(user)));
  // Recorded first, under the pseudonym: the trail never names the person again.
  pg::admin_event(audit, key, "anonymise", "user anonymised", pseudonym);
  int n = audit.anonymise_user(user);
  std::cout << pg::printable(user) << ": " << n << " record(s) anonymised as " << pseudonym << "\n";
  return 0;
}

// cmd_release() - printguard release.
int cmd_release(const pg::Config& cfg, Args& a) {
  pg::StationOptions o;
  while (a.more()) {
    auto w = a.next();
    if (w == "-d") o.printer = a.value(w);
    else if (w == "--user") o.user = a.value(w);
    else if (w == "--badge") o.badge = a.value(w);
    else if (w == "--password-stdin") o.secret_from_stdin = true;
    else if (w == "--list") o.list_only = true;
    else if (w == "--scan") o.scan = true;
    else if (w == "--all") o.all = true;
    else if (w == "--job") o.jobs.push_back(static_cast<int>(pg::parse_int(a.value(w), 1, 2147483647, "--job")));
    else if (w == "--wait") o.wait = static_cast<int>(pg::parse_int(a.value(w), 0, 3600, "--wait"));
    else throw pg::Error("release: unknown argument " + pg::printable(w));
  }
  return pg::run_release_station(cfg, o);
}

}  // namespace

// main() - parse the global options and dispatch to one command.
int main(int argc, char** argv) {
  pg::set_log_plain(true);
  std::vector<std::string> words(argv + 1, argv + argc);
  size_t i = 0;
  std::string conf;
  while (i < words.size() && words[i].size() > 1 && words[i][0] == '-') {
    if (words[i] == "-c" && i + 1 < words.size()) {
      conf = words[i + 1];
      i += 2;
    } else if (words[i] == "-h" || words[i] == "--help") {
      std::cout << kUsage;
      return 0;
    } else {
      std::cerr << kUsage;
      return 2;
    }
  }
  if (i >= words.size()) {
    std::cerr << kUsage;
    return 2;
  }
  std::string cmd = words[i++];
  Args a;
  a.words.assign(words.begin() + static_cast<long>(i), words.end());
  try {
    pg::crypto_init();
    if (cmd == "digest") return cmd_digest(a);  // needs no configuration
    pg::Config cfg = conf.empty() ? pg::load_config_default() : pg::load_config(conf);
    if (cmd == "keygen" || cmd == "pin" || cmd == "queue" || cmd == "purge" || cmd == "user" || cmd == "release") {
      try {  // a configuration change is part of the admin trail
        pg::AuditStore audit(cfg.audit_db, cfg.syslog);
        pg::note_config_change(audit, pg::KeyStore(cfg.key_dir).current(), cfg);
      } catch (const pg::Error&) {
        // keygen runs before there is a key; the command itself reports real trouble
      }
    }
    if (cmd == "keygen") return cmd_keygen(cfg, a);
    if (cmd == "keys") return cmd_keys(cfg, a);
    if (cmd == "verify") return cmd_verify(cfg, a);
    if (cmd == "log") return cmd_log(cfg, a);
    if (cmd == "queue") return cmd_queue(cfg, a);
    if (cmd == "release") return cmd_release(cfg, a);
    if (cmd == "pin") return cmd_pin(cfg, a);
    if (cmd == "purge") return cmd_purge(cfg, a);
    if (cmd == "check") return cmd_check(cfg, a);
    if (cmd == "user") return cmd_user(cfg, a);
    if (cmd == "report") return cmd_report(cfg, a);
    std::cerr << "printguard: unknown command \"" << pg::printable(cmd) << "\"\n" << kUsage;
    return 2;
  } catch (const pg::Error& e) {
    pg::log_error(e.what());
    return 4;
  }
}
