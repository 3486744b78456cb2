// check.h - printguard check: audit a live CUPS installation against the
// practices secure printing needs, with a severity and a fix for each finding.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "config.h"

namespace pg {

enum class Severity { Low, Medium, High };

// Finding - one weakness: a stable id, what is wrong, and how to fix it.
struct Finding {
  Severity severity;
  std::string id;  // e.g. impersonation, job-files-kept, no-purger
  std::string what, fix;
};

// CupsdLimit / CupsdPolicy / CupsdConf - what check needs from cupsd.conf.
struct CupsdLimit {
  std::set<std::string> ops;  // lower case; "all" for <Limit All>
  std::string auth_type;      // lower case; empty if none given
  std::vector<std::string> require;
};
struct CupsdPolicy {
  std::vector<CupsdLimit> limits;
};
struct CupsdConf {
  std::map<std::string, std::string> directives;  // top level, lower-case names
  std::map<std::string, CupsdPolicy> policies;    // lower-case policy names
};

// parse_cupsd_conf() - the top-level directives and <Policy>/<Limit> blocks.
CupsdConf parse_cupsd_conf(const std::string& text);

// policy_impersonation() - operations a policy lets a claimed (unauthenticated)
// owner perform that could print or move a held job; empty if none.
std::vector<std::string> policy_impersonation(const CupsdConf& c, const std::string& policy);

// CheckOptions - where the installation is.
struct CheckOptions {
  std::string cups_root = "/etc/cups";  // ServerRoot holding cupsd.conf
  std::string root = "/";               // system root for cron.d and systemd
};

// run_check() - every finding, most severe first. Throws Error if cupsd.conf
// cannot be read; findings about cupsd itself when it does not answer.
std::vector<Finding> run_check(const Config& cfg, const CheckOptions& o);

// severity_name() - "HIGH", "MEDIUM", "LOW".
const char* severity_name(Severity s);

}  // namespace pg
