// test_leak.cc - printguard verify FILE: codes found on a leaked PDF's pages.
#include <gtest/gtest.h>

#include "code.h"
#include "leak.h"
#include "testutil.h"

using pgtest::TempDir;

namespace {

// stamped() - run the filter on a fixture; returns the stamped PDF's path and its code.
std::string stamped(const TempDir& d, const std::string& conf, const std::string& fixture, std::string& code) {
  auto r = pgtest::run_filter(conf, "q1", {"printguard-watermark", "9", "alice", "t", "1", "job-uuid=urn:uuid:leak"},
                              pgtest::pdfgen_dir() + "/" + fixture);
  EXPECT_EQ(r.status, 0) << r.err;
  std::string out = d / ("stamped-" + fixture);
  pgtest::write_text(out, r.out);
  auto codes = pg::find_codes(pgtest::pdftotext_pages(out).at(0));
  EXPECT_EQ(codes.size(), 1u);
  code = codes.empty() ? "" : codes[0];
  return out;
}

// with_code_replaced() - a copy of pdf whose printed code is replaced by another
// text of the same length, edited in the uncompressed file as a person would.
std::string with_code_replaced(const TempDir& d, const std::string& pdf, const std::string& from, const std::string& to) {
  std::string qdf = d / "edit.qdf", out = d / ("edited-" + to + ".pdf");
  pgtest::run("qpdf --qdf --object-streams=disable '" + pdf + "' '" + qdf + "'");
  std::string data = pgtest::slurp(qdf);
  for (size_t p = data.find(from); p != std::string::npos; p = data.find(from, p + 1)) data.replace(p, from.size(), to);
  pgtest::write_text(qdf, data);
  pgtest::run("fix-qdf '" + qdf + "' > '" + out + "'");
  return out;
}

}  // namespace

TEST(Leak, FindsCodesAsPrintedAndAsOcrReadsThem) {
  EXPECT_EQ(pg::find_codes("Sig TST1-ABCD-EFGH-JKMN-PQRS-T page 1"), std::vector<std::string>{"TST1-ABCD-EFGH-JKMN-PQRS-T"});
  EXPECT_EQ(pg::find_codes("tst1 - abcd - efgh - jkmn - pqrs - t").size(), 1u);
  EXPECT_EQ(pg::find_codes("XTST1-ABCD-EFGH-JKMN-PQRS-T").size(), 0u);  // part of a longer word
  EXPECT_EQ(pg::find_codes("TST1-ABCD-EFGH-JKMN-PQRS").size(), 0u);
  EXPECT_EQ(pg::find_codes("a AAAA-BBBB-CCCC-DDDD-EEEE-F b GGGG-HHHH-JJJJ-KKKK-MMMM-N").size(), 2u);
}

TEST(Leak, EveryPageOfAStampedDocumentVerifies) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  std::string code;
  auto pdf = stamped(d, conf, "mixed-sizes.pdf", code);
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  auto pages = pg::verify_pdf(pdf, a, ks);
  ASSERT_EQ(pages.size(), 3u);
  for (auto& p : pages) {
    ASSERT_EQ(p.codes.size(), 1u);
    EXPECT_EQ(p.codes[0].status, pg::VerifyStatus::Valid);
    EXPECT_EQ(p.codes[0].event.user, "alice");
    EXPECT_EQ(p.codes[0].event.job_id, 9);
  }
  EXPECT_EQ(pg::verify_pdf_exit_status(pages), 0);
}

TEST(Leak, CodesAlteredByHandAreRejected) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  std::string code;
  auto pdf = stamped(d, conf, "simple.pdf", code);
  ASSERT_EQ(code.size(), 26u);
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  // One symbol changed: the check character catches it.
  std::string typo = code;
  typo[6] = typo[6] == 'A' ? 'B' : 'A';
  auto p1 = pg::verify_pdf(with_code_replaced(d, pdf, code, typo), a, ks);
  ASSERT_EQ(p1.at(0).codes.size(), 1u);
  EXPECT_EQ(p1[0].codes[0].status, pg::VerifyStatus::Mistyped);
  EXPECT_EQ(pg::verify_pdf_exit_status(p1), 2);
  // A well-formed code someone made up: no record carries it.
  pg::Mac fake{};
  fake.fill(7);
  std::string made_up = pg::make_code("TST1", fake);
  auto p2 = pg::verify_pdf(with_code_replaced(d, pdf, code, made_up), a, ks);
  ASSERT_EQ(p2.at(0).codes.size(), 1u);
  EXPECT_EQ(p2[0].codes[0].status, pg::VerifyStatus::Unknown);
  EXPECT_EQ(pg::verify_pdf_exit_status(p2), 1);
}

TEST(Leak, PagesWithoutCodesAndUnreadableFiles) {
  TempDir d;
  pgtest::make_site(d);
  pg::AuditStore a(d / "audit.db", false);
  pg::KeyStore ks(d / "keys");
  auto pages = pg::verify_pdf(pgtest::pdfgen_dir() + "/simple.pdf", a, ks);
  ASSERT_EQ(pages.size(), 1u);
  EXPECT_TRUE(pages[0].codes.empty());
  EXPECT_EQ(pg::verify_pdf_exit_status(pages), 1);
  EXPECT_THROW(pg::verify_pdf(pgtest::pdfgen_dir() + "/notpdf.pdf", a, ks), pg::Error);
  EXPECT_THROW(pg::verify_pdf(pgtest::pdfgen_dir() + "/encrypted-user-pw.pdf", a, ks), pg::Error);
}

TEST(Leak, TypographicDashesCountAsDashesAndControlBytesDoNot) {
  // U+2010 hyphen, U+2013 en dash, U+2212 minus between the groups.
  std::string t = "TST1\xe2\x80\x90" "ABCD\xe2\x80\x93" "EFGH\xe2\x88\x92" "JKMN-PQRS-T";
  ASSERT_EQ(pg::find_codes(t).size(), 1u);
  std::string canon;
  EXPECT_EQ(pg::parse_code(pg::find_codes(t)[0], canon), pg::CodeStatus::BadCheck);  // parsed, only the check differs
  EXPECT_TRUE(pg::find_codes("TST1\x10" "ABCD\x13" "EFGH-JKMN-PQRS-T").empty());
}
