// test_config.cc - unit tests for printguard.conf parsing.
#include <gtest/gtest.h>

#include "config.h"
#include "util.h"

// error_of() - the message parse_config_text throws for text, or "" if none.
static std::string error_of(const std::string& text) {
  try {
    pg::parse_config_text(text, "/etc/pg.conf");
  } catch (const pg::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Config, BuiltInDefaults) {
  auto c = pg::parse_config_text("", "x");
  EXPECT_EQ(c.defaults.mode, pg::WatermarkMode::Required);
  EXPECT_EQ(c.defaults.placement, pg::Placement::Footer);
  EXPECT_TRUE(c.syslog);
  EXPECT_NE(c.defaults.tmpl.find("${code}"), std::string::npos);
  EXPECT_TRUE(c.defaults.user_options.empty());
}

TEST(Config, GlobalsAndQueueSectionsOverride) {
  auto c = pg::parse_config_text(
      "# comment\n"
      "KeyDir /k\nAuditDB /a.db\nSyslog no\n"
      "Placement Header\nFontSize 10\n"
      "<Queue Letterhead>\n  Placement Diagonal\n  HideTitles yes\n</Queue>\n"
      "Gray 0.5\n",  // a global after the section still applies to it
      "x");
  EXPECT_EQ(c.key_dir, "/k");
  EXPECT_EQ(c.audit_db, "/a.db");
  EXPECT_FALSE(c.syslog);
  EXPECT_EQ(c.defaults.placement, pg::Placement::Header);
  auto& q = c.for_queue("LETTERHEAD");  // CUPS queue names are case-insensitive
  EXPECT_EQ(q.placement, pg::Placement::Diagonal);
  EXPECT_TRUE(q.hide_titles);
  EXPECT_DOUBLE_EQ(q.font_size, 10);
  EXPECT_DOUBLE_EQ(q.gray, 0.5);
  EXPECT_EQ(&c.for_queue("other"), &c.defaults);
}

TEST(Config, QuotedValuesWithNewlines) {
  auto c = pg::parse_config_text("Template \"A ${user}\\nB \\\"q\\\"\"\n", "x");
  EXPECT_EQ(c.defaults.tmpl, "A ${user}\nB \"q\"");
  auto p = pg::parse_config_text("Placement Position 72 100.5\nRotation 45\n", "x");
  EXPECT_EQ(p.defaults.placement, pg::Placement::Position);
  EXPECT_DOUBLE_EQ(p.defaults.pos_y, 100.5);
}

TEST(Config, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("\n\nBogus 1\n").rfind("/etc/pg.conf:3: unknown directive \"Bogus\"", 0), 0u) << error_of("\n\nBogus 1\n");
  EXPECT_EQ(error_of("FontSize big\n").rfind("/etc/pg.conf:1: FontSize", 0), 0u);
  EXPECT_EQ(error_of("Gray 2\n").rfind("/etc/pg.conf:1: Gray", 0), 0u);
  EXPECT_EQ(error_of("Watermark maybe\n").rfind("/etc/pg.conf:1: Watermark", 0), 0u);
  EXPECT_EQ(error_of("<Queue a>\nFontSize 1000\n</Queue>\n").rfind("/etc/pg.conf:2:", 0), 0u);
  EXPECT_EQ(error_of("<Queue a>\nKeyDir /x\n</Queue>\n").rfind("/etc/pg.conf:2: unknown directive", 0), 0u);
  EXPECT_EQ(error_of("x\n<Queue a>\n").rfind("/etc/pg.conf:1:", 0), 0u);
  EXPECT_EQ(error_of("<Queue a>\nFontSize 9\n").rfind("/etc/pg.conf:1: <Queue> section is not closed", 0), 0u);
  EXPECT_EQ(error_of("</Queue>\n").rfind("/etc/pg.conf:1:", 0), 0u);
  EXPECT_EQ(error_of("Template \"${who}\"\n").rfind("/etc/pg.conf:1: template: unknown variable ${who}", 0), 0u);
  EXPECT_EQ(error_of("Template \"unterminated\n").rfind("/etc/pg.conf:1: Template: missing closing quote", 0), 0u);
  EXPECT_EQ(error_of("KeyDir relative/path\n").rfind("/etc/pg.conf:1: KeyDir: must be an absolute path", 0), 0u);
  EXPECT_EQ(error_of("UserOptions watermark colour\n").rfind("/etc/pg.conf:1: UserOptions: unknown option", 0), 0u);
  EXPECT_EQ(error_of("TimeZone Mars/Olympus\n").rfind("/etc/pg.conf:1: TimeZone: unknown zone", 0), 0u);
  EXPECT_EQ(error_of("<Queue a>\n</Queue>\n<Queue A>\n</Queue>\n").rfind("/etc/pg.conf:3: duplicate", 0), 0u);
  EXPECT_EQ(error_of("<Queue a/b>\n</Queue>\n").rfind("/etc/pg.conf:1: invalid character", 0), 0u);
}

TEST(Config, MissingNamedFileIsAnError) {
  EXPECT_THROW(pg::load_config("/nonexistent/printguard.conf"), pg::Error);
}

TEST(Config, UserOptionsList) {
  auto c = pg::parse_config_text("UserOptions watermark placement\n", "x");
  EXPECT_EQ(c.defaults.user_options.size(), 2u);
  EXPECT_TRUE(c.defaults.user_options.count("placement"));
  auto n = pg::parse_config_text("UserOptions none\n", "x");
  EXPECT_TRUE(n.defaults.user_options.empty());
}

TEST(Config, DurationsAndRetention) {
  EXPECT_EQ(pg::parse_duration("90", "x"), 90);
  EXPECT_EQ(pg::parse_duration("15m", "x"), 900);
  EXPECT_EQ(pg::parse_duration("4h", "x"), 14400);
  EXPECT_EQ(pg::parse_duration("30d", "x"), 2592000);
  EXPECT_THROW(pg::parse_duration("4 hours", "x"), pg::Error);
  EXPECT_THROW(pg::parse_duration("0", "x"), pg::Error);
  auto c = pg::parse_config_text("DetailRetention 30d\nSpoolDir /s\n<Queue fast>\nHeldJobRetention 1h\n</Queue>\n", "x");
  EXPECT_EQ(c.detail_retention, 30 * 86400);
  EXPECT_EQ(c.spool_dir, "/s");
  EXPECT_EQ(c.for_queue("fast").held_retention, 3600);
  EXPECT_EQ(c.for_queue("other").held_retention, 4 * 3600);
  EXPECT_EQ(error_of("HeldJobRetention soon\n").rfind("/etc/pg.conf:1: HeldJobRetention", 0), 0u);
}

TEST(Config, PurgeNoticeSettings) {
  auto c = pg::parse_config_text("PurgeNotice 1h\nNoticeMailDomain example.com\nSendmailCommand /usr/lib/sendmail\n", "x");
  EXPECT_EQ(c.purge_notice, 3600);
  EXPECT_EQ(c.notice_domain, "example.com");
  EXPECT_EQ(c.sendmail, "/usr/lib/sendmail");
  EXPECT_EQ(pg::parse_config_text("PurgeNotice Off\n", "x").purge_notice, 0);
  EXPECT_EQ(error_of("NoticeMailDomain evil.com>\n").rfind("/etc/pg.conf:1: NoticeMailDomain", 0), 0u);
  EXPECT_EQ(error_of("SendmailCommand sendmail -t\n").rfind("/etc/pg.conf:1: SendmailCommand", 0), 0u);
}

TEST(Config, StationListing) {
  EXPECT_FALSE(pg::parse_config_text("", "x").station_scan);  // Index by default
  EXPECT_TRUE(pg::parse_config_text("StationListing Scan\n", "x").station_scan);
  EXPECT_FALSE(pg::parse_config_text("StationListing scan\nStationListing INDEX\n", "x").station_scan);
  EXPECT_EQ(error_of("StationListing all\n").rfind("/etc/pg.conf:1: StationListing: expected Index or Scan", 0), 0u);
  EXPECT_EQ(error_of("<Queue q>\nStationListing Scan\n</Queue>\n").rfind("/etc/pg.conf:2: unknown directive", 0), 0u);
}

TEST(Config, ReleaseAuth) {
  EXPECT_FALSE(pg::parse_config_text("", "x").release_pam);
  EXPECT_TRUE(pg::parse_config_text("ReleaseAuth PAM\n", "x").release_pam);
  EXPECT_FALSE(pg::parse_config_text("ReleaseAuth pam\nReleaseAuth ldap\n", "x").release_pam);
  EXPECT_EQ(error_of("ReleaseAuth kerberos\n").rfind("/etc/pg.conf:1: ReleaseAuth: expected LDAP or PAM", 0), 0u);
  EXPECT_EQ(error_of("<Queue q>\nReleaseAuth PAM\n</Queue>\n").rfind("/etc/pg.conf:2: unknown directive", 0), 0u);
}
