// test_check.cc - unit tests for printguard check's reading of cupsd.conf.
#include <gtest/gtest.h>

#include "check.h"
#include "testutil.h"

// src() - a file from the source tree.
static std::string src(const std::string& rel) {
  const char* s = getenv("PG_SRCDIR");
  return pgtest::slurp(std::string(s ? s : "..") + "/" + rel);
}

TEST(Check, StockPolicyLetsUsersImpersonateEachOther) {
  std::string stock = pgtest::slurp("/usr/share/cups/cupsd.conf.default");
  if (stock.empty()) GTEST_SKIP() << "no /usr/share/cups/cupsd.conf.default";
  auto c = pg::parse_cupsd_conf(stock);
  EXPECT_TRUE(c.policies.count("default"));
  auto weak = pg::policy_impersonation(c, "default");
  EXPECT_NE(std::find(weak.begin(), weak.end(), "release-job"), weak.end());
  EXPECT_NE(std::find(weak.begin(), weak.end(), "cups-move-job"), weak.end());
}

TEST(Check, HardenedPolicyIsSafe) {
  std::string hardened = src("conf/cupsd-hardened-policy.conf");
  ASSERT_FALSE(hardened.empty());
  auto c = pg::parse_cupsd_conf(hardened);
  EXPECT_EQ(c.directives["defaultpolicy"], "printguard");
  EXPECT_TRUE(pg::policy_impersonation(c, "printguard").empty());
}

TEST(Check, MissingPolicyOrRuleIsUnsafe) {
  auto none = pg::parse_cupsd_conf("LogLevel warn\n");
  EXPECT_FALSE(pg::policy_impersonation(none, "default").empty());
  auto owner = pg::parse_cupsd_conf(
      "<Policy p>\n<Limit All>\nAuthType Default\nRequire user @OWNER @SYSTEM\n</Limit>\n</Policy>\n");
  EXPECT_FALSE(pg::policy_impersonation(owner, "p").empty());  // the owner may release: not @SYSTEM only
  auto noauth = pg::parse_cupsd_conf("<Policy p>\n<Limit All>\nRequire user @SYSTEM\n</Limit>\n</Policy>\n");
  EXPECT_FALSE(pg::policy_impersonation(noauth, "p").empty());  // a claimed name is not authentication
}

TEST(Check, TopLevelDirectivesOnly) {
  auto c = pg::parse_cupsd_conf(
      "PreserveJobFiles No\n<Location />\n  Order allow,deny\n</Location>\n"
      "<Policy x>\n  JobPrivateValues none\n</Policy>\nMaxJobs 20000\n");
  EXPECT_EQ(c.directives["preservejobfiles"], "No");
  EXPECT_EQ(c.directives["maxjobs"], "20000");
  EXPECT_EQ(c.directives.count("order"), 0u);
  EXPECT_EQ(c.directives.count("jobprivatevalues"), 0u);
}
