// config.cc - printguard.conf parser.
#include "config.h"

#include <cerrno>
#include <cstring>
#include <cctype>
#include <sys/stat.h>

#include "keys.h"
#include "template.h"
#include "util.h"

#ifndef PG_SYSCONFDIR
#define PG_SYSCONFDIR "/etc"
#endif
#ifndef PG_LOCALSTATEDIR
#define PG_LOCALSTATEDIR "/var"
#endif

namespace pg {

Config::Config()
    : key_dir(PG_SYSCONFDIR "/printguard/keys"), audit_db(PG_LOCALSTATEDIR "/lib/printguard/audit.db") {}

const QueueSettings& Config::for_queue(const std::string& queue) const {
  auto it = queues.find(lower(queue));
  return it == queues.end() ? defaults : it->second;
}

std::string default_config_path() {
  const char* env = getenv("PRINTGUARD_CONF");
  if (env && *env) return env;
  return PG_SYSCONFDIR "/printguard/printguard.conf";
}

const std::vector<std::string>& default_blocking_reasons() {
  static const std::vector<std::string> r = {
      "media-empty",  "media-needed",       "media-jam",          "cover-open",   "door-open",
      "input-tray-missing", "output-tray-missing", "output-area-full", "marker-supply-missing",
      "marker-supply-empty", "toner-empty", "offline", "paused", "spool-area-full", "interlock-open",
      "fuser-over-temp", "fuser-under-temp", "shutdown", "stopped-partly", "stopping"};
  return r;
}

// valid_keyword() - an IPP keyword: lower-case letters, digits, '-', '_', '.'.
static bool valid_keyword(const std::string& k) {
  if (k.empty() || k.size() > 255) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) return false;
  return true;
}

const std::vector<std::string>& user_option_names() {
  static const std::vector<std::string> names = {"watermark", "template", "placement", "font-size",
                                                 "gray",      "opacity",  "rotation"};
  return names;
}

// parse_mode() - off/on/required.
static WatermarkMode parse_mode(const std::string& v) {
  auto t = lower(trim(v));
  if (t == "off" || t == "no") return WatermarkMode::Off;
  if (t == "on" || t == "yes") return WatermarkMode::On;
  if (t == "required") return WatermarkMode::Required;
  throw Error("Watermark: expected Off, On or Required, not \"" + printable(t) + "\"");
}

// parse_placement() - header / footer / diagonal / position X Y.
static void parse_placement(QueueSettings& s, const std::string& v) {
  auto w = split_ws(lower(v));
  if (w.size() == 1 && w[0] == "header") s.placement = Placement::Header;
  else if (w.size() == 1 && w[0] == "footer") s.placement = Placement::Footer;
  else if (w.size() == 1 && w[0] == "diagonal") s.placement = Placement::Diagonal;
  else if (w.size() == 3 && w[0] == "position") {
    s.pos_x = parse_double(w[1], 0, 20000, "Placement position X");
    s.pos_y = parse_double(w[2], 0, 20000, "Placement position Y");
    s.placement = Placement::Position;
  } else {
    throw Error("Placement: expected Header, Footer, Diagonal or \"Position X Y\", not \"" + printable(v) + "\"");
  }
}

// check_time_zone() - a zone name must exist in the zoneinfo database.
static void check_time_zone(const std::string& tz) {
  if (tz.empty() || tz == "UTC" || tz == "local") return;
  if (tz.find("..") != std::string::npos || tz[0] == '/')
    throw Error("TimeZone: \"" + printable(tz) + "\" is not a zone name");
  struct stat st;
  if (stat(("/usr/share/zoneinfo/" + tz).c_str(), &st) != 0 || !S_ISREG(st.st_mode))
    throw Error("TimeZone: unknown zone \"" + printable(tz) + "\" (see /usr/share/zoneinfo)");
}

long long parse_duration(const std::string& v, const std::string& what) {
  std::string t = lower(trim(v));
  long long unit = 1;
  if (!t.empty() && (t.back() == 's' || t.back() == 'm' || t.back() == 'h' || t.back() == 'd')) {
    unit = t.back() == 'm' ? 60 : t.back() == 'h' ? 3600 : t.back() == 'd' ? 86400 : 1;
    t.pop_back();
  }
  return parse_int(t, 1, 3650LL * 86400 / unit, what + " (a number with an optional s, m, h or d)") * unit;
}

long long parse_size(const std::string& v, const std::string& what) {
  std::string t = lower(trim(v));
  long long unit = 1;
  if (!t.empty() && (t.back() == 'k' || t.back() == 'm' || t.back() == 'g')) {
    unit = t.back() == 'k' ? 1024 : t.back() == 'm' ? 1024 * 1024 : 1024LL * 1024 * 1024;
    t.pop_back();
  }
  return parse_int(t, 1, (1LL << 42) / unit, what + " (bytes, or a number with K, M or G)") * unit;
}

bool apply_queue_option(QueueSettings& s, const std::string& name, const std::string& value) {
  auto n = lower(name);
  if (n == "watermark") s.mode = parse_mode(value);
  else if (n == "template") {
    validate_template(value);
    if (value.size() > 4096) throw Error("Template: longer than 4096 bytes");
    s.tmpl = value;
  } else if (n == "placement") parse_placement(s, value);
  else if (n == "fontsize" || n == "font-size") {
    s.font_size = parse_double(value, 2, 200, "FontSize");
    s.font_size_set = true;
  } else if (n == "gray") s.gray = parse_double(value, 0, 1, "Gray");
  else if (n == "opacity") s.opacity = parse_double(value, 0.05, 1, "Opacity");
  else if (n == "rotation") s.rotation = parse_double(value, -360, 360, "Rotation");
  else if (n == "dateformat") {
    if (value.empty() || value.size() > 200) throw Error("DateFormat: must be 1 to 200 characters");
    s.date_format = value;
  } else if (n == "timezone") {
    check_time_zone(trim(value));
    s.time_zone = trim(value);
  } else if (n == "hidetitles") s.hide_titles = parse_bool(value, "HideTitles");
  else if (n == "repairdamagedpdf") s.repair_damaged = parse_bool(value, "RepairDamagedPDF");
  else if (n == "useroptions") {
    s.user_options.clear();
    for (auto& w : split_ws(lower(value))) {
      if (w == "none") continue;
      bool ok = false;
      for (auto& k : user_option_names()) ok = ok || k == w;
      if (!ok)
        throw Error("UserOptions: unknown option \"" + printable(w) +
                    "\" (known: watermark template placement font-size gray opacity rotation, or none)");
      s.user_options.insert(w);
    }
  } else if (n == "blockingreasons") {
    std::vector<std::string> list;
    for (auto& w : split_ws(lower(value))) {
      if (w == "default") {
        list.insert(list.end(), default_blocking_reasons().begin(), default_blocking_reasons().end());
      } else if (w == "none") {
      } else if (valid_keyword(w)) {
        list.push_back(w);
      } else {
        throw Error("BlockingReasons: \"" + printable(w) + "\" is not a printer-state-reasons keyword");
      }
    }
    s.blocking_reasons = list;
  } else if (n == "unqueriedprinters") {
    auto v = lower(trim(value));
    if (v != "allow" && v != "refuse") throw Error("UnqueriedPrinters: expected Allow or Refuse");
    s.send_unqueried = v == "allow";
  } else if (n == "maxpages") {
    s.max_pages = parse_int(value, 1, 100000000, "MaxPages");
  } else if (n == "maxdocumentsize") {
    s.max_document_bytes = parse_size(value, "MaxDocumentSize");
  } else if (n == "maxpagecontent") {
    s.max_content_bytes = parse_size(value, "MaxPageContent");
  } else if (n == "heldjobretention") {
    s.held_retention = parse_duration(value, "HeldJobRetention");
  } else if (n == "releasegroup") {
    if (value.size() > 1024) throw Error("ReleaseGroup: longer than 1024 characters");
    s.release_group = trim(value);
  } else
    return false;
  return true;
}

// apply_ldap_option() - one LDAP* directive; false if name is not one.
static bool apply_ldap_option(LdapSettings& l, const std::string& k, const std::string& value) {
  if (k == "ldapuri") {
    l.uris.clear();
    for (auto& u : split_ws(value)) {
      auto lu = lower(u);
      if (lu.rfind("ldap://", 0) != 0 && lu.rfind("ldaps://", 0) != 0 && lu.rfind("ldapi://", 0) != 0)
        throw Error("LDAPURI: \"" + printable(u) + "\" is not an ldap://, ldaps:// or ldapi:// URI");
      l.uris.push_back(u);
    }
    if (l.uris.empty()) throw Error("LDAPURI: give at least one URI");
  } else if (k == "ldapstarttls") l.start_tls = parse_bool(value, "LDAPStartTLS");
  else if (k == "ldapcafile" || k == "ldapbindpasswordfile") {
    if (value.empty() || value[0] != '/') throw Error((k == "ldapcafile" ? "LDAPCAFile" : "LDAPBindPasswordFile") + std::string(": must be an absolute path"));
    (k == "ldapcafile" ? l.ca_file : l.bind_password_file) = value;
  } else if (k == "ldapbinddn") l.bind_dn = value;
  else if (k == "ldapbase") l.base = value;
  else if (k == "ldapuserfilter") {
    size_t p = value.find("%s");
    if (p == std::string::npos || value.find("%s", p + 2) != std::string::npos || value.front() != '(' || value.back() != ')')
      throw Error("LDAPUserFilter: expected a filter in parentheses with exactly one %s for the user name");
    l.user_filter = value;
  } else if (k == "ldapbadgeattribute" || k == "ldapgroupattribute") {
    for (char c : value)
      if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != ';')
        throw Error("LDAP attribute name \"" + printable(value) + "\" is not valid");
    (k == "ldapbadgeattribute" ? l.badge_attribute : l.group_attribute) = value;
  } else if (k == "ldaptimeout") l.timeout = static_cast<int>(parse_int(value, 1, 300, "LDAPTimeout"));
  else
    return false;
  return true;
}

// unquote() - a directive value: bare text, or "quoted" with \" \\ \n escapes.
static std::string unquote(const std::string& v) {
  if (v.empty() || v[0] != '"') return v;
  std::string out;
  size_t i = 1;
  for (; i < v.size() && v[i] != '"'; i++) {
    if (v[i] == '\\' && i + 1 < v.size()) {
      char c = v[++i];
      out.push_back(c == 'n' ? '\n' : c);
    } else {
      out.push_back(v[i]);
    }
  }
  if (i >= v.size()) throw Error("missing closing quote");
  if (!trim(v.substr(i + 1)).empty()) throw Error("text after the closing quote");
  return out;
}

// Directive - one parsed line, kept to apply queue sections after the globals.
struct Directive {
  std::string name, value;
  int line;
};

Config parse_config_text(const std::string& text, const std::string& name) {
  Config cfg;
  cfg.path = name;
  std::map<std::string, std::vector<Directive>> queue_lines;
  std::map<std::string, int> queue_first_line;
  std::string in_queue;  // lower-case name while inside <Queue>
  int in_queue_line = 0;
  int lineno = 0;
  size_t pos = 0;
  auto fail = [&](const std::string& msg) { throw Error(name + ":" + std::to_string(lineno) + ": " + msg); };
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    std::string raw = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
    lineno++;
    if (raw.find('\0') != std::string::npos) fail("NUL byte in configuration");
    std::string line = trim(raw);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '<') {
      if (line.back() != '>') fail("section line must end with \">\"");
      auto words = split_ws(line.substr(1, line.size() - 2));
      if (words.size() == 1 && lower(words[0]) == "/queue") {
        if (in_queue.empty()) fail("</Queue> without <Queue>");
        in_queue.clear();
        continue;
      }
      if (words.size() == 2 && lower(words[0]) == "queue") {
        if (!in_queue.empty()) fail("<Queue> sections cannot be nested");
        const std::string& q = words[1];
        if (q.size() > 127) fail("queue name longer than 127 characters");
        for (unsigned char c : q)
          if (c <= ' ' || c == '/' || c == '#' || c == '\\' || c == '"' || c == '\'' || c == 0x7f)
            fail("invalid character in queue name \"" + printable(q) + "\"");
        in_queue = lower(q);
        in_queue_line = lineno;
        if (queue_first_line.count(in_queue)) fail("duplicate <Queue " + printable(q) + "> section");
        queue_first_line[in_queue] = lineno;
        queue_lines[in_queue];
        continue;
      }
      fail("unknown section \"" + printable(line) + "\" (expected <Queue NAME> or </Queue>)");
    }
    size_t sp = line.find_first_of(" \t");
    std::string key = line.substr(0, sp);
    std::string value;
    try {
      value = sp == std::string::npos ? "" : unquote(trim(line.substr(sp)));
    } catch (const Error& e) {
      fail(key + ": " + e.what());
    }
    if (!in_queue.empty()) {
      // Validate now so the error carries this line number; apply later.
      QueueSettings probe;
      try {
        if (!apply_queue_option(probe, key, value))
          fail("unknown directive \"" + printable(key) + "\" in <Queue> section");
      } catch (const Error& e) {
        if (std::string(e.what()).rfind(name + ":", 0) == 0) throw;
        fail(e.what());
      }
      queue_lines[in_queue].push_back({key, value, lineno});
      continue;
    }
    try {
      auto k = lower(key);
      if (k == "keydir" || k == "auditdb") {
        if (value.empty() || value[0] != '/') fail(key + ": must be an absolute path");
        (k == "keydir" ? cfg.key_dir : cfg.audit_db) = value;
      } else if (k == "syslog") {
        cfg.syslog = parse_bool(value, "Syslog");
      } else if (k == "releasetimeout") {
        cfg.release_timeout = static_cast<int>(parse_int(value, 5, 86400, "ReleaseTimeout"));
      } else if (k == "detailretention") {
        cfg.detail_retention = parse_duration(value, "DetailRetention");
      } else if (k == "purgenotice") {
        cfg.purge_notice = lower(trim(value)) == "off" ? 0 : parse_duration(value, "PurgeNotice");
      } else if (k == "noticemaildomain") {
        for (char c : value)
          if (!isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') fail("NoticeMailDomain: not a domain name");
        cfg.notice_domain = value;
      } else if (k == "sendmailcommand") {
        if (value.empty() || value[0] != '/' || value.find(' ') != std::string::npos)
          fail("SendmailCommand: an absolute path to sendmail (no arguments)");
        cfg.sendmail = value;
      } else if (k == "anonymiseafter" || k == "anonymizeafter") {
        cfg.anonymise_after = lower(trim(value)) == "never" ? 0 : parse_duration(value, "AnonymiseAfter");
      } else if (k == "requireallqueues") {
        cfg.require_all_queues = parse_bool(value, "RequireAllQueues");
      } else if (k == "spooldir") {
        if (value.empty() || value[0] != '/') fail("SpoolDir: must be an absolute path");
        cfg.spool_dir = value;
      } else if (k == "stationprinter") {
        cfg.station_printer = trim(value);
      } else if (k == "stationlisting") {
        auto v = lower(trim(value));
        if (v != "index" && v != "scan") fail("StationListing: expected Index or Scan");
        cfg.station_scan = v == "scan";
      } else if (k == "releaseauth") {
        auto v = lower(trim(value));
        if (v != "ldap" && v != "pam") fail("ReleaseAuth: expected LDAP or PAM");
        cfg.release_pam = v == "pam";
      } else if (k == "lockoutfailures") {
        cfg.lockout_failures = static_cast<int>(parse_int(value, 1, 1000, "LockoutFailures"));
      } else if (k == "lockoutwindow") {
        cfg.lockout_window = static_cast<int>(parse_int(value, 10, 86400 * 7, "LockoutWindow"));
      } else if (apply_ldap_option(cfg.ldap, k, value)) {
      } else if (!apply_queue_option(cfg.defaults, key, value)) {
        fail("unknown directive \"" + printable(key) + "\"");
      }
    } catch (const Error& e) {
      if (std::string(e.what()).rfind(name + ":", 0) == 0) throw;
      fail(e.what());
    }
  }
  if (!in_queue.empty()) {
    lineno = in_queue_line;
    fail("<Queue> section is not closed with </Queue>");
  }
  for (auto& [q, lines] : queue_lines) {
    QueueSettings s = cfg.defaults;
    for (auto& d : lines) apply_queue_option(s, d.name, d.value);
    cfg.queues[q] = s;
  }
  return cfg;
}

Config load_config(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT && path == PG_SYSCONFDIR "/printguard/printguard.conf" && !getenv("PRINTGUARD_CONF")) {
      Config cfg;  // documented built-in defaults
      return cfg;
    }
    throw Error("cannot read configuration " + path + ": " + strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) throw Error("configuration " + path + " is not a regular file");
  if (st.st_mode & S_IWOTH) throw Error("configuration " + path + " is writable by everyone; run: chmod o-w " + path);
  std::string text = read_file(path, 1 << 20);
  Config cfg = parse_config_text(text, path);
  auto h = sha256(text);
  cfg.file_sha256 = hex(h.data(), h.size());
  return cfg;
}

Config load_config_default() { return load_config(default_config_path()); }

}  // namespace pg
