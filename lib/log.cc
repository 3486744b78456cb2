// log.cc - CUPS-style log lines and syslog.
#include "log.h"

#include <syslog.h>
#include <unistd.h>

#include "util.h"

namespace pg {

static bool g_plain = false;

void set_log_plain(bool plain) { g_plain = plain; }

void log_line(LogLevel level, const std::string& msg) {
  const char* prefix = "ERROR";
  switch (level) {
    case LogLevel::Error: prefix = "ERROR"; break;
    case LogLevel::Warning: prefix = "WARNING"; break;
    case LogLevel::Info: prefix = "INFO"; break;
    case LogLevel::Debug: prefix = "DEBUG"; break;
  }
  std::string line;
  if (g_plain) {
    if (level == LogLevel::Debug) return;
    line = std::string("printguard: ") + (level == LogLevel::Error ? "error: " : level == LogLevel::Warning ? "warning: " : "") +
           printable(msg) + "\n";
  } else {
    line = std::string(prefix) + ": printguard: " + printable(msg) + "\n";
  }
  write_all(STDERR_FILENO, line.data(), line.size());
}

void syslog_event(const std::string& line) {
  static bool opened = false;
  if (!opened) {
    openlog("printguard", LOG_PID | LOG_NDELAY, LOG_LPR);
    opened = true;
  }
  syslog(LOG_NOTICE, "%s", printable(line).c_str());
}

}  // namespace pg
