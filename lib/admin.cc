// admin.cc - admin actions and GDPR.
#include "admin.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>

#include "util.h"

namespace pg {

std::string admin_name() {
  const char* sudo = getenv("SUDO_USER");
  if (sudo && *sudo) return sudo;
  struct passwd* pw = getpwuid(getuid());
  return pw ? pw->pw_name : std::to_string(getuid());
}

bool note_config_change(AuditStore& audit, const Key& key, const Config& cfg) {
  // The digest of the text load_config() parsed: no second read, and exactly
  // the configuration in force.
  if (cfg.path.empty() || cfg.file_sha256.empty()) return false;
  std::string detail = cfg.path + " sha256=" + cfg.file_sha256;
  if (audit.last_detail("config") == detail) return false;
  AuditEvent ev;
  ev.event = "config";
  ev.title_hidden = true;
  ev.detail = detail;
  audit.append(ev, key);
  return true;
}

void admin_event(AuditStore& audit, const Key& key, const std::string& event, const std::string& detail,
                 const std::string& subject) {
  AuditEvent ev;
  ev.event = event;
  ev.user = subject;
  ev.title_hidden = true;
  ev.detail = detail + (detail.empty() ? "" : " ") + "by " + admin_name();
  audit.append(ev, key);
}

std::string export_user(AuditStore& audit, const std::string& user) {
  AuditQuery q;
  q.user = user;
  q.limit = 100000000;
  auto rows = audit.query(q);
  return "{\"user\":" + json_quote(user) + ",\"exported_at\":" + json_quote(utc_iso8601(time(nullptr))) +
         ",\"pin_set\":" + (audit.pin_of(user).empty() ? "false" : "true") + ",\"records\":" + events_json(rows) + "}\n";
}

}  // namespace pg
