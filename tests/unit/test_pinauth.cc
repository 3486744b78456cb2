// test_pinauth.cc - unit tests for the authentication shared by printguard
// release and pam_printguard: lockout, case folding, PINs, fail-closed errors.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "audit.h"
#include "pin.h"
#include "pinauth.h"
#include "testutil.h"

using pgtest::TempDir;

namespace {

// Site - a key, a config (LockoutFailures 3) and an existing audit store.
struct Site {
  TempDir dir;
  std::string conf;
  Site(const std::string& extra = "") {
    conf = pgtest::make_site(dir, "LockoutFailures 3\n" + extra);
    pg::AuditStore a(dir / "audit.db", false);  // the store exists, as after printguard keygen
  }
  // set_pin() - what printguard pin set stores.
  void set_pin(const std::string& user, const std::string& pin) {
    pg::AuditStore a(dir / "audit.db", false);
    a.set_pin(user, pg::pin_hash(pin));
  }
  // records() - audit records of one event, newest first.
  std::vector<pg::AuditEvent> records(const std::string& event) {
    pg::AuditStore a(dir / "audit.db", false, false);
    pg::AuditQuery q;
    q.event = event;
    q.limit = 1000;
    return a.query(q);
  }
  pg::PinLoginOptions options(pg::BadgeMode m = pg::BadgeMode::Auto) {
    pg::PinLoginOptions o;
    o.config = conf;
    o.badge = m;
    o.service = "sshd";
    o.rhost = "ws7.example";
    return o;
  }
};

// Login - one pin_login() call with a fixed PIN, counting how often it was asked for.
struct Login {
  int asked = 0;
  std::vector<std::string> logged;
  pg::PinResult run(const pg::PinLoginOptions& o, const std::string& name, const char* pin) {
    auto source = [&](std::string& p) {
      asked++;
      if (!pin) return false;
      p = pin;
      return true;
    };
    return pg::pin_login(o, name, source, [&](const std::string& line) { logged.push_back(line); });
  }
};

}  // namespace

TEST(PinAuth, RightPinIsRecordedWithTheServiceAndHost) {
  Site s;
  s.set_pin("alice", "4711");
  Login l;
  auto r = l.run(s.options(), "alice", "4711");
  EXPECT_EQ(r.status, pg::PinStatus::Ok) << r.message;
  EXPECT_EQ(r.user, "alice");
  EXPECT_EQ(l.asked, 1);
  auto ok = s.records("auth-ok");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].user, "alice");
  EXPECT_EQ(ok[0].detail, "PIN [PAM service sshd]");
  EXPECT_EQ(ok[0].host, "ws7.example");
  EXPECT_TRUE(l.logged.empty()) << "Syslog No: nothing for syslog";
}

TEST(PinAuth, SyslogYesPassesEachRecordToTheLog) {
  Site s("Syslog Yes\n");
  s.set_pin("alice", "4711");
  Login l;
  l.run(s.options(), "alice", "0000");
  ASSERT_EQ(l.logged.size(), 1u);
  EXPECT_NE(l.logged[0].find("event=auth-fail"), std::string::npos) << l.logged[0];
  EXPECT_NE(l.logged[0].find("user=\"alice\""), std::string::npos) << l.logged[0];
}

TEST(PinAuth, WrongPinIsAFailure) {
  Site s("LockoutFailures 10\n");
  s.set_pin("alice", "4711");
  Login l;
  for (const char* pin : {"0000", "47110", "", "abcd", "4711\n"}) {
    auto r = l.run(s.options(), "alice", pin);
    EXPECT_EQ(r.status, pg::PinStatus::Denied) << "PIN \"" << pin << "\"";
  }
  auto fails = s.records("auth-fail");
  ASSERT_FALSE(fails.empty());
  EXPECT_EQ(fails[0].detail, "wrong PIN [PAM service sshd]");
  EXPECT_TRUE(s.records("auth-ok").empty());
}

TEST(PinAuth, NoPinIsNotOursToDecideAndIsNotAsked) {
  Site s;
  s.set_pin("alice", "4711");
  Login l;
  auto r = l.run(s.options(), "bob", "4711");
  EXPECT_EQ(r.status, pg::PinStatus::NoPin);
  EXPECT_EQ(l.asked, 0);
  EXPECT_TRUE(s.records("").empty()) << "nothing recorded for a user without a PIN";
  // A cleared PIN is the same as none.
  pg::AuditStore(s.dir / "audit.db", false).clear_pin("alice");
  EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::NoPin);
}

TEST(PinAuth, LockoutAfterFailuresEvenWithTheRightPin) {
  Site s;
  s.set_pin("alice", "4711");
  Login l;
  for (int i = 0; i < 3; i++) EXPECT_EQ(l.run(s.options(), "alice", "0000").status, pg::PinStatus::Denied);
  l.asked = 0;
  auto r = l.run(s.options(), "alice", "4711");
  EXPECT_EQ(r.status, pg::PinStatus::LockedOut);
  EXPECT_EQ(l.asked, 0) << "a locked-out name is not asked for its PIN";
  auto errs = s.records("auth-error");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].detail, "locked out [PAM service sshd]");
  EXPECT_EQ(s.records("auth-fail").size(), 3u) << "lockout denials do not count";
}

TEST(PinAuth, CaseDoesNotGiveMoreAttempts) {
  Site s;
  s.set_pin("Alice", "4711");  // PINs are stored per lower-case name
  Login l;
  EXPECT_EQ(l.run(s.options(), "ALICE", "4711").status, pg::PinStatus::Ok);
  for (const char* name : {"alice", "Alice", "ALICE"}) EXPECT_EQ(l.run(s.options(), name, "1").status, pg::PinStatus::Denied);
  EXPECT_EQ(l.run(s.options(), "aLiCe", "4711").status, pg::PinStatus::LockedOut);
  for (auto& e : s.records("auth-fail")) EXPECT_EQ(e.user, "alice");
}

TEST(PinAuth, SuccessResetsTheCount) {
  Site s;
  s.set_pin("alice", "4711");
  Login l;
  l.run(s.options(), "alice", "1");
  l.run(s.options(), "alice", "2");
  EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::Ok);
  l.run(s.options(), "alice", "3");
  l.run(s.options(), "alice", "4");
  EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::Ok);
}

TEST(PinAuth, StationFailuresCountThroughPamToo) {
  // One lockout for both: failures the station recorded lock the PAM login out.
  Site s;
  s.set_pin("alice", "4711");
  pg::Config cfg = pg::load_config(s.conf);
  pg::AuditStore a(cfg.audit_db, false);
  pg::Key key = pg::KeyStore(cfg.key_dir).current();
  pg::AuthGate station(cfg, a, key, pg::AuthSite{"office", "", "station office"});
  for (int i = 0; i < 3; i++) station.record("auth-fail", "wrong password", "ALICE");
  Login l;
  EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::LockedOut);
  EXPECT_TRUE(station.locked_out("Alice"));
  auto errs = s.records("auth-error");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[0].detail, "locked out [station office]");
  EXPECT_EQ(errs[0].queue, "office");
}

TEST(PinAuth, MissingStoreConfigOrKeyIsUnavailable) {
  Login l;
  {
    TempDir d;
    std::string conf = pgtest::make_site(d);  // no audit store yet
    pg::PinLoginOptions o;
    o.config = conf;
    auto r = l.run(o, "alice", "4711");
    EXPECT_EQ(r.status, pg::PinStatus::Unavailable);
    EXPECT_NE(r.message.find("no audit store"), std::string::npos) << r.message;
    struct stat st;
    EXPECT_NE(stat((d / "audit.db").c_str(), &st), 0) << "the store must not be created";
  }
  {
    pg::PinLoginOptions o;
    o.config = "/nonexistent/printguard.conf";
    auto r = l.run(o, "alice", "4711");
    EXPECT_EQ(r.status, pg::PinStatus::Unavailable);
    EXPECT_NE(r.message.find("cannot read configuration"), std::string::npos) << r.message;
  }
  {
    Site s;
    pgtest::write_text(s.conf, "NoSuchDirective 1\n");
    EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::Unavailable);
  }
  {
    Site s;
    s.set_pin("alice", "4711");
    std::remove((s.dir / "keys/current").c_str());
    EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::Unavailable);
  }
  {
    Site s;
    // Not a database (and no write-ahead log left that would still hold its pages).
    std::remove((s.dir / "audit.db-wal").c_str());
    std::remove((s.dir / "audit.db-shm").c_str());
    pgtest::write_text(s.dir / "audit.db", std::string(4096, 'x'));
    EXPECT_EQ(l.run(s.options(), "alice", "4711").status, pg::PinStatus::Unavailable);
  }
  EXPECT_EQ(l.asked, 0) << "nothing asked for when nothing can be checked";
}

TEST(PinAuth, InvalidNamesAndNoInput) {
  Site s;
  s.set_pin("alice", "4711");
  Login l;
  for (std::string name : {std::string(), std::string("ali\nce"), std::string(257, 'a'), std::string("a\x7f")})
    EXPECT_EQ(l.run(s.options(), name, "4711").status, pg::PinStatus::InvalidName);
  EXPECT_EQ(l.run(s.options(), "alice", nullptr).status, pg::PinStatus::NoInput);
  EXPECT_EQ(l.asked, 1);
  EXPECT_TRUE(s.records("").empty());
}

TEST(PinAuth, DigitsAreABadgeUnlessNoBadge) {
  EXPECT_TRUE(pg::is_badge_name("1004", pg::BadgeMode::Auto));
  EXPECT_FALSE(pg::is_badge_name("1004a", pg::BadgeMode::Auto));
  EXPECT_FALSE(pg::is_badge_name("", pg::BadgeMode::Auto));
  EXPECT_FALSE(pg::is_badge_name("1004", pg::BadgeMode::Never));
  EXPECT_TRUE(pg::is_badge_name("alice", pg::BadgeMode::Always));
  EXPECT_EQ(pg::badge_key("AB12"), "badge:ab12");
  EXPECT_EQ(pg::badge_key(std::string(100, '7')), "badge:" + std::string(64, '7'));

  Site s;  // no LDAPURI: a badge cannot be looked up
  s.set_pin("1004", "4711");
  Login l;
  auto r = l.run(s.options(), "1004", "4711");
  EXPECT_EQ(r.status, pg::PinStatus::Unavailable) << r.message;
  auto errs = s.records("auth-error");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].user, "badge:1004");
  EXPECT_TRUE(s.records("auth-fail").empty()) << "a directory problem does not count";
  // nobadge: the digits are a user name with a PIN.
  EXPECT_EQ(l.run(s.options(pg::BadgeMode::Never), "1004", "4711").status, pg::PinStatus::Ok);
}

TEST(PinAuth, LockedOutBadgeIsRefusedBeforeTheDirectory) {
  Site s;
  {
    pg::Config cfg = pg::load_config(s.conf);
    pg::AuditStore a(cfg.audit_db, false);
    pg::Key key = pg::KeyStore(cfg.key_dir).current();
    pg::AuthGate g(cfg, a, key, pg::AuthSite{"", "", "test"});
    for (int i = 0; i < 3; i++) g.record("auth-fail", "unknown badge", pg::badge_key("77"));
  }
  Login l;
  auto r = l.run(s.options(pg::BadgeMode::Always), "77", "4711");
  EXPECT_EQ(r.status, pg::PinStatus::LockedOut) << r.message;
  EXPECT_EQ(l.asked, 0);
}

TEST(PinAuth, WritesNothingOnStdoutOrStderr) {
  // pam_printguard runs inside other programs (login, sshd): only pam_syslog may speak.
  Site s("Syslog Yes\n");
  s.set_pin("alice", "4711");
  std::string out = s.dir / "out.txt";
  fflush(stdout);
  fflush(stderr);
  int saved1 = dup(1), saved2 = dup(2);
  int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  dup2(fd, 1);
  dup2(fd, 2);
  Login l;
  l.run(s.options(), "alice", "4711");
  l.run(s.options(), "alice", "0000");
  l.run(s.options(), "1004", "4711");  // a badge without a directory
  l.run(s.options(), "bob", "4711");
  pg::PinLoginOptions bad;
  bad.config = "/nonexistent/printguard.conf";
  l.run(bad, "alice", "4711");
  fflush(stdout);
  fflush(stderr);
  dup2(saved1, 1);
  dup2(saved2, 2);
  close(saved1);
  close(saved2);
  close(fd);
  EXPECT_EQ(pgtest::slurp(out), "");
  EXPECT_EQ(l.logged.size(), 3u) << "auth-ok, auth-fail and auth-error went to the log callback instead";
}
