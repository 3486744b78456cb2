// audit.cc - the audit store on SQLite.
#include "audit.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <grp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <system_error>

#include "log.h"
#include "util.h"

namespace pg {

namespace {

// sys_reason() - " (the system's reason)" after an I/O, open, full-disk or
// read-only error (a full disk shows as "disk I/O error (No space left on device)").
std::string sys_reason(sqlite3* db) {
  int rc = db ? sqlite3_errcode(db) & 0xff : 0, e = db ? sqlite3_system_errno(db) : 0;
  bool io = rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN || rc == SQLITE_FULL || rc == SQLITE_READONLY;
  return io && e ? std::string(" (") + strerror(e) + ")" : std::string();
}

// db_error() - SQLite's message for the last error, with sys_reason().
std::string db_error(sqlite3* db) { return (db ? sqlite3_errmsg(db) : "out of memory") + sys_reason(db); }

// Stmt - a prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr) != SQLITE_OK)
      throw Error("audit store: " + db_error(db));
  }
  ~Stmt() { sqlite3_finalize(st_); }
  // reset() - ready the statement to run again with new bindings.
  void reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
  }
  void bind(int i, const std::string& v) { sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void bind_null_if_empty(int i, const std::string& v) {
    if (v.empty()) sqlite3_bind_null(st_, i); else bind(i, v);
  }
  void bind_blob(int i, const std::string& v) { sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT); }
  void bind(int i, long long v) { sqlite3_bind_int64(st_, i, v); }
  // step() - true while a row is available; throws on error.
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw Error("audit store: " + db_error(db_));
  }
  std::string text(int c) {
    auto p = sqlite3_column_blob(st_, c);
    int n = sqlite3_column_bytes(st_, c);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  long long num(int c) { return sqlite3_column_int64(st_, c); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

const char* kColumns =
    "id,time,event,user,queue,host,job_id,job_uuid,title,title_hidden,title_h,pages,code,key_id,mac,record,detail,"
    "chain_key_id,redacted";

// read_event() - an AuditEvent from a row selected with kColumns.
AuditEvent read_event(Stmt& s) {
  AuditEvent e;
  e.id = s.num(0);
  e.time_utc = s.text(1);
  e.event = s.text(2);
  e.user = s.text(3);
  e.queue = s.text(4);
  e.host = s.text(5);
  e.job_id = s.num(6);
  e.job_uuid = s.text(7);
  e.title = s.text(8);
  e.title_hidden = s.num(9) != 0;
  e.title_h = s.text(10);
  e.pages = s.num(11);
  e.code = s.text(12);
  e.key_id = s.text(13);
  e.mac = s.text(14);
  e.record = s.text(15);
  e.detail = s.text(16);
  e.chain_key_id = s.text(17);
  e.redacted = s.num(18) != 0;
  return e;
}

// chain_input() - the bytes one chain link covers.
std::string chain_input(const std::string& prev, const AuditEvent& ev, const std::string& user_h, const std::string& host_h,
                        const std::string& record_h) {
  std::string in;
  put_field(in, prev);
  put_field(in, std::to_string(ev.id));
  put_field(in, ev.time_utc);
  put_field(in, ev.event);
  put_field(in, user_h);
  put_field(in, ev.queue);
  put_field(in, host_h);
  put_field(in, std::to_string(ev.job_id));
  put_field(in, ev.job_uuid);
  put_field(in, ev.title_hidden ? "hidden" : "plain");
  put_field(in, ev.title_h);
  put_field(in, std::to_string(ev.pages));
  put_field(in, ev.code);
  put_field(in, ev.key_id);
  put_field(in, ev.mac);
  put_field(in, record_h);
  put_field(in, ev.detail);
  return in;
}

}  // namespace

std::string field_hash(const Key& key, const std::string& field, const std::string& value) {
  auto m = hmac(key, "printguard-field-" + field, value);
  return hex(m.data(), m.size());
}

// quoted() - a value for a key=value log line.
static std::string quoted(const std::string& v) {
  std::string p = printable(v), out = "\"";
  for (char c : p) {
    if (c == '"') out += "\\\"";
    else out.push_back(c);
  }
  return out + "\"";
}

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : printable(s)) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(static_cast<char>(c));
  }
  return out + "\"";
}

// csv_field() - one RFC 4180 field; formula-like text is prefixed with ' so a
// spreadsheet never runs a title or user name as a formula.
static std::string csv_field(const std::string& v) {
  std::string p = printable(v);
  if (!p.empty() && (p[0] == '=' || p[0] == '+' || p[0] == '-' || p[0] == '@')) p = "'" + p;
  std::string out = "\"";
  for (char c : p) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string events_csv(const std::vector<AuditEvent>& rows) {
  std::string out = "id,time,event,user,queue,host,job_id,job_uuid,title,title_hidden,pages,code,detail,redacted\r\n";
  for (auto& e : rows)
    out += std::to_string(e.id) + "," + csv_field(e.time_utc) + "," + csv_field(e.event) + "," + csv_field(e.user) + "," +
           csv_field(e.queue) + "," + csv_field(e.host) + "," + std::to_string(e.job_id) + "," + csv_field(e.job_uuid) + "," +
           csv_field(e.title_hidden ? "" : e.title) + "," + (e.title_hidden ? "1" : "0") + "," + std::to_string(e.pages) + "," +
           csv_field(e.code) + "," + csv_field(e.detail) + "," + (e.redacted ? "1" : "0") + "\r\n";
  return out;
}

std::string events_json(const std::vector<AuditEvent>& rows) {
  std::string out = "[";
  for (size_t i = 0; i < rows.size(); i++) {
    auto& e = rows[i];
    out += std::string(i ? ",\n " : "\n ") + "{\"id\":" + std::to_string(e.id) + ",\"time\":" + json_quote(e.time_utc) +
           ",\"event\":" + json_quote(e.event) + ",\"user\":" + json_quote(e.user) + ",\"queue\":" + json_quote(e.queue) +
           ",\"host\":" + json_quote(e.host) + ",\"job_id\":" + std::to_string(e.job_id) + ",\"job_uuid\":" +
           json_quote(e.job_uuid) + ",\"title\":" + (e.title_hidden ? std::string("null") : json_quote(e.title)) +
           ",\"pages\":" + std::to_string(e.pages) + ",\"code\":" + json_quote(e.code) + ",\"detail\":" +
           json_quote(e.detail) + ",\"redacted\":" + (e.redacted ? "true" : "false") + "}";
  }
  return out + "\n]\n";
}

std::string audit_line(const AuditEvent& ev) {
  std::string s = "event=" + ev.event + " id=" + std::to_string(ev.id) + " time=" + ev.time_utc;
  if (!ev.user.empty()) s += " user=" + quoted(ev.user);
  if (!ev.queue.empty()) s += " queue=" + quoted(ev.queue);
  if (ev.job_id) s += " job=" + std::to_string(ev.job_id);
  if (!ev.job_uuid.empty()) s += " uuid=" + quoted(ev.job_uuid);
  if (!ev.host.empty()) s += " host=" + quoted(ev.host);
  if (ev.pages) s += " pages=" + std::to_string(ev.pages);
  if (!ev.title_hidden && !ev.title.empty()) s += " title=" + quoted(ev.title);
  if (ev.title_hidden) s += " title=(hidden)";
  if (!ev.code.empty()) s += " code=" + ev.code;
  if (!ev.detail.empty()) s += " detail=" + quoted(ev.detail);
  return s;
}

AuditStore::AuditStore(const std::string& path, bool syslog, bool create) : path_(path), syslog_(syslog) {
  struct stat st;
  bool existed = stat(path.c_str(), &st) == 0;
  if (!existed && !create)
    throw Error("no audit store at " + path + " (nothing has been recorded yet, or AuditDB points elsewhere)");
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db_error(db_);
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("cannot open audit store " + path + ": " + msg +
                " (check that the directory exists and is writable by group lp)");
  }
  sqlite3_busy_timeout(db_, 30000);
  if (!existed) {
    // A store created by root must stay writable by the filters (user lp).
    if (geteuid() == 0) {
      if (struct group* lp = getgrnam("lp"))
        if (chown(path.c_str(), 0, lp->gr_gid) != 0) { /* mode below still applies */ }
    }
    chmod(path.c_str(), 0660);
  }
  try {
    exec("PRAGMA journal_mode=WAL");
    // Every commit is on disk when it returns (one fdatasync of the WAL): a
    // stamped document or a released job leaves only after its record does,
    // so a power cut cannot lose the record of a page that was printed.
    exec("PRAGMA synchronous=FULL");
    // The WAL stays when a process closes the store: no checkpoint, delete and
    // re-create of the WAL, with their four fsyncs, per filter or backend run.
    // SQLite checkpoints every 1000 pages.
    sqlite3_db_config(db_, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    migrate();
  } catch (const Error& e) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw Error("audit store " + path + ": " + e.what());
  }
}

AuditStore::~AuditStore() {
  if (!db_) return;
  // (What this process recorded is on disk already: synchronous=FULL.)
  // After an erasure (anonymisation, redaction) the old page versions must not
  // stay in the WAL: checkpoint it into the store and truncate it.
  // Otherwise a WAL past kWalCheckpointBytes is checkpointed and truncated too:
  // the next process to open the store reads the whole WAL to rebuild SQLite's
  // index of it, and would never restart it (each process writes once), so it
  // would grow without bound and every open would get slower.
  struct stat wst;
  bool large = stat((path_ + "-wal").c_str(), &wst) == 0 && wst.st_size > kWalCheckpointBytes;
  if (erased_ || large) {
    if (!erased_) sqlite3_busy_timeout(db_, 250);  // busy readers: the next process tries again
    sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  }
  sqlite3_close(db_);
}

void AuditStore::exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    msg += sys_reason(db_);
    sqlite3_free(err);
    throw Error(msg);
  }
}

int AuditStore::schema_version() {
  Stmt s(db_, "PRAGMA user_version");
  return s.step() ? static_cast<int>(s.num(0)) : 0;
}

void AuditStore::migrate() {
  if (schema_version() == kSchemaVersion) return;
  exec("BEGIN IMMEDIATE");
  try {
    int v = schema_version();
    if (v > kSchemaVersion)
      throw Error("schema version " + std::to_string(v) + " is newer than this printguard understands (" +
                  std::to_string(kSchemaVersion) + "); upgrade printguard");
    if (v < 1) {
      exec(
          "CREATE TABLE events ("
          " id INTEGER PRIMARY KEY AUTOINCREMENT,"
          " time TEXT NOT NULL, event TEXT NOT NULL,"
          " user TEXT, user_h TEXT, queue TEXT, host TEXT, host_h TEXT,"
          " job_id INTEGER, job_uuid TEXT, title TEXT, title_hidden INTEGER NOT NULL DEFAULT 0, title_h TEXT,"
          " pages INTEGER, code TEXT, key_id TEXT, mac BLOB, record BLOB, record_h TEXT, detail TEXT,"
          " chain_key_id TEXT NOT NULL, chain TEXT NOT NULL, redacted INTEGER NOT NULL DEFAULT 0);"
          "CREATE INDEX events_code ON events(code);"
          "CREATE INDEX events_user ON events(user);"
          "CREATE INDEX events_time ON events(time);"
          "CREATE INDEX events_job ON events(job_uuid);");
    }
    if (v < 2) {
      // Version 2: release records for the printguard backend.
      exec(
          "CREATE TABLE releases ("
          " id INTEGER PRIMARY KEY AUTOINCREMENT,"
          " job_uuid TEXT NOT NULL, queue TEXT NOT NULL COLLATE NOCASE,"
          " created INTEGER NOT NULL, expires INTEGER NOT NULL,"
          " key_id TEXT NOT NULL, record BLOB NOT NULL, mac BLOB NOT NULL,"
          " used INTEGER);"
          "CREATE INDEX releases_job ON releases(job_uuid, queue);");
    }
    if (v >= 1 && v < 4) {
      // Version 4: records whose details retention removed (new stores get the
      // column with the table).
      exec("ALTER TABLE events ADD COLUMN redacted INTEGER NOT NULL DEFAULT 0;");
    }
    if (v < 3) {
      // Version 3: release-station PINs (argon2id hashes).
      exec("CREATE TABLE pins (user TEXT PRIMARY KEY, hash TEXT NOT NULL, set_at TEXT NOT NULL);");
    }
    if (v < 5) {
      // Version 5: find the latest record of one kind (last_detail("config"), run
      // by every filter and backend start) without reading the whole store.
      exec("CREATE INDEX IF NOT EXISTS events_event ON events(event);");
    }
    if (v < 6) {
      // Version 6: a release station finds one user's held jobs (held_candidates)
      // without asking cupsd about every job on the server.
      exec("CREATE INDEX IF NOT EXISTS events_user_event ON events(lower(user), event);");
    }
    exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

long long AuditStore::append(AuditEvent ev, const Key& key) {
  std::vector<AuditEvent> one;
  one.push_back(std::move(ev));
  return append_all(std::move(one), key);
}

long long AuditStore::append_all(std::vector<AuditEvent> evs, const Key& key) {
  if (evs.empty()) return 0;
  struct Hashes {
    std::string user_h, host_h, record_h;
  };
  std::vector<Hashes> hs;
  for (auto& ev : evs) {
    if (ev.time_utc.empty()) ev.time_utc = utc_iso8601(time(nullptr));
    ev.chain_key_id = key.id;
    // Users are chained by their lower-cased name (LDAP uids ignore case), so one
    // person has one pseudonym per key whatever the spelling.
    Hashes h;
    h.user_h = field_hash(key, "user", lower(ev.user));
    h.host_h = field_hash(key, "host", ev.host);
    if (!ev.title_hidden) ev.title_h = field_hash(key, "title", ev.title);
    auto rh = sha256(ev.record);
    h.record_h = hex(rh.data(), rh.size());
    hs.push_back(h);
  }
  begin_immediate();
  try {
    std::string prev(64, '0');
    long long next_id = 1;
    {
      Stmt s(db_, "SELECT id, chain FROM events ORDER BY id DESC LIMIT 1");
      if (s.step()) {
        next_id = s.num(0) + 1;
        prev = s.text(1);
      }
      Stmt q(db_, "SELECT seq FROM sqlite_sequence WHERE name='events'");
      if (q.step() && q.num(0) + 1 > next_id) next_id = q.num(0) + 1;
    }
    Stmt ins(db_,
             "INSERT INTO events (id,time,event,user,user_h,queue,host,host_h,job_id,job_uuid,title,title_hidden,title_h,"
             "pages,code,key_id,mac,record,record_h,detail,chain_key_id,chain) VALUES "
             "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    for (size_t i = 0; i < evs.size(); i++) {
      AuditEvent& ev = evs[i];
      const Hashes& h = hs[i];
      ev.id = next_id++;
      auto chain = hmac(key, "printguard-chain", chain_input(prev, ev, h.user_h, h.host_h, h.record_h));
      prev = hex(chain.data(), chain.size());
      ins.reset();
      ins.bind(1, ev.id);
      ins.bind(2, ev.time_utc);
      ins.bind(3, ev.event);
      ins.bind(4, ev.user);
      ins.bind(5, h.user_h);
      ins.bind(6, ev.queue);
      ins.bind(7, ev.host);
      ins.bind(8, h.host_h);
      ins.bind(9, ev.job_id);
      ins.bind(10, ev.job_uuid);
      ins.bind(11, ev.title_hidden ? std::string() : ev.title);
      ins.bind(12, static_cast<long long>(ev.title_hidden));
      ins.bind(13, ev.title_h);
      ins.bind(14, ev.pages);
      ins.bind_null_if_empty(15, ev.code);
      ins.bind(16, ev.key_id);
      ins.bind_blob(17, ev.mac);
      ins.bind_blob(18, ev.record);
      ins.bind(19, h.record_h);
      ins.bind(20, ev.detail);
      ins.bind(21, key.id);
      ins.bind(22, prev);
      ins.step();
    }
    exec("COMMIT");
  } catch (const Error& e) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw Error("cannot write audit store " + path_ + ": " + e.what());
  }
  if (syslog_)
    for (auto& ev : evs) syslog_event(audit_line(ev));
  return evs.back().id;
}

AuditWriter::AuditWriter(const std::string& path, bool syslog, const Key& key,
                         std::function<void(AuditStore&)> on_open)
    : key_(key) {
  try {
    thread_ = std::thread([this, path, syslog, on_open = std::move(on_open)] { work(path, syslog, on_open); });
  } catch (const std::system_error&) {
    // No thread to be had: the store is opened here, and each event appended
    // as it is added.
    try {
      open(path, syslog, on_open);
    } catch (...) {
      error_ = std::current_exception();
    }
  }
}

void AuditWriter::open(const std::string& path, bool syslog, const std::function<void(AuditStore&)>& on_open) {
  store_ = std::make_unique<AuditStore>(path, syslog);
  if (on_open) on_open(*store_);
}

AuditWriter::~AuditWriter() {
  try {
    finish();
  } catch (...) {
    // The caller did not ask (it left on another error): nothing to add.
  }
}

void AuditWriter::add(AuditEvent ev) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (finishing_) throw std::logic_error("AuditWriter::add() after finish()");
  if (!thread_.joinable()) {  // no thread: appended here
    if (!error_) {
      try {
        store_->append(std::move(ev), key_);
      } catch (...) {
        error_ = std::current_exception();
      }
    }
    return;
  }
  queued_.push_back(std::move(ev));
  added_.notify_one();
}

void AuditWriter::finish() {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    finishing_ = true;
    added_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  if (error_) std::rethrow_exception(error_);
}

void AuditWriter::work(const std::string& path, bool syslog, const std::function<void(AuditStore&)>& on_open) {
  try {
    open(path, syslog, on_open);
    for (;;) {
      std::vector<AuditEvent> evs;
      bool last;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        added_.wait(lock, [this] { return finishing_ || !queued_.empty(); });
        evs.swap(queued_);
        last = finishing_;
      }
      if (!evs.empty()) store_->append_all(std::move(evs), key_);
      if (last) return;
    }
  } catch (...) {
    error_ = std::current_exception();
  }
}

long long AuditStore::verify_chain(const KeyStore& keys, std::string& why) {
  Stmt s(db_, std::string("SELECT ") + kColumns + ",user_h,host_h,record_h,chain FROM events ORDER BY id");
  // Redacted records keep their hashes: only the blanked fields go unchecked.
  std::string prev(64, '0');
  long long last_id = 0;
  std::map<std::string, Key> cache;
  while (s.step()) {
    AuditEvent ev = read_event(s);
    std::string user_h = s.text(19), host_h = s.text(20), record_h = s.text(21), chain = s.text(22);
    if (ev.id != last_id + 1) {
      why = "record(s) missing before #" + std::to_string(ev.id);
      return ev.id;
    }
    last_id = ev.id;
    auto it = cache.find(ev.chain_key_id);
    if (it == cache.end()) it = cache.emplace(ev.chain_key_id, keys.load(ev.chain_key_id)).first;
    const Key& key = it->second;
    auto rh = sha256(ev.record);
    bool blank = ev.redacted && ev.host.empty() && ev.record.empty() && ev.title.empty();
    bool user_ok = field_hash(key, "user", lower(ev.user)) == user_h || (ev.redacted && ev.user == pseudonym_of(user_h));
    bool fields_ok = user_ok &&
                     (blank || (field_hash(key, "host", ev.host) == host_h && hex(rh.data(), rh.size()) == record_h &&
                                (ev.title_hidden || field_hash(key, "title", ev.title) == ev.title_h)));
    auto want = hmac(key, "printguard-chain", chain_input(prev, ev, user_h, host_h, record_h));
    if (!fields_ok || hex(want.data(), want.size()) != chain) {
      why = fields_ok ? "chain link does not verify (record altered, inserted or removed)" : "record fields altered";
      return ev.id;
    }
    prev = chain;
  }
  return 0;
}

void AuditStore::begin_immediate() {
  try {
    exec("BEGIN IMMEDIATE");
  } catch (const Error& e) {
    throw Error("cannot write audit store " + path_ + ": " + e.what());
  }
}

long long AuditStore::add_release(const std::string& job_uuid, const std::string& queue, long long expires,
                                  const std::string& key_id, const std::string& record, const std::string& mac) {
  Stmt s(db_, "INSERT INTO releases (job_uuid,queue,created,expires,key_id,record,mac) VALUES (?,?,?,?,?,?,?)");
  s.bind(1, job_uuid);
  s.bind(2, queue);
  s.bind(3, static_cast<long long>(time(nullptr)));
  s.bind(4, expires);
  s.bind(5, key_id);
  s.bind_blob(6, record);
  s.bind_blob(7, mac);
  s.step();
  return sqlite3_last_insert_rowid(db_);
}

bool AuditStore::take_release(const std::string& job_uuid, const std::string& queue, std::string& record, std::string& mac) {
  begin_immediate();
  try {
    Stmt s(db_, "SELECT id, record, mac FROM releases WHERE job_uuid = ? AND queue = ? AND used IS NULL ORDER BY id DESC LIMIT 1");
    s.bind(1, job_uuid);
    s.bind(2, queue);
    bool found = s.step();
    if (found) {
      long long id = s.num(0);
      record = s.text(1);
      mac = s.text(2);
      Stmt u(db_, "UPDATE releases SET used = ? WHERE id = ? AND used IS NULL");
      u.bind(1, static_cast<long long>(time(nullptr)));
      u.bind(2, id);
      u.step();
      found = sqlite3_changes(db_) == 1;
    }
    exec("COMMIT");
    return found;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

int AuditStore::spend_releases(const std::string& job_uuid) {
  Stmt u(db_, "UPDATE releases SET used = ? WHERE job_uuid = ? AND used IS NULL");
  u.bind(1, static_cast<long long>(time(nullptr)));
  u.bind(2, job_uuid);
  u.step();
  return sqlite3_changes(db_);
}

void AuditStore::set_pin(const std::string& user, const std::string& hash) {
  // PINs are per directory uid, which LDAP matches without regard to case.
  Stmt s(db_, "INSERT OR REPLACE INTO pins (user, hash, set_at) VALUES (?, ?, ?)");
  s.bind(1, lower(user));
  s.bind(2, hash);
  s.bind(3, utc_iso8601(time(nullptr)));
  s.step();
}

bool AuditStore::clear_pin(const std::string& user) {
  Stmt s(db_, "DELETE FROM pins WHERE user = ?");
  s.bind(1, lower(user));
  s.step();
  bool cleared = sqlite3_changes(db_) > 0;
  erased_ = erased_ || cleared;
  return cleared;
}

std::string AuditStore::pin_of(const std::string& user) {
  Stmt s(db_, "SELECT hash FROM pins WHERE user = ?");
  s.bind(1, lower(user));
  return s.step() ? s.text(0) : std::string();
}

bool AuditStore::has_live_release(const std::string& job_uuid, long long now) {
  Stmt s(db_, "SELECT 1 FROM releases WHERE job_uuid = ? AND used IS NULL AND expires > ? LIMIT 1");
  s.bind(1, job_uuid);
  s.bind(2, now);
  return s.step();
}

int AuditStore::delete_expired_releases(long long now) {
  Stmt s(db_, "DELETE FROM releases WHERE expires <= ?");
  s.bind(1, now);
  s.step();
  return sqlite3_changes(db_);
}

int AuditStore::redact_details(long long before, bool dry_run) {
  const char* where = " WHERE redacted = 0 AND time < ?1 AND (COALESCE(title,'') != '' OR COALESCE(host,'') != '' "
                      "OR length(COALESCE(record,'')) > 0)";
  if (dry_run) {
    Stmt c(db_, std::string("SELECT COUNT(*) FROM events") + where);
    c.bind(1, utc_iso8601(before));
    return c.step() ? static_cast<int>(c.num(0)) : 0;
  }
  Stmt u(db_, std::string("UPDATE events SET title = '', host = '', record = x'', redacted = 1") + where);
  u.bind(1, utc_iso8601(before));
  u.step();
  int n = sqlite3_changes(db_);
  erased_ = erased_ || n > 0;
  return n;
}

std::string pseudonym_of(const std::string& user_h) { return "anon-" + user_h.substr(0, 16); }

int AuditStore::anonymise_user(const std::string& user) {
  begin_immediate();
  try {
    Stmt u(db_,
           "UPDATE events SET user = 'anon-' || substr(user_h, 1, 16), title = '', host = '', record = x'', redacted = 1 "
           "WHERE user = ? COLLATE NOCASE");
    u.bind(1, user);
    u.step();
    int n = sqlite3_changes(db_);
    erased_ = true;
    Stmt p(db_, "DELETE FROM pins WHERE user = ? COLLATE NOCASE");
    p.bind(1, user);
    p.step();
    exec("COMMIT");
    return n;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<std::string> AuditStore::inactive_users(long long before) {
  Stmt s(db_,
         "SELECT lower(user) FROM events WHERE user != '' AND user NOT LIKE 'anon-%' AND user NOT LIKE 'badge:%' "
         "GROUP BY lower(user) HAVING MAX(time) < ? ORDER BY 1");
  s.bind(1, utc_iso8601(before));
  std::vector<std::string> out;
  while (s.step()) out.push_back(s.text(0));
  return out;
}

std::string AuditStore::last_detail(const std::string& event) {
  Stmt s(db_, "SELECT detail FROM events WHERE event = ? ORDER BY id DESC LIMIT 1");
  s.bind(1, event);
  return s.step() ? s.text(0) : std::string();
}

std::vector<AuditStore::ReportRow> AuditStore::report(const std::string& by, long long since, long long until) {
  std::string key = by == "user" ? "user" : by == "queue" ? "queue" : by == "day" ? "substr(time, 1, 10)" : "";
  if (key.empty()) throw Error("report: group by user, queue or day");
  std::string period = " time >= ?1 AND time <= ?2 ";
  // A job printed: the backend sent it ("sent"), with the pages of its latest
  // stamp; or, on a queue without the backend, its stamp is all there is.
  std::string sql =
      "WITH printed AS ("
      "  SELECT e." + std::string(by == "day" ? "time" : key) + " AS k0, e.time AS time, e.user AS user, e.queue AS queue,"
      "    COALESCE((SELECT s.pages FROM events s WHERE s.job_uuid = e.job_uuid AND s.event = 'stamp' AND s.id < e.id"
      "              ORDER BY s.id DESC LIMIT 1), 0) AS pages"
      "  FROM events e WHERE e.event = 'sent' AND" + period +
      "  UNION ALL"
      "  SELECT s." + std::string(by == "day" ? "time" : key) + ", s.time, s.user, s.queue, s.pages FROM events s"
      "  WHERE s.event = 'stamp' AND" + period + " AND NOT EXISTS (SELECT 1 FROM events b WHERE b.job_uuid = s.job_uuid"
      "    AND b.event IN ('hold', 'sent', 'bypass', 'refuse', 'release-used', 'interrupted', 'failed', 'canceled'))"
      "), g AS ("
      "  SELECT " + key + " AS k, event, job_uuid, detail FROM events WHERE" + period +
      ") "
      "SELECT k, SUM(jp), SUM(pp), SUM(h), SUM(r), SUM(pu), SUM(rp) FROM ("
      "  SELECT " + std::string(by == "day" ? "substr(k0, 1, 10)" : "k0") + " AS k, 1 AS jp, pages AS pp, 0 AS h, 0 AS r, 0 AS pu, 0 AS rp FROM printed"
      "  UNION ALL SELECT k, 0, 0, COUNT(DISTINCT job_uuid), 0, 0, 0 FROM g WHERE event = 'hold' GROUP BY k"
      "  UNION ALL SELECT k, 0, 0, 0, COUNT(DISTINCT job_uuid), 0, 0 FROM g WHERE event = 'release' GROUP BY k"
      "  UNION ALL SELECT k, 0, 0, 0, 0, COUNT(*), 0 FROM g WHERE event = 'purge' AND job_uuid != '' GROUP BY k"
      "  UNION ALL SELECT k, 0, 0, 0, 0, 0, COUNT(*) FROM g WHERE (event = 'refuse' AND detail LIKE 'printer %')"
      "    OR event = 'interrupted' GROUP BY k"
      ") WHERE k IS NOT NULL AND k != '' GROUP BY k ORDER BY k";
  Stmt s(db_, sql);
  s.bind(1, utc_iso8601(since));
  s.bind(2, until ? utc_iso8601(until) : std::string("9999"));
  std::vector<ReportRow> rows;
  while (s.step()) {
    ReportRow r;
    r.key = s.text(0);
    r.jobs_printed = s.num(1);
    r.pages_printed = s.num(2);
    r.jobs_held = s.num(3);
    r.jobs_released = s.num(4);
    r.jobs_purged = s.num(5);
    r.refused_printer = s.num(6);
    rows.push_back(r);
  }
  return rows;
}

int AuditStore::recent_failures(const std::string& who, long long since) {
  Stmt s(db_,
         "SELECT COUNT(*) FROM events WHERE event = 'auth-fail' AND user = ?1 AND time >= ?2 AND "
         "id > COALESCE((SELECT MAX(id) FROM events WHERE event = 'auth-ok' AND user = ?1), 0)");
  s.bind(1, who);
  s.bind(2, utc_iso8601(since));
  return s.step() ? static_cast<int>(s.num(0)) : 0;
}

long long AuditStore::last_event_id(const std::string& job_uuid, const std::string& event) {
  Stmt s(db_, "SELECT MAX(id) FROM events WHERE job_uuid = ? AND event = ?");
  s.bind(1, job_uuid);
  s.bind(2, event);
  return s.step() ? s.num(0) : 0;
}

long long AuditStore::last_event_time(const std::string& job_uuid, const std::string& event) {
  Stmt s(db_, "SELECT time FROM events WHERE job_uuid = ? AND event = ? ORDER BY id DESC LIMIT 1");
  s.bind(1, job_uuid);
  s.bind(2, event);
  return s.step() ? parse_date(s.text(0)) : 0;
}

bool AuditStore::has_event(const std::string& job_uuid, const std::string& event) {
  Stmt s(db_, "SELECT 1 FROM events WHERE job_uuid = ? AND event = ? LIMIT 1");
  s.bind(1, job_uuid);
  s.bind(2, event);
  return s.step();
}

std::vector<AuditStore::HeldCandidate> AuditStore::held_candidates(const std::string& user) {
  // The user's backend hold records (index events_user_event), each kept only
  // if it is its job's newest backend record (index events_job): a job printed,
  // canceled while sending or purged since is no candidate; one held again is.
  Stmt s(db_,
         "SELECT e.job_id, e.job_uuid, e.queue FROM events e"
         " WHERE lower(e.user) = lower(?) AND e.event IN ('hold', 'bypass', 'refuse', 'interrupted')"
         "   AND e.job_id > 0 AND e.job_uuid IS NOT NULL AND e.job_uuid <> ''"
         "   AND e.id = (SELECT MAX(x.id) FROM events x WHERE x.job_uuid = e.job_uuid"
         "     AND x.event IN ('hold', 'bypass', 'refuse', 'interrupted', 'sent', 'canceled', 'purge'))"
         " ORDER BY e.id DESC");
  s.bind(1, user);
  std::vector<HeldCandidate> out;
  while (s.step()) {
    HeldCandidate c;
    c.job_id = s.num(0);
    c.job_uuid = s.text(1);
    c.queue = s.text(2);
    out.push_back(c);
  }
  return out;
}

std::optional<AuditEvent> AuditStore::find_code(const std::string& code) {
  Stmt s(db_, std::string("SELECT ") + kColumns + " FROM events WHERE code = ? AND event = 'stamp' ORDER BY id LIMIT 1");
  s.bind(1, code);
  if (!s.step()) return std::nullopt;
  return read_event(s);
}

std::vector<AuditEvent> AuditStore::query(const AuditQuery& q) {
  std::string sql = std::string("SELECT ") + kColumns + " FROM events WHERE 1=1";
  if (!q.user.empty()) sql += " AND user = ?1 COLLATE NOCASE";
  if (!q.queue.empty()) sql += " AND queue = ?2 COLLATE NOCASE";
  if (!q.event.empty()) sql += " AND event = ?3";
  if (!q.code.empty()) sql += " AND code = ?4";
  if (!q.job_uuid.empty()) sql += " AND job_uuid = ?8";
  if (!q.host.empty()) sql += " AND host = ?10 COLLATE NOCASE";
  if (q.after_id) sql += " AND id > ?9";
  if (q.since) sql += " AND time >= ?5";
  if (q.until) sql += " AND time <= ?6";
  sql += " ORDER BY id DESC LIMIT ?7";
  Stmt s(db_, sql);
  if (!q.user.empty()) s.bind(1, q.user);
  if (!q.queue.empty()) s.bind(2, q.queue);
  if (!q.event.empty()) s.bind(3, q.event);
  if (!q.code.empty()) s.bind(4, q.code);
  if (q.since) s.bind(5, utc_iso8601(q.since));
  if (q.until) s.bind(6, utc_iso8601(q.until));
  s.bind(7, static_cast<long long>(q.limit > 0 ? q.limit : 50));
  if (!q.job_uuid.empty()) s.bind(8, q.job_uuid);
  if (q.after_id) s.bind(9, q.after_id);
  if (!q.host.empty()) s.bind(10, q.host);
  std::vector<AuditEvent> out;
  while (s.step()) out.push_back(read_event(s));
  return out;
}

}  // namespace pg
