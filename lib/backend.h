// backend.h - the printguard wrapper backend as library code: device URI
// validation, the release check, the printer-state gate, and running the real
// backend as a child.
#pragma once

#include <string>
#include <vector>

namespace pg {

// CUPS backend exit codes (cups/backend.h), named here for the library.
enum BackendStatus {
  kBackendOk = 0,
  kBackendFailed = 1,
  kBackendAuthRequired = 2,
  kBackendHold = 3,
  kBackendStop = 4,
  kBackendCancel = 5,
  kBackendRetry = 6,
  kBackendRetryCurrent = 7
};

// InnerDevice - what a printguard: device URI wraps.
struct InnerDevice {
  bool findme = false;  // printguard:findme, the Find-Me virtual queue
  std::string uri;      // the real device URI
  std::string scheme;   // its scheme = the backend program's name
};

// parse_device_uri() - validate "printguard:<inner URI>" or "printguard:findme";
// throws Error naming the problem (file:, nesting, bad scheme, control characters).
InnerDevice parse_device_uri(const std::string& device_uri);

// backend_discovery_line() - what the backend prints with no arguments (lpinfo -v).
std::string backend_discovery_line();

// without_credentials() - the URI without user:password@ (shown in ps as argv[0]).
std::string without_credentials(const std::string& uri);

// neutral_job_args() - argv for the real backend with the title replaced by
// "Job N" and document-name-supplied dropped (HideTitles).
std::vector<std::string> neutral_job_args(const std::vector<std::string>& argv);

// run_backend() - the whole backend for one job; returns the CUPS exit status.
int run_backend(const std::vector<std::string>& argv);

}  // namespace pg
