// cupsjobs.h - the CUPS operations a release station needs, done as root over
// the local socket (@SYSTEM): list held jobs, queue devices, move, release.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pg {

// CupsJob - one job as the station sees it.
struct CupsJob {
  int id = 0;
  std::string uuid, owner, queue, title, state_message;
  int state = 0;  // 3 pending, 4 held, 5 processing, 6 stopped, 7 canceled, 8 aborted, 9 completed
  long long created = 0;
};

// list_jobs() - every job that is not completed (held, pending, processing...).
std::vector<CupsJob> list_jobs();

// list_held_jobs() - owner's held jobs on the given queues, asking cupsd for as
// little as it can answer from memory: per queue, the held jobs' ids and owners;
// then the details of the owner's jobs only (Get-Jobs with job-ids).
std::vector<CupsJob> list_held_jobs(const std::vector<std::string>& queues, const std::string& owner);

// confirm_held_jobs() - of the candidate jobs (id, job-uuid; e.g. from the
// audit store), those cupsd holds now for owner on one of queues: one
// Get-Job-Attributes each, checked for job-state pending-held, owner, the job's
// current queue (moves count) and the same job-uuid (ids are reused), asked
// on up to four connections at once; in the candidates' order. A job cupsd no
// longer has is skipped; any other failure throws Error.
std::vector<CupsJob> confirm_held_jobs(const std::vector<std::pair<int, std::string>>& candidates,
                                       const std::vector<std::string>& queues, const std::string& owner);

// get_job() - one job by id (any state); throws Error if CUPS does not know it.
CupsJob get_job(int id);

// queue_device_uri() - a queue's device-uri; throws Error if there is no such queue.
std::string queue_device_uri(const std::string& queue);

// QueueInfo - a queue's name, device and operation policy.
struct QueueInfo {
  std::string name, device_uri, op_policy;
};

// list_queues() - every queue cupsd has.
std::vector<QueueInfo> list_queues();

// list_queues_with_device_prefix() - queues whose device-uri starts with prefix.
std::vector<std::string> list_queues_with_device_prefix(const std::string& prefix);

// move_job() - CUPS-Move-Job to another queue.
void move_job(int id, const std::string& dest);

// release_job() - Release-Job: the job leaves the held state and runs.
void release_job(int id);

// cancel_job() - Cancel-Job, with purge-job when purge is true.
void cancel_job(int id, bool purge);

// purge_jobs() - cancel and purge several jobs in one request (Purge-Jobs with
// job-ids, as cancel -a -x does for a queue); throws Error if cupsd refuses,
// e.g. because one of them is gone: then none was touched.
void purge_jobs(const std::vector<int>& ids);

}  // namespace pg
