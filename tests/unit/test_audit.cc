// test_audit.cc - unit tests for the audit store: schema, chain, concurrency.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <stdexcept>
#include <thread>

#include "audit.h"
#include "testutil.h"

using pgtest::TempDir;

// g_datasyncs - fdatasync() calls made in this process (by SQLite).
static std::atomic<int> g_datasyncs{0};

// fdatasync() - counts the call, then makes it (this definition takes the
// place of libc's for SQLite too).
extern "C" int fdatasync(int fd) {
  g_datasyncs++;
  return static_cast<int>(syscall(SYS_fdatasync, fd));
}

// event() - a stamp-like event for user u.
static pg::AuditEvent event(const std::string& u, long long job) {
  pg::AuditEvent e;
  e.event = "stamp";
  e.user = u;
  e.queue = "q1";
  e.host = "ws1";
  e.job_id = job;
  e.title = "doc " + std::to_string(job);
  e.pages = 2;
  e.code = "CODE-" + std::to_string(job);
  e.record = "rec";
  return e;
}

// sql() - run one statement on the database file directly (simulating tampering).
static void sql(const std::string& db, const std::string& stmt) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(h, stmt.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(h);
}

TEST(Audit, CreatesVersionedWalSchema) {
  TempDir d;
  pg::AuditStore a(d / "a.db", false);
  EXPECT_EQ(a.schema_version(), pg::AuditStore::kSchemaVersion);
  std::string mode = pgtest::run("sqlite3 '" + (d / "a.db") + "' 'PRAGMA journal_mode' 2>/dev/null");
  if (!mode.empty()) {
    EXPECT_EQ(pg::trim(mode), "wal");
  }
  struct stat st;
  ASSERT_EQ(stat((d / "a.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

// expect_upgrade_adds_index() - a store of schema `old_version` without `index`,
// opened again, is upgraded to `new_version` and answers `query` through the
// index instead of reading every record.
static void expect_upgrade_adds_index(const std::string& index, int old_version, int new_version,
                                      const std::string& query) {
  TempDir d;
  { pg::AuditStore a(d / "a.db", false); }
  sql(d / "a.db", "DROP INDEX " + index + "; PRAGMA user_version=" + std::to_string(old_version));
  pg::AuditStore a(d / "a.db", false);
  EXPECT_EQ(a.schema_version(), new_version);
  std::string plan = pgtest::run("sqlite3 '" + (d / "a.db") + "' \"EXPLAIN QUERY PLAN " + query + "\"");
  EXPECT_NE(plan.find(index), std::string::npos) << plan;
  EXPECT_EQ(plan.find("SCAN events"), std::string::npos) << plan;
}

TEST(Audit, NewestRecordOfAKindIsFoundThroughAnIndex) {
  // Every filter and backend run asks for the newest "config" record: on a
  // version 4 store (no index on event) that read the whole store per job.
  expect_upgrade_adds_index("events_event", 4, pg::AuditStore::kSchemaVersion,
                            "SELECT detail FROM events WHERE event = 'config' ORDER BY id DESC LIMIT 1");
}

TEST(Audit, HeldCandidatesAreTheUsersJobsTheBackendHoldsLast) {
  // A release station lists one user's held jobs from these candidates: jobs
  // whose newest backend record is a hold, for the user in any case; a job
  // printed, canceled or purged since is none, one held again after printing is.
  TempDir d;
  pgtest::make_site(d);
  pg::KeyStore ks(d / "keys");
  pg::AuditStore a(d / "audit.db", false);
  auto add = [&](const std::string& ev, const std::string& user, long long id, const std::string& uuid) {
    pg::AuditEvent e;
    e.event = ev;
    e.user = user;
    e.queue = "q1";
    e.job_id = id;
    e.job_uuid = uuid;
    a.append(e, ks.current());
  };
  add("hold", "Alice", 1, "u1");        // held: candidate
  add("hold", "alice", 2, "u2");
  add("release-used", "alice", 2, "u2");
  add("sent", "alice", 2, "u2");        // printed: no candidate
  add("hold", "alice", 3, "u3");
  add("purge", "alice", 3, "u3");       // purged: none
  add("hold", "alice", 4, "u4");
  add("refuse", "alice", 4, "u4");      // held again: one candidate, not two
  add("hold", "bob", 5, "u5");          // another user's
  add("bypass", "alice", 6, "u6");      // held by the backend without a hold record
  add("hold", "alice", 7, "u7");
  add("sent", "alice", 7, "u7");
  add("bypass", "alice", 7, "u7");      // restarted after printing: held again
  add("stamp", "alice", 8, "u8");       // the filter's record only: no candidate
  add("hold", "alice", 9, "");          // no job-uuid: cannot be released, no candidate
  std::vector<std::string> got;
  for (auto& c : a.held_candidates("ALICE")) got.push_back(std::to_string(c.job_id) + "/" + c.job_uuid);
  EXPECT_EQ(got, (std::vector<std::string>{"7/u7", "6/u6", "4/u4", "1/u1"}));
  EXPECT_TRUE(a.held_candidates("carol").empty());
}

TEST(Audit, HeldCandidatesAreFoundThroughAnIndex) {
  // A version 5 store gets the index on (lower(user), event) that the station's
  // query uses instead of reading every record.
  expect_upgrade_adds_index("events_user_event", 5, 6,
                            "SELECT id FROM events WHERE lower(user) = lower('x') AND event IN ('hold', 'bypass')");
}

TEST(Audit, ClosingKeepsTheWalForTheNextProgram) {
  // Each filter or backend run opens and closes the store once: closing must
  // not checkpoint and delete the WAL (four fsyncs per job), and what was
  // recorded stays readable by the next program.
  TempDir d;
  pgtest::make_site(d);
  pg::KeyStore ks(d / "keys");
  {
    pg::AuditStore a(d / "audit.db", false);
    pg::AuditEvent ev;
    ev.event = "hold";
    ev.detail = "kept in the WAL";
    a.append(ev, ks.current());
  }
  struct stat st;
  EXPECT_EQ(stat((d / "audit.db-wal").c_str(), &st), 0) << "the WAL was checkpointed and deleted at close";
  pg::AuditStore b(d / "audit.db", false);
  EXPECT_EQ(b.last_detail("hold"), "kept in the WAL");
}

TEST(Audit, ARecordIsOnDiskWhenAppendReturns) {
  // The filter sends the stamped document right after append(): the record
  // must be synced by then, not when the store is closed.
  TempDir d;
  pgtest::make_site(d);
  pg::KeyStore ks(d / "keys");
  pg::AuditStore a(d / "audit.db", false);
  a.append(event("alice", 1), ks.current());  // the first write creates the WAL
  int before = g_datasyncs;
  a.append(event("alice", 2), ks.current());
  EXPECT_GT(g_datasyncs.load(), before) << "append() returned before its record was synced";
  before = g_datasyncs;
  a.add_release("urn:uuid:1", "q1", 4102444800LL, ks.current().id, "record", "mac");
  EXPECT_GT(g_datasyncs.load(), before) << "add_release() returned before its record was synced";
}

TEST(Audit, TheWalStaysBoundedWhenEveryProgramWritesOnce) {
  // Each program that opens the store rebuilds SQLite's index of the whole WAL
  // and never restarts it: without a checkpoint at close past
  // kWalCheckpointBytes, the WAL (and every open) grows with every job.
  TempDir d;
  pgtest::make_site(d);
  pg::KeyStore ks(d / "keys");
  pg::Key key = ks.current();
  struct stat st;
  for (int i = 0; i < 400; i++) {
    pg::AuditStore a(d / "audit.db", false);
    pg::AuditEvent ev;
    ev.event = "stamp";
    ev.user = "user" + std::to_string(i % 7);
    ev.job_uuid = "urn:uuid:job-" + std::to_string(i);
    ev.detail = std::string(200, 'x');
    a.append(ev, key);
  }
  ASSERT_EQ(stat((d / "audit.db-wal").c_str(), &st), 0);
  EXPECT_LE(st.st_size, 2 * pg::AuditStore::kWalCheckpointBytes) << "the WAL grew to " << st.st_size << " bytes";
  pg::AuditStore b(d / "audit.db", false);
  std::string why;
  EXPECT_EQ(b.verify_chain(ks, why), 0) << why;  // every record kept, in order
  EXPECT_EQ(b.last_event_id("urn:uuid:job-399", "stamp"), 400);
}

TEST(Audit, RefusesNewerSchema) {
  TempDir d;
  { pg::AuditStore a(d / "a.db", false); }
  sql(d / "a.db", "PRAGMA user_version=99");
  try {
    pg::AuditStore a(d / "a.db", false);
    FAIL();
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos);
  }
}

TEST(Audit, AWriterRecordsOnItsOwnThreadInOrderAndIsDoneAtFinish) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  auto k = ks.current();
  std::thread::id caller = std::this_thread::get_id(), opener;
  pg::AuditWriter w(d / "a.db", false, k, [&](pg::AuditStore& a) {
    opener = std::this_thread::get_id();
    a.append(event("first", 1), k);  // on_open's record comes before every added one
  });
  for (int job = 2; job <= 4; job++) w.add(event("u" + std::to_string(job), job));
  int before = g_datasyncs;
  w.finish();
  EXPECT_GT(g_datasyncs.load(), before) << "finish() returned before the records were synced";
  EXPECT_NE(opener, caller) << "the store was opened on the caller's thread";
  EXPECT_THROW(w.add(event("late", 5)), std::logic_error);
  pg::AuditStore a(d / "a.db", false);
  auto rows = a.query(pg::AuditQuery{});
  ASSERT_EQ(rows.size(), 4u);
  for (size_t i = 0; i < rows.size(); i++) EXPECT_EQ(rows[i].job_id, static_cast<long long>(4 - i));  // newest first
  EXPECT_EQ(rows.back().user, "first");
  std::string why;
  EXPECT_EQ(a.verify_chain(ks, why), 0) << why;
}

TEST(Audit, AWriterThatCannotOpenTheStoreSaysSoAtFinish) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  pg::AuditWriter w("/nonexistent-dir/a.db", false, ks.current());
  w.add(event("alice", 1));  // taken, never written
  try {
    w.finish();
    FAIL() << "finish() did not report the unopenable store";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/a.db"), std::string::npos) << e.what();
  }
}

TEST(Audit, UnwritableStoreIsAClearError) {
  EXPECT_THROW(pg::AuditStore("/nonexistent-dir/a.db", false), pg::Error);
}

TEST(Audit, AppendQueryAndFindCode) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  pg::AuditStore a(d / "a.db", false);
  auto k = ks.current();
  EXPECT_EQ(a.append(event("alice", 1), k), 1);
  EXPECT_EQ(a.append(event("bob", 2), k), 2);
  pg::AuditQuery q;
  q.user = "alice";
  auto rows = a.query(q);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].job_id, 1);
  EXPECT_EQ(a.query(pg::AuditQuery{}).size(), 2u);
  EXPECT_EQ(a.find_code("CODE-2")->user, "bob");
  EXPECT_FALSE(a.find_code("CODE-3"));
  q = {};
  q.since = time(nullptr) + 3600;
  EXPECT_TRUE(a.query(q).empty());
  std::string why;
  EXPECT_EQ(a.verify_chain(ks, why), 0) << why;
}

// tamper_case() - build a 5-record store, apply stmt, and return the first bad id.
static long long tamper_case(const std::string& stmt) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  {
    pg::AuditStore a(d / "a.db", false);
    for (int i = 1; i <= 5; i++) a.append(event("u" + std::to_string(i), i), ks.current());
  }
  sql(d / "a.db", stmt);
  pg::AuditStore a(d / "a.db", false);
  std::string why;
  return a.verify_chain(ks, why);
}

TEST(Audit, ChainDetectsEditsDeletionsAndInsertions) {
  EXPECT_EQ(tamper_case("SELECT 1"), 0);
  EXPECT_EQ(tamper_case("UPDATE events SET user='mallory' WHERE id=3"), 3);
  EXPECT_EQ(tamper_case("UPDATE events SET pages=1 WHERE id=2"), 2);
  EXPECT_EQ(tamper_case("DELETE FROM events WHERE id=3"), 4);
  EXPECT_EQ(tamper_case("DELETE FROM events WHERE id=1"), 2);
  EXPECT_EQ(tamper_case("UPDATE events SET id=id+100 WHERE id>=3; UPDATE events SET id=id-99 WHERE id>=100; "
                        "INSERT INTO events (id,time,event,chain_key_id,chain) SELECT 3,time,event,chain_key_id,chain FROM events WHERE id=2"),
            3);
}

TEST(Audit, ManyConcurrentWritersKeepOneChain) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  { pg::AuditStore a(d / "a.db", false); }
  const int procs = 8, each = 25;
  std::vector<pid_t> kids;
  for (int p = 0; p < procs; p++) {
    pid_t pid = fork();
    if (pid == 0) {
      try {
        pg::AuditStore a(d / "a.db", false);
        auto k = ks.current();
        for (int i = 0; i < each; i++) a.append(event("p" + std::to_string(p), p * 1000 + i), k);
        _exit(0);
      } catch (...) {
        _exit(1);
      }
    }
    kids.push_back(pid);
  }
  for (auto pid : kids) {
    int st = 0;
    waitpid(pid, &st, 0);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  pg::AuditStore a(d / "a.db", false);
  pg::AuditQuery q;
  q.limit = 100000;
  EXPECT_EQ(a.query(q).size(), static_cast<size_t>(procs * each));
  std::string why;
  EXPECT_EQ(a.verify_chain(ks, why), 0) << why;
}

TEST(Audit, SyslogLineEscapesFields) {
  auto e = event("eve\nevent=stamp", 7);
  e.title = "t\"x";
  std::string line = pg::audit_line(e);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("user=\"eve\\x0aevent=stamp\""), std::string::npos) << line;
  EXPECT_NE(line.find("title=\"t\\\"x\""), std::string::npos) << line;
  e.title_hidden = true;
  EXPECT_EQ(pg::audit_line(e).find("t\\\"x"), std::string::npos);
}

TEST(Audit, SyslogLineFieldsCannotMerge) {
  // A user ending in a backslash and one faking a field: each value stays in its quotes.
  auto e = event("eve\\", 7);
  e.queue = "q\" user=\"root";
  e.title = "%s %n \xe2\x80\xae\xc2\x9b";
  std::string line = pg::audit_line(e);
  EXPECT_NE(line.find(" user=\"eve\\\\\" queue=\"q\\\" user=\\\"root\" "), std::string::npos) << line;
  EXPECT_NE(line.find(" title=\"%s %n \\xe2\\x80\\xae\\xc2\\x9b\""), std::string::npos) << line;
}

TEST(Audit, RedactionBlanksDetailsKeepsCountsAndTheChain) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  pg::AuditStore a(d / "a.db", false);
  for (int i = 1; i <= 3; i++) a.append(event("u" + std::to_string(i), i), ks.current());
  EXPECT_EQ(a.redact_details(time(nullptr) + 10, true), 3);  // dry run counts only
  EXPECT_EQ(a.query({})[0].title, "doc 3");
  EXPECT_EQ(a.redact_details(time(nullptr) - 3600, false), 0);  // nothing that old
  EXPECT_EQ(a.redact_details(time(nullptr) + 10, false), 3);
  auto rows = a.query({});
  ASSERT_EQ(rows.size(), 3u);
  for (auto& r : rows) {
    EXPECT_TRUE(r.redacted);
    EXPECT_EQ(r.title, "");
    EXPECT_EQ(r.host, "");
    EXPECT_EQ(r.record, "");
    EXPECT_EQ(r.pages, 2);  // statistics stay
    EXPECT_FALSE(r.user.empty());
  }
  std::string why;
  EXPECT_EQ(a.verify_chain(ks, why), 0) << why;
  EXPECT_EQ(a.redact_details(time(nullptr) + 10, false), 0);  // idempotent
}

TEST(Audit, RedactedMarkDoesNotCoverEditedFields) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  {
    pg::AuditStore a(d / "a.db", false);
    a.append(event("alice", 1), ks.current());
  }
  // Marking a record redacted while changing (not blanking) a field is caught.
  sql(d / "a.db", "UPDATE events SET redacted=1, host='elsewhere', record=x'', title=''");
  pg::AuditStore a(d / "a.db", false);
  std::string why;
  EXPECT_EQ(a.verify_chain(ks, why), 1);
}

TEST(Audit, ReleaseRecordsExpire) {
  TempDir d;
  pg::AuditStore a(d / "a.db", false);
  long long now = time(nullptr);
  a.add_release("u1", "q", now - 5, "AAAA", "r", "m");
  a.add_release("u2", "q", now + 100, "AAAA", "r", "m");
  EXPECT_FALSE(a.has_live_release("u1", now));
  EXPECT_TRUE(a.has_live_release("u2", now));
  EXPECT_EQ(a.delete_expired_releases(now), 1);
  std::string rec, mac;
  EXPECT_TRUE(a.take_release("u2", "q", rec, mac));
  EXPECT_FALSE(a.has_live_release("u2", now));  // used
}

TEST(Audit, CsvAndJsonAreSafeForHostileText) {
  auto e = event("=cmd|'/c calc'!A1", 5);
  e.title = "a \"quoted\", title\nwith a newline";
  e.host = "h1";
  e.id = 7;
  std::string csv = pg::events_csv({e});
  EXPECT_EQ(csv.substr(0, 3), "id,");
  EXPECT_NE(csv.find("\"'=cmd|'/c calc'!A1\""), std::string::npos) << csv;  // no formula
  EXPECT_NE(csv.find("\"a \"\"quoted\"\", title\\x0awith a newline\""), std::string::npos) << csv;
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 2);  // header + one record, no split lines
  std::string json = pg::events_json({e});
  EXPECT_NE(json.find("\"title\":\"a \\\"quoted\\\", title\\\\x0awith a newline\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"id\":7"), std::string::npos);
  e.title_hidden = true;
  EXPECT_NE(pg::events_json({e}).find("\"title\":null"), std::string::npos);
  EXPECT_EQ(pg::events_csv({e}).find("quoted"), std::string::npos);
}

TEST(Audit, QueryByHostAndCode) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  pg::AuditStore a(d / "a.db", false);
  auto e1 = event("alice", 1);
  e1.host = "WS1.example";
  auto e2 = event("bob", 2);
  e2.host = "ws2";
  a.append(e1, ks.current());
  a.append(e2, ks.current());
  pg::AuditQuery q;
  q.host = "ws1.EXAMPLE";
  ASSERT_EQ(a.query(q).size(), 1u);
  EXPECT_EQ(a.query(q)[0].user, "alice");
  q = {};
  q.code = "CODE-2";
  ASSERT_EQ(a.query(q).size(), 1u);
  EXPECT_EQ(a.query(q)[0].user, "bob");
}
