// purge.h - printguard purge: enforce retention of held jobs, spool files,
// release records and personal details in the audit store.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace pg {

// PurgeOptions - what the command line asked for.
struct PurgeOptions {
  bool dry_run = false;
  long long now = 0;  // 0: the current time
};

// PurgeReport - what a purge did (or would do, with dry_run).
struct PurgeReport {
  std::vector<std::string> purged_jobs;   // "ID queue user age"
  std::vector<std::string> kept_jobs;     // held jobs skipped and why (being released)
  int spool_files_removed = 0;
  int releases_removed = 0;
  int records_redacted = 0;
  int users_anonymised = 0;
  int notices_sent = 0;
  std::vector<std::string> errors;        // anything that failed: non-zero exit
  bool dry_run = false;
};

// run_purge() - one purge pass under the purge lock; throws Error if it cannot
// start at all (no cupsd, no audit store).
PurgeReport run_purge(const Config& cfg, const PurgeOptions& o);

// notice_message() - the mail telling a job's owner it will be deleted at `when`;
// empty if the owner's name cannot safely be a mail address.
std::string notice_message(const Config& cfg, const std::string& owner, int job_id, const std::string& queue,
                           long long when);

// purge_report_text() / purge_report_json() - the summary for people and programs.
std::string purge_report_text(const PurgeReport& r);
std::string purge_report_json(const PurgeReport& r);

// PurgeLock - the purge lock file next to the audit store: exclusive for purges,
// shared for release stations, so a job being released is never purged.
class PurgeLock {
 public:
  PurgeLock(const Config& cfg, bool exclusive);
  ~PurgeLock();
  PurgeLock(const PurgeLock&) = delete;
  PurgeLock& operator=(const PurgeLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace pg
