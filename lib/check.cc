// check.cc - printguard check.
#include "check.h"

#include <sys/stat.h>

#include <algorithm>

#include "cupsjobs.h"
#include "keys.h"
#include "queue.h"
#include "util.h"

namespace pg {

namespace {

// The job operations that must be @SYSTEM-only behind authentication.
const char* const kSensitiveOps[] = {"release-job", "cups-move-job", "set-job-attributes", "restart-job",
                                     "hold-job",    "resume-job",    "reprocess-job"};

// exists() - whether a path exists.
bool exists(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0;
}

// value_of() - a top-level cupsd.conf directive or its CUPS default.
std::string value_of(const CupsdConf& c, const std::string& name, const std::string& def) {
  auto it = c.directives.find(lower(name));
  return it == c.directives.end() ? def : it->second;
}

}  // namespace

const char* severity_name(Severity s) {
  return s == Severity::High ? "HIGH" : s == Severity::Medium ? "MEDIUM" : "LOW";
}

CupsdConf parse_cupsd_conf(const std::string& text) {
  CupsdConf c;
  std::string policy;  // inside <Policy name>
  CupsdLimit* limit = nullptr;
  int other_depth = 0;  // inside <Location> and other blocks
  size_t p = 0;
  while (p <= text.size()) {
    size_t nl = text.find('\n', p);
    std::string line = trim(text.substr(p, nl == std::string::npos ? std::string::npos : nl - p));
    p = nl == std::string::npos ? text.size() + 1 : nl + 1;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '<') {
      auto w = split_ws(line.substr(1, line.size() - (line.back() == '>' ? 2 : 1)));
      if (w.empty()) continue;
      std::string tag = lower(w[0]);
      if (tag == "policy" && w.size() > 1) {
        policy = lower(w[1]);
        c.policies[policy];
      } else if (tag == "/policy") {
        policy.clear();
      } else if ((tag == "limit" || tag == "limitexcept") && !policy.empty()) {
        c.policies[policy].limits.emplace_back();
        limit = &c.policies[policy].limits.back();
        for (size_t i = 1; i < w.size(); i++) limit->ops.insert(lower(w[i]));
      } else if (tag == "/limit" || tag == "/limitexcept") {
        limit = nullptr;
      } else if (tag[0] == '/') {
        other_depth = std::max(0, other_depth - 1);
      } else {
        other_depth++;
      }
      continue;
    }
    auto w = split_ws(line);
    std::string key = lower(w[0]);
    std::string value = trim(line.substr(w[0].size()));
    if (limit) {
      if (key == "authtype") limit->auth_type = lower(value);
      if (key == "require") limit->require = split_ws(value);
    } else if (policy.empty() && other_depth == 0) {
      c.directives[key] = value;
    }
  }
  return c;
}

std::vector<std::string> policy_impersonation(const CupsdConf& c, const std::string& policy) {
  std::vector<std::string> weak;
  auto it = c.policies.find(lower(policy));
  for (const char* op : kSensitiveOps) {
    const CupsdLimit* found = nullptr;
    if (it != c.policies.end()) {
      for (auto& l : it->second.limits)
        if (l.ops.count(op)) found = &l;
      if (!found)
        for (auto& l : it->second.limits)
          if (l.ops.count("all")) found = &l;
    }
    // No policy, or no rule: the built-in default lets the claimed owner do it.
    bool safe = found && !found->auth_type.empty() && found->auth_type != "none" && !found->require.empty() &&
                lower(found->require[0]) == "user" &&
                std::none_of(found->require.begin() + 1, found->require.end(),
                             [](const std::string& r) { return lower(r) != "@system"; });
    if (!safe) weak.push_back(op);
  }
  return weak;
}

std::vector<Finding> run_check(const Config& cfg, const CheckOptions& o) {
  std::vector<Finding> f;
  std::string conf_path = o.cups_root + "/cupsd.conf";
  CupsdConf c = parse_cupsd_conf(read_file(conf_path, 4 << 20));

  std::string def_policy = value_of(c, "DefaultPolicy", "default");
  auto weak = policy_impersonation(c, def_policy);
  if (!weak.empty())
    f.push_back({Severity::High, "impersonation",
                 "DefaultPolicy " + def_policy + " lets a user claim another user's name for " + weak.front() +
                     (weak.size() > 1 ? " and " + std::to_string(weak.size() - 1) + " more job operations" : "") +
                     " (release, move or change someone else's held job)",
                 "use conf/cupsd-hardened-policy.conf as the DefaultPolicy in " + conf_path});
  std::string keep = lower(value_of(c, "PreserveJobFiles", "86400"));
  if (keep != "no" && keep != "off" && keep != "false")
    f.push_back({Severity::Medium, "job-files-kept",
                 "cupsd keeps documents of finished jobs (PreserveJobFiles " + value_of(c, "PreserveJobFiles", "86400 (default)") + ")",
                 "set PreserveJobFiles No in " + conf_path});
  std::string plf = value_of(c, "PageLogFormat", "%p %u %j %T %P %C %{job-billing} %{job-originating-host-name} %{job-name} %{media} %{sides}");
  if (plf.find("job-name") != std::string::npos)
    f.push_back({Severity::Medium, "page-log-titles", "page_log records document titles (%{job-name} in PageLogFormat)",
                 "use the PageLogFormat of conf/cupsd-privacy.conf"});
  long long max_jobs = 500;
  try {
    max_jobs = parse_int(value_of(c, "MaxJobs", "500"), 0, 1LL << 40, "MaxJobs");
  } catch (const Error&) {
  }
  if (max_jobs != 0 && max_jobs < 10000)
    f.push_back({Severity::Medium, "max-jobs",
                 "MaxJobs " + std::to_string(max_jobs) + " is low for held jobs: new jobs are refused once it is reached",
                 "set MaxJobs 10000 (or more) in " + conf_path});

  // Queues, through cupsd itself.
  try {
    for (auto& q : list_queues()) {
      bool guarded = lower(q.device_uri).rfind("printguard:", 0) == 0;
      if (!guarded && cfg.require_all_queues)
        f.push_back({Severity::High, "unprotected-queue",
                     "queue " + q.name + " prints without printguard (device " + q.device_uri + ")",
                     "lpadmin -p " + q.name + " -v printguard:" + q.device_uri + " (RequireAllQueues is Yes)"});
      std::string dev = guarded ? q.device_uri.substr(11) : q.device_uri;
      std::string scheme = lower(dev.substr(0, dev.find(':')));
      if (scheme == "ipp" || scheme == "http" || scheme == "socket" || scheme == "lpd")
        f.push_back({Severity::Medium, "plaintext-device",
                     "queue " + q.name + " sends documents unencrypted (" + scheme + ":)",
                     "use ipps:// if the printer supports it, or an isolated print network"});
      if (!q.op_policy.empty() && !policy_impersonation(c, q.op_policy).empty() && lower(q.op_policy) != lower(def_policy))
        f.push_back({Severity::High, "impersonation",
                     "queue " + q.name + " uses operation policy " + q.op_policy + ", which lets users impersonate each other",
                     "lpadmin -p " + q.name + " -o printer-op-policy=" + def_policy});
      if (guarded && lower(dev) != "findme" && cfg.for_queue(q.name).mode == WatermarkMode::Required) {
        bool filter = false;
        try {
          filter = queue_has_filter(q.name);
        } catch (const Error&) {
        }
        if (!filter)
          f.push_back({Severity::High, "filter-missing",
                       "queue " + q.name + " requires the watermark but printguard-watermark is not on it: every job is refused",
                       "printguard queue enable " + q.name});
      }
    }
  } catch (const Error& e) {
    f.push_back({Severity::High, "cupsd-unreachable", std::string("cannot ask cupsd about its queues: ") + e.what(),
                 "run printguard check as root on the print server, with cupsd running"});
  }

  // printguard's own settings.
  try {
    KeyStore(cfg.key_dir).current();
  } catch (const Error& e) {
    f.push_back({Severity::High, "key-file", e.what(), "printguard keygen, or fix the key file's owner and mode (0640 root:lp)"});
  }
  for (auto& u : cfg.ldap.uris)
    if (lower(u).rfind("ldap://", 0) == 0 && !cfg.ldap.start_tls)
      f.push_back({Severity::High, "ldap-plaintext", "LDAP passwords would cross the network in clear (" + u + " without StartTLS)",
                   "use ldaps:// or LDAPStartTLS Yes"});
  if (!exists(o.root + "/etc/cron.d/printguard-purge") &&
      !exists(o.root + "/etc/systemd/system/timers.target.wants/printguard-purge.timer"))
    f.push_back({Severity::Medium, "no-purger", "no printguard purge is scheduled: held jobs and documents stay forever",
                 "install conf/printguard-purge.cron as /etc/cron.d/printguard-purge, or enable printguard-purge.timer"});
  std::stable_sort(f.begin(), f.end(), [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return f;
}

}  // namespace pg
