// audit.h - the audit store: SQLite (WAL), versioned schema, every record chained
// to the previous one by a keyed hash, and copied to syslog.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "keys.h"

struct sqlite3;

namespace pg {

// AuditEvent - one audit record. Sensitive fields (user, host, title) are chained
// through keyed hashes so they can later be redacted without breaking the chain.
struct AuditEvent {
  long long id = 0;
  std::string time_utc;  // set by append() when empty
  std::string event;     // stamp, keygen, release, refuse, ...
  std::string user, queue, host, job_uuid, title;
  bool title_hidden = false;  // title holds nothing; title_h is the keyed title hash
  long long job_id = 0, pages = 0;
  std::string code, key_id;
  std::string mac;     // raw MAC bytes (stamp events)
  std::string record;  // canonical signed record (stamp events)
  std::string detail;
  std::string title_h;  // keyed title hash (hex); computed by append() unless hidden
  std::string chain_key_id;
  bool redacted = false;  // title, host and record removed by retention
};

// AuditQuery - filters for AuditStore::query(); empty fields match everything.
struct AuditQuery {
  std::string user, queue, event, code, job_uuid, host;
  long long after_id = 0;  // only records with a larger id
  long long since = 0, until = 0;  // UTC seconds; 0 = open
  int limit = 50;
};

class AuditStore {
 public:
  // AuditStore() - open (creating and migrating as needed) the database at path;
  // with create false, a missing store is an error (for read-only commands).
  explicit AuditStore(const std::string& path, bool syslog = true, bool create = true);
  ~AuditStore();
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  // append() - add ev chained under key, atomically with respect to other writers;
  // returns its id. Throws Error if the store cannot be written.
  long long append(AuditEvent ev, const Key& key);
  // append_all() - add several events, chained in order, in one transaction (all
  // or none); returns the last one's id (0 for none).
  long long append_all(std::vector<AuditEvent> evs, const Key& key);
  // find_code() - the stamp record carrying this (canonical) signature code.
  std::optional<AuditEvent> find_code(const std::string& code);
  // query() - newest first.
  std::vector<AuditEvent> query(const AuditQuery& q);
  // verify_chain() - walk every record in order, re-computing each chain link and
  // field hash; returns 0 if all verify, else the id of the first bad record
  // (with what is wrong in `why`). Throws Error if a needed key is missing.
  long long verify_chain(const KeyStore& keys, std::string& why);
  // add_release() - store a release record (canonical bytes + MAC); returns its id.
  long long add_release(const std::string& job_uuid, const std::string& queue, long long expires,
                        const std::string& key_id, const std::string& record, const std::string& mac);
  // take_release() - atomically mark the newest unused release for (job_uuid,
  // queue) as used and return its record and MAC; false if there is none.
  // Spent either way: a release is single-use even when it then fails a check.
  bool take_release(const std::string& job_uuid, const std::string& queue, std::string& record, std::string& mac);
  // spend_releases() - mark every unused release of a job as used (refusals).
  int spend_releases(const std::string& job_uuid);
  // set_pin() / clear_pin() / pin_of() - a user's PIN hash (argon2id string).
  void set_pin(const std::string& user, const std::string& hash);
  bool clear_pin(const std::string& user);
  std::string pin_of(const std::string& user);
  // has_live_release() - whether an unused, unexpired release exists for a job.
  bool has_live_release(const std::string& job_uuid, long long now);
  // delete_expired_releases() - remove release records that expired before now.
  int delete_expired_releases(long long now);
  // redact_details() - blank title, host and signed record of records older than
  // `before` (UTC seconds), keeping counts; marks them redacted. Returns how many.
  int redact_details(long long before, bool dry_run);
  // anonymise_user() - replace `user` (any case) in every record by the keyed
  // pseudonym of that record (pseudonym_of) and blank its details, keeping
  // counts and the hash chain valid. Returns how many records changed.
  int anonymise_user(const std::string& user);
  // inactive_users() - users (not pseudonyms, badges or empty) whose newest
  // record is older than `before` (UTC seconds).
  std::vector<std::string> inactive_users(long long before);
  // last_detail() - detail of the newest record of an event type ("" if none).
  std::string last_detail(const std::string& event);
  // ReportRow - activity of one group (a user, queue or day) in a period.
  struct ReportRow {
    std::string key;
    long long jobs_printed = 0, pages_printed = 0, jobs_held = 0, jobs_released = 0, jobs_purged = 0,
              refused_printer = 0;
  };
  // report() - activity grouped by "user", "queue" or "day" between since and
  // until (UTC seconds, 0 = open), sorted by key.
  std::vector<ReportRow> report(const std::string& by, long long since, long long until);
  // recent_failures() - auth-fail records for `who` since `since` (UTC seconds),
  // not counting those before the last auth-ok of the same `who`.
  int recent_failures(const std::string& who, long long since);
  // last_event_id() - id of the newest record of this event for a job uuid, or 0.
  long long last_event_id(const std::string& job_uuid, const std::string& event);
  // last_event_time() - UTC seconds of the newest record of an event for a job, or 0.
  long long last_event_time(const std::string& job_uuid, const std::string& event);
  // has_event() - whether any record of this event exists for a job uuid.
  bool has_event(const std::string& job_uuid, const std::string& event);
  // HeldCandidate - a job the printguard backend recorded holding.
  struct HeldCandidate {
    long long job_id = 0;
    std::string job_uuid, queue;
  };
  // held_candidates() - jobs the backend held for `user` (any case) whose newest
  // backend record is a hold (hold, bypass, refuse, interrupted), not a print,
  // cancel or purge; newest first. Candidates only: cupsd must confirm each.
  std::vector<HeldCandidate> held_candidates(const std::string& user);
  // schema_version() - PRAGMA user_version.
  int schema_version();

  static constexpr int kSchemaVersion = 6;
  // A WAL larger than this is checkpointed into the store when a process
  // closes it (about 25 jobs' records; rebuilding SQLite's index of it when
  // the next process opens the store costs well under a millisecond).
  static constexpr long long kWalCheckpointBytes = 1 << 20;

 private:
  void migrate();
  void exec(const std::string& sql);
  // begin_immediate() - BEGIN IMMEDIATE, naming the store in the error.
  void begin_immediate();
  sqlite3* db_ = nullptr;
  std::string path_;
  bool syslog_;
  bool erased_ = false;  // data was anonymised or redacted: checkpoint the WAL at close
};

// AuditWriter - an AuditStore opened and written on a thread of its own, so
// that the caller's work goes on meanwhile: on_open() runs first (on that
// thread), then every event add() hands over is appended under key, in order.
// finish() returns once they all are on disk, or throws what failed; a caller
// that must not act before its record is durable acts only after finish().
class AuditWriter {
 public:
  AuditWriter(const std::string& path, bool syslog, const Key& key,
              std::function<void(AuditStore&)> on_open = nullptr);
  ~AuditWriter();  // finishes (what failed is then dropped); the store closes
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // add() - have ev appended (after those added before).
  void add(AuditEvent ev);
  // finish() - wait until every event added is appended; throws the Error that
  // opening or appending met. No event may be added after it.
  void finish();

 private:
  // open() - open the store and run on_open on it.
  void open(const std::string& path, bool syslog, const std::function<void(AuditStore&)>& on_open);
  // work() - open(), then append events until finish().
  void work(const std::string& path, bool syslog, const std::function<void(AuditStore&)>& on_open);
  const Key& key_;
  std::unique_ptr<AuditStore> store_;
  std::mutex mutex_;
  std::condition_variable added_;
  std::vector<AuditEvent> queued_;
  bool finishing_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: started once the members above exist
};

// field_hash() - keyed hash (hex) of one sensitive field, as chained.
std::string field_hash(const Key& key, const std::string& field, const std::string& value);

// events_csv() / events_json() - records as CSV (RFC 4180, header line) or a
// JSON array, every field included; text is made printable first.
std::string events_csv(const std::vector<AuditEvent>& rows);
std::string events_json(const std::vector<AuditEvent>& rows);

// json_quote() - a JSON string literal for text (made printable first).
std::string json_quote(const std::string& s);

// pseudonym_of() - what anonymisation writes for a user whose keyed hash is user_h.
std::string pseudonym_of(const std::string& user_h);

// audit_line() - the one-line rendering of an event used for syslog.
std::string audit_line(const AuditEvent& ev);

}  // namespace pg
