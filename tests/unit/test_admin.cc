// test_admin.cc - admin trail and GDPR: config changes, export, anonymisation.
#include <gtest/gtest.h>

#include "admin.h"
#include "purge.h"
#include "testutil.h"

using pgtest::TempDir;

namespace {

// append() - one record for user u.
void append(pg::AuditStore& a, const pg::Key& k, const std::string& event, const std::string& u, const std::string& title) {
  pg::AuditEvent e;
  e.event = event;
  e.user = u;
  e.queue = "q1";
  e.host = "ws-" + u;
  e.title = title;
  e.pages = 3;
  e.record = "signed record naming " + u;
  a.append(e, k);
}

}  // namespace

TEST(Admin, ConfigChangesAreRecordedOncePerChange) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto cfg = pg::load_config(conf);
  pg::AuditStore a(d / "audit.db", false);
  auto k = pg::KeyStore(d / "keys").current();
  EXPECT_TRUE(pg::note_config_change(a, k, cfg));
  EXPECT_FALSE(pg::note_config_change(a, k, cfg));
  pgtest::write_text(conf, pgtest::slurp(conf) + "FontSize 9\n");
  EXPECT_TRUE(pg::note_config_change(a, k, pg::load_config(conf)));
  pg::AuditQuery q;
  q.event = "config";
  EXPECT_EQ(a.query(q).size(), 2u);
}

TEST(Admin, ExportHasEverythingAboutTheUserOnly) {
  TempDir d;
  pgtest::make_site(d);
  pg::AuditStore a(d / "audit.db", false);
  auto k = pg::KeyStore(d / "keys").current();
  append(a, k, "stamp", "alice", "alice's report");
  append(a, k, "auth-ok", "alice", "");
  append(a, k, "stamp", "bob", "bob's notes");
  a.set_pin("alice", "hash");
  std::string j = pg::export_user(a, "ALICE");  // any case
  EXPECT_NE(j.find("\"user\":\"ALICE\""), std::string::npos);
  EXPECT_NE(j.find("alice's report"), std::string::npos);
  EXPECT_NE(j.find("\"event\":\"auth-ok\""), std::string::npos);
  EXPECT_NE(j.find("\"pin_set\":true"), std::string::npos);
  EXPECT_EQ(j.find("bob"), std::string::npos);
}

TEST(Admin, AnonymisationKeepsCountsAndTheChain) {
  TempDir d;
  pgtest::make_site(d);
  auto ks = pg::KeyStore(d / "keys");
  auto k = ks.current();
  {
    pg::AuditStore a(d / "audit.db", false);
    append(a, k, "stamp", "alice", "alice's report");
    append(a, k, "stamp", "Alice", "second");
    append(a, k, "stamp", "bob", "bob's notes");
    a.set_pin("alice", "hash");
    EXPECT_EQ(a.anonymise_user("alice"), 2);
  }
  pg::AuditStore a(d / "audit.db", false);
  std::string why;
  EXPECT_EQ(a.verify_chain(ks, why), 0) << why;
  auto rows = a.query({});
  std::string pseudo = pg::pseudonym_of(pg::field_hash(k, "user", "alice"));
  int anon = 0;
  for (auto& r : rows) {
    EXPECT_EQ(r.pages, 3);  // statistics stay
    if (r.user == "bob") {
      EXPECT_EQ(r.title, "bob's notes");
      continue;
    }
    anon++;
    EXPECT_EQ(r.user.rfind("anon-", 0), 0u);
    EXPECT_TRUE(r.redacted);
    EXPECT_EQ(r.title, "");
    EXPECT_EQ(r.host, "");
  }
  EXPECT_EQ(anon, 2);
  EXPECT_EQ(rows.back().user, pseudo);  // the first record: same key, same pseudonym as the CLI records
  EXPECT_EQ(a.pin_of("alice"), "");
  std::string all = pgtest::slurp(d / "audit.db") + pgtest::slurp(d / "audit.db-wal");
  EXPECT_EQ(all.find("alice"), std::string::npos);
  EXPECT_EQ(all.find("Alice"), std::string::npos);
}

TEST(Admin, PseudonymCannotStandInForARealName) {
  TempDir d;
  pgtest::make_site(d);
  auto ks = pg::KeyStore(d / "keys");
  {
    pg::AuditStore a(d / "audit.db", false);
    append(a, ks.current(), "stamp", "alice", "t");
  }
  // Rewriting a record to another pseudonym (not the record's own) is caught.
  pgtest::run("sqlite3 '" + (d / "audit.db") + "' \"UPDATE events SET user='anon-0000000000000000', redacted=1, title='', host='', record=x'' WHERE event='stamp'\"");
  pg::AuditStore a(d / "audit.db", false);
  std::string why;
  EXPECT_NE(a.verify_chain(ks, why), 0);
}

TEST(Admin, InactiveUsersForAutomaticAnonymisation) {
  TempDir d;
  pgtest::make_site(d);
  pg::AuditStore a(d / "audit.db", false);
  auto k = pg::KeyStore(d / "keys").current();
  append(a, k, "stamp", "alice", "t");
  append(a, k, "auth-fail", "badge:1234", "");
  append(a, k, "stamp", "Bob", "t");
  EXPECT_TRUE(a.inactive_users(time(nullptr) - 60).empty());  // everyone was active a minute ago
  auto later = a.inactive_users(time(nullptr) + 60);
  EXPECT_EQ(later, (std::vector<std::string>{"alice", "bob"}));  // no badges, any case once
  a.anonymise_user("alice");
  EXPECT_EQ(a.inactive_users(time(nullptr) + 60), std::vector<std::string>{"bob"});  // pseudonyms are not users
  auto cfg = pg::parse_config_text("AnonymiseAfter 365d\n", "x");
  EXPECT_EQ(cfg.anonymise_after, 365LL * 86400);
  EXPECT_EQ(pg::parse_config_text("AnonymiseAfter Never\n", "x").anonymise_after, 0);
}

TEST(Admin, OnePseudonymPerPersonWhateverTheSpelling) {
  TempDir d;
  pgtest::make_site(d);
  pg::AuditStore a(d / "audit.db", false);
  auto k = pg::KeyStore(d / "keys").current();
  for (auto u : {"alice", "Alice", "ALICE"}) append(a, k, "stamp", u, "t");
  EXPECT_EQ(a.anonymise_user("alice"), 3);
  std::string pseudo = pg::pseudonym_of(pg::field_hash(k, "user", "alice"));
  for (auto& r : a.query({})) EXPECT_EQ(r.user, pseudo);
  std::string why;
  EXPECT_EQ(a.verify_chain(pg::KeyStore(d / "keys"), why), 0) << why;
}

TEST(Admin, PurgeNoticesCannotInjectMailHeaders) {
  pg::Config cfg;
  cfg.notice_domain = "example.com";
  std::string m = pg::notice_message(cfg, "alice", 42, "sec", 0);
  EXPECT_EQ(m.rfind("To: alice@example.com\n", 0), 0u);
  EXPECT_NE(m.find("job 42 on printer sec"), std::string::npos);
  EXPECT_EQ(pg::notice_message(cfg, "alice\nBcc: all@example.com", 1, "sec", 0), "");
  EXPECT_EQ(pg::notice_message(cfg, "a@evil.com", 1, "sec", 0), "");
  EXPECT_EQ(pg::notice_message(cfg, "alice", 1, "sec\r\nBcc: x", 0), "");
  pg::Config none;
  EXPECT_EQ(pg::notice_message(none, "alice", 1, "sec", 0), "");  // no NoticeMailDomain
}
