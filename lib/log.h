// log.h - CUPS-style log lines on stderr (ERROR:/WARNING:/INFO:/DEBUG:) and syslog.
#pragma once

#include <string>

namespace pg {

enum class LogLevel { Error, Warning, Info, Debug };

// log_line() - write one "LEVEL: printguard: message" line to stderr; the message
// is made printable first so it can never start a second line.
void log_line(LogLevel level, const std::string& msg);

inline void log_error(const std::string& m) { log_line(LogLevel::Error, m); }
inline void log_warning(const std::string& m) { log_line(LogLevel::Warning, m); }
inline void log_info(const std::string& m) { log_line(LogLevel::Info, m); }
inline void log_debug(const std::string& m) { log_line(LogLevel::Debug, m); }

// set_log_plain() - tools print "printguard: message" without the CUPS prefixes.
void set_log_plain(bool plain);

// syslog_event() - send one audit line to syslog (facility LOG_LPR, ident "printguard").
void syslog_event(const std::string& line);

}  // namespace pg
