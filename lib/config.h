// config.h - printguard.conf: CUPS-style directives plus <Queue NAME> sections.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace pg {

enum class WatermarkMode { Off, On, Required };
enum class Placement { Header, Footer, Diagonal, Position };

// default_blocking_reasons() - printer-state-reasons that stop a release by default.
const std::vector<std::string>& default_blocking_reasons();

// QueueSettings - everything that may differ per queue: how (and whether) the
// filter stamps pages, and how the backend gates sending.
struct QueueSettings {
  WatermarkMode mode = WatermarkMode::Required;
  std::string tmpl = "${user} - ${date} - ${queue} - job ${job} from ${host} - page ${page}/${pages} - Sig ${code}";
  Placement placement = Placement::Footer;
  double pos_x = 36, pos_y = 36;  // Placement::Position, points from the visible page's lower left
  double font_size = 8;           // points; Diagonal uses 40 unless FontSize is set
  bool font_size_set = false;
  double gray = 0.35;    // 0 = black, 1 = white
  double opacity = 1.0;  // 0..1 (fill alpha)
  double rotation = 0;   // degrees, counter-clockwise; Placement::Position only
  std::string date_format = "%Y-%m-%d %H:%M %Z";
  std::string time_zone;  // empty: the server's local time
  bool hide_titles = false;
  bool repair_damaged = false;  // print PDFs that qpdf had to repair
  std::set<std::string> user_options;  // printguard-* job options users may set
  long long max_pages = 100000;                // MaxPages: larger documents are refused
  long long max_document_bytes = 2LL << 30;    // MaxDocumentSize
  long long max_content_bytes = 256LL << 20;   // MaxPageContent: decoded content of one page

  // Printer-state gate (printguard backend). Reasons match on their base keyword
  // (without -report/-warning/-error); any "-error" reason always blocks.
  std::vector<std::string> blocking_reasons = default_blocking_reasons();
  bool send_unqueried = false;  // UnqueriedPrinters Allow: send where state can't be asked
  std::string release_group;    // ReleaseGroup: LDAP group DN whose members may release here
  long long held_retention = 4 * 3600;  // HeldJobRetention: seconds a job may stay held
};

// LdapSettings - how printguard release authenticates users.
struct LdapSettings {
  std::vector<std::string> uris;  // tried in order (failover)
  bool start_tls = true;          // for ldap:// URIs; ldaps:// always uses TLS
  std::string ca_file;            // empty: the system CA store
  std::string bind_dn;            // service account for searches
  std::string bind_password_file; // root-only file with its password
  std::string base;
  std::string user_filter = "(&(objectClass=inetOrgPerson)(uid=%s))";
  std::string badge_attribute = "employeeNumber";
  std::string group_attribute = "member";  // group attribute listing member DNs
  int timeout = 10;  // seconds, per operation and for connecting
};

// Config - the whole configuration, with built-in defaults for anything not set.
struct Config {
  std::string path;  // the file read; empty when built-in defaults are in use
  std::string file_sha256;  // hex SHA-256 of the text load_config() parsed; empty otherwise
  std::string key_dir;
  std::string audit_db;
  bool syslog = true;
  int release_timeout = 120;     // ReleaseTimeout: seconds a release stays valid
  std::string station_printer;   // StationPrinter: default queue of printguard release
  bool station_scan = false;     // StationListing Scan: list held jobs by asking cupsd about every job
  bool release_pam = false;      // ReleaseAuth PAM: the station authenticates through PAM service printguard
  int lockout_failures = 5;      // LockoutFailures per user and per badge...
  int lockout_window = 900;      // ...within LockoutWindow seconds
  long long detail_retention = 90LL * 86400;  // DetailRetention: audit titles/hosts kept this long
  std::string spool_dir = "/var/spool/cups";  // SpoolDir: cupsd's RequestRoot
  long long purge_notice = 0;       // PurgeNotice: mail owners this long before a purge (0 = off)
  std::string notice_domain;        // NoticeMailDomain: owner "u" is mailed at u@domain
  std::string sendmail = "/usr/sbin/sendmail";  // SendmailCommand
  long long anonymise_after = 0;    // AnonymiseAfter: anonymise users inactive this long (0 = never)
  bool require_all_queues = false;  // RequireAllQueues: every queue must use printguard
  LdapSettings ldap;
  QueueSettings defaults;
  std::map<std::string, QueueSettings> queues;  // key: lower-case queue name

  Config();
  // for_queue() - settings for a queue (its <Queue> section, else the defaults).
  const QueueSettings& for_queue(const std::string& queue) const;
};

// default_config_path() - $PRINTGUARD_CONF, else SYSCONFDIR/printguard/printguard.conf.
std::string default_config_path();

// load_config() - parse a file; throws Error "FILE:LINE: message" on any problem.
// A missing file is an error unless it is the built-in default path (then defaults).
Config load_config(const std::string& path);

// load_config_default() - load_config(default_config_path()).
Config load_config_default();

// parse_config_text() - parse text as if read from `name` (used by tests and fuzzers).
Config parse_config_text(const std::string& text, const std::string& name);

// user_option_names() - the job options (without "printguard-") UserOptions may allow.
const std::vector<std::string>& user_option_names();

// parse_size() - "4096", "512K", "256M", "2G" to bytes; throws Error.
long long parse_size(const std::string& v, const std::string& what);

// parse_duration() - "90", "90s", "15m", "4h", "30d" to seconds; throws Error.
long long parse_duration(const std::string& v, const std::string& what);

// apply_queue_option() - set one stamp setting by directive/option name; throws Error.
// Returns false if `name` is not a stamp setting.
bool apply_queue_option(QueueSettings& s, const std::string& name, const std::string& value);

}  // namespace pg
