// test_verify.cc - printguard verify CODE: valid, unknown, mistyped, forged.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <regex>

#include "code.h"
#include "testutil.h"
#include "verify.h"

using pgtest::TempDir;

namespace {

// printed_code() - run the filter and return the code found on the printed page.
std::string printed_code(const TempDir& d, const std::string& conf, const std::string& user = "alice") {
  auto r = pgtest::run_filter(conf, "q1",
                              {"printguard-watermark", "7", user, "t", "1", "job-uuid=urn:uuid:abc job-originating-host-name=h1"},
                              pgtest::pdfgen_dir() + "/simple.pdf");
  EXPECT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "out.pdf", r.out);
  std::smatch m;
  std::string text = pgtest::pdftotext_pages(d / "out.pdf").at(0);
  EXPECT_TRUE(std::regex_search(text, m, std::regex("Sig ([0-9A-Z-]{26})"))) << text;
  return m[1];
}

// tamper() - run SQL on the audit store directly.
void tamper(const TempDir& d, const std::string& stmt) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open((d / "audit.db").c_str(), &h), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(h, stmt.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(h);
}

}  // namespace

TEST(Verify, PrintedCodeVerifiesAndNamesWhoWhatWhere) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto code = printed_code(d, conf);
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  auto r = pg::verify_code(code, a, ks);
  EXPECT_EQ(r.status, pg::VerifyStatus::Valid) << r.message;
  EXPECT_EQ(r.event.user, "alice");
  EXPECT_EQ(r.event.queue, "q1");
  EXPECT_EQ(r.event.job_id, 7);
  EXPECT_EQ(r.event.host, "h1");
  EXPECT_EQ(pg::verify_exit_status(r.status), 0);
  // Typed sloppily: lower case, no dashes.
  std::string sloppy;
  for (char c : code)
    if (c != '-') sloppy.push_back(static_cast<char>(tolower(c)));
  EXPECT_EQ(pg::verify_code(sloppy, a, ks).status, pg::VerifyStatus::Valid);
}

TEST(Verify, OldKeysStillVerifyAfterRotation) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto code = printed_code(d, conf);
  pg::KeyStore ks(d / "keys");
  ks.generate("NEW2", true);
  pg::AuditStore a(d / "audit.db", false);
  EXPECT_EQ(pg::verify_code(code, a, ks).status, pg::VerifyStatus::Valid);
}

TEST(Verify, UnknownMistypedAndMalformed) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto code = printed_code(d, conf);
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  pg::Mac other{};
  other.fill(9);
  auto unknown = pg::verify_code(pg::make_code("TST1", other), a, ks);
  EXPECT_EQ(unknown.status, pg::VerifyStatus::Unknown);
  EXPECT_NE(unknown.message.find("unknown code"), std::string::npos);
  std::string typo = code;
  typo[7] = typo[7] == 'A' ? 'B' : 'A';
  auto t = pg::verify_code(typo, a, ks);
  EXPECT_EQ(t.status, pg::VerifyStatus::Mistyped);
  EXPECT_NE(t.message.find("mistyped: check character wrong"), std::string::npos);
  EXPECT_EQ(pg::verify_code("hello", a, ks).status, pg::VerifyStatus::Malformed);
}

TEST(Verify, AlteredRecordDoesNotVerify) {
  for (auto stmt : {"UPDATE events SET user='mallory' WHERE event='stamp'", "UPDATE events SET pages=99 WHERE event='stamp'",
                    "UPDATE events SET mac=zeroblob(32) WHERE event='stamp'",
                    "UPDATE events SET record=substr(record,1,length(record)-1)||'X' WHERE event='stamp'"}) {
    TempDir d;
    auto conf = pgtest::make_site(d);
    auto code = printed_code(d, conf);
    tamper(d, stmt);
    pg::AuditStore a(d / "audit.db", false);
    pg::KeyStore ks(d / "keys");
    auto r = pg::verify_code(code, a, ks);
    EXPECT_EQ(r.status, pg::VerifyStatus::Forged) << stmt;
    EXPECT_NE(r.message.find("does not verify"), std::string::npos);
    EXPECT_EQ(pg::verify_exit_status(r.status), 3);
  }
}

TEST(Verify, ForgedCodeForAnotherRecordDoesNotVerify) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto code = printed_code(d, conf);
  // Someone copies the code into a row describing another user's job.
  pg::Mac other{};
  other.fill(3);
  std::string fake = pg::make_code("TST1", other);
  tamper(d, "UPDATE events SET code='" + fake + "' WHERE event='stamp'");
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  EXPECT_EQ(pg::verify_code(fake, a, ks).status, pg::VerifyStatus::Forged);
}

TEST(Verify, RedactedRecordsSaySo) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto code = printed_code(d, conf);
  {
    pg::AuditStore a(d / "audit.db", false);
    EXPECT_EQ(a.redact_details(time(nullptr) + 10, false), 1);
  }
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  auto r = pg::verify_code(code, a, ks);
  EXPECT_EQ(r.status, pg::VerifyStatus::Redacted);
  EXPECT_EQ(r.event.user, "alice");
  EXPECT_EQ(pg::verify_exit_status(r.status), 5);
}
