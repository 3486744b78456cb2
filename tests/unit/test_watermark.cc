// test_watermark.cc - the whole filter: stamping, signing, auditing, failing closed.
#include <gtest/gtest.h>

#include <cups/cups.h>
#include <sodium.h>

#include <algorithm>

#include "audit.h"
#include "docdigest.h"
#include "record.h"
#include "testutil.h"
#include "watermark.h"

using pgtest::TempDir;

namespace {

const std::vector<std::string> kArgs = {"printguard-watermark", "42", "alice", "Quarterly (draft) \\ report", "1",
                                        "job-uuid=urn:uuid:11111111-2222-3333-4444-555555555555 "
                                        "job-originating-host-name=ws7.example"};

// pdf() - a generated fixture.
std::string pdf(const std::string& name) { return pgtest::pdfgen_dir() + "/" + name; }

// stamps_in() - number of stamp records in the site's audit store.
size_t stamps_in(const TempDir& d) {
  pg::AuditStore a(d / "audit.db", false);
  pg::AuditQuery q;
  q.event = "stamp";
  return a.query(q).size();
}

// expect_fail_closed() - the filter failed, wrote nothing to stdout, and said why in
// exactly one ERROR line containing `why`.
void expect_fail_closed(const pgtest::FilterRun& r, const std::string& why) {
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out.size(), 0u) << "bytes reached the printer";
  size_t errors = 0, pos = 0;
  while ((pos = r.err.find("ERROR: ", pos)) != std::string::npos) {
    errors++;
    pos++;
  }
  EXPECT_EQ(errors, 1u) << r.err;
  EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
}

}  // namespace

TEST(Watermark, StampsSignsAndAuditsBeforeOutput) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto r = pgtest::run_filter(conf, "q1", kArgs, pdf("mixed-sizes.pdf"));
  ASSERT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "out.pdf", r.out);
  auto pages = pgtest::pdftotext_pages(d / "out.pdf");
  ASSERT_EQ(pages.size(), 3u);
  for (size_t i = 0; i < 3; i++) {
    EXPECT_NE(pages[i].find("alice"), std::string::npos);
    EXPECT_NE(pages[i].find("q1"), std::string::npos);
    EXPECT_NE(pages[i].find("job 42 from ws7.example"), std::string::npos) << pages[i];
    EXPECT_NE(pages[i].find("page " + std::to_string(i + 1) + "/3"), std::string::npos);
    EXPECT_NE(pages[i].find("Sig TST1-"), std::string::npos);
  }
  pg::AuditStore a(d / "audit.db", false);
  pg::AuditQuery stamps;
  stamps.event = "stamp";
  auto rows = a.query(stamps);
  ASSERT_EQ(rows.size(), 1u);
  pg::AuditQuery config;
  config.event = "config";
  EXPECT_EQ(a.query(config).size(), 1u);  // the configuration the filter started with
  EXPECT_EQ(rows[0].user, "alice");
  EXPECT_EQ(rows[0].queue, "q1");
  EXPECT_EQ(rows[0].job_id, 42);
  EXPECT_EQ(rows[0].host, "ws7.example");
  EXPECT_EQ(rows[0].title, "Quarterly (draft) \\ report");
  EXPECT_EQ(rows[0].pages, 3);
  EXPECT_NE(pages[0].find("Sig " + rows[0].code), std::string::npos);
  EXPECT_NE(r.err.find("INFO: printguard: stamped 3 page(s); signature " + rows[0].code), std::string::npos);
}

TEST(Watermark, EveryPageOfALongDocumentShowsItsOwnNumberAndTheOneCode) {
  // 1000 pages: stamped on two threads, each asking for its pages' texts; the
  // template uses ${page} twice. Every page shows its own number (both times),
  // the page count, and the code the audit log recorded.
  TempDir d;
  auto conf = pgtest::make_site(d, "Template \"P${page} of ${pages} [${page}] ${user} Sig ${code}\"\n");
  auto r = pgtest::run_filter(conf, "q1", kArgs, pdf("pages-1000.pdf"));
  ASSERT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "out.pdf", r.out);
  pg::AuditStore a(d / "audit.db", false);
  pg::AuditQuery stamps;
  stamps.event = "stamp";
  auto rows = a.query(stamps);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].pages, 1000);
  auto pages = pgtest::pdftotext_pages(d / "out.pdf");
  ASSERT_EQ(pages.size(), 1000u);
  for (size_t i = 0; i < pages.size(); i++) {
    std::string n = std::to_string(i + 1);
    ASSERT_NE(pages[i].find("P" + n + " of 1000 [" + n + "] alice Sig " + rows[0].code), std::string::npos)
        << "page " << n << ": " << pages[i];
  }
}

TEST(Watermark, NonSeekableStdinIsSpooled) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto r = pgtest::run_filter(conf, "q1", kArgs, pdf("rotated.pdf"), true);
  ASSERT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "out.pdf", r.out);
  EXPECT_EQ(pgtest::pdftotext_pages(d / "out.pdf").size(), 4u);
}

TEST(Watermark, MissingKeyFailsClosed) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  unlink((d / "keys/current").c_str());
  expect_fail_closed(pgtest::run_filter(conf, "q1", kArgs, pdf("simple.pdf")), "printguard keygen");
}

TEST(Watermark, UnsafeKeyPermissionsFailClosed) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  chmod((d / "keys/TST1.key").c_str(), 0644);
  expect_fail_closed(pgtest::run_filter(conf, "q1", kArgs, pdf("simple.pdf")), "unsafe permissions 0644");
}

TEST(Watermark, UnwritableAuditStoreFailsClosed) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  pgtest::write_text(conf, pgtest::slurp(conf) + "AuditDB /nonexistent-printguard-dir/audit.db\n");
  expect_fail_closed(pgtest::run_filter(conf, "q1", kArgs, pdf("simple.pdf")), "audit store");
}

TEST(Watermark, BadPdfsFailClosedWithNothingAudited) {
  for (auto name : {"truncated.pdf", "empty.pdf", "notpdf.pdf", "broken-objects.pdf", "no-pages.pdf", "encrypted-user-pw.pdf"}) {
    TempDir d;
    auto conf = pgtest::make_site(d);
    auto r = pgtest::run_filter(conf, "q1", kArgs, pdf(name));
    SCOPED_TRACE(name);
    expect_fail_closed(r, "nothing printed");
    EXPECT_EQ(stamps_in(d), 0u);
  }
}

TEST(Watermark, BadConfigFailsClosedNamingFileAndLine) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  pgtest::write_text(conf, pgtest::slurp(conf) + "Placement Sideways\n");
  expect_fail_closed(pgtest::run_filter(conf, "q1", kArgs, pdf("simple.pdf")), conf + ":5: Placement");
}

TEST(Watermark, ModeOnPassesThroughWhenStampingFails) {
  TempDir d;
  auto conf = pgtest::make_site(d, "Watermark On\n");
  unlink((d / "keys/current").c_str());
  auto r = pgtest::run_filter(conf, "q1", kArgs, pdf("simple.pdf"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, pgtest::slurp(pdf("simple.pdf")));
  EXPECT_NE(r.err.find("WARNING: printguard: watermark not applied"), std::string::npos);
}

TEST(Watermark, ModeOffPassesThroughPerQueue) {
  TempDir d;
  auto conf = pgtest::make_site(d, "<Queue plain>\nWatermark Off\n</Queue>\n");
  auto r = pgtest::run_filter(conf, "PLAIN", kArgs, pdf("simple.pdf"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, pgtest::slurp(pdf("simple.pdf")));
  EXPECT_EQ(stamps_in(d), 0u);
}

TEST(Watermark, UserOptionsOnlyWhereAllowed) {
  TempDir d;
  auto conf = pgtest::make_site(d, "<Queue open>\nUserOptions template watermark\n</Queue>\n");
  auto args = kArgs;
  args[5] += " printguard-template=USEROPT${job} printguard-watermark=off";
  // Allowed: the template changes; "off" is refused because the queue requires the stamp.
  auto r = pgtest::run_filter(conf, "open", args, pdf("simple.pdf"));
  ASSERT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "a.pdf", r.out);
  EXPECT_NE(pgtest::pdftotext_pages(d / "a.pdf")[0].find("USEROPT42"), std::string::npos);
  EXPECT_NE(r.err.find("watermark is required"), std::string::npos) << r.err;
  // Not allowed elsewhere: ignored with a warning, default template used.
  r = pgtest::run_filter(conf, "q1", args, pdf("simple.pdf"));
  ASSERT_EQ(r.status, 0);
  pgtest::write_text(d / "b.pdf", r.out);
  EXPECT_EQ(pgtest::pdftotext_pages(d / "b.pdf")[0].find("USEROPT"), std::string::npos);
  EXPECT_NE(r.err.find("printguard-template is not allowed on this queue"), std::string::npos) << r.err;
}

TEST(Watermark, UserMayTurnOffWhereAllowedAndNotRequired) {
  TempDir d;
  auto conf = pgtest::make_site(d, "<Queue draft>\nWatermark On\nUserOptions watermark\n</Queue>\n");
  auto args = kArgs;
  args[5] += " printguard-watermark=off";
  auto r = pgtest::run_filter(conf, "draft", args, pdf("simple.pdf"));
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, pgtest::slurp(pdf("simple.pdf")));
}

TEST(Watermark, HiddenTitlesNeverReachPageOrAuditStore) {
  TempDir d;
  auto conf = pgtest::make_site(d, "Template \"${title} / ${user} / Sig ${code}\"\nHideTitles Yes\n");
  auto r = pgtest::run_filter(conf, "q1", kArgs, pdf("simple.pdf"));
  ASSERT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "out.pdf", r.out);
  auto text = pgtest::pdftotext_pages(d / "out.pdf")[0];
  EXPECT_EQ(text.find("Quarterly"), std::string::npos);
  EXPECT_NE(text.find("(title hidden)"), std::string::npos);
  EXPECT_EQ(r.err.find("Quarterly"), std::string::npos);
  EXPECT_EQ(pgtest::slurp(d / "audit.db").find("Quarterly"), std::string::npos);
  pg::AuditStore a(d / "audit.db", false);
  pg::AuditQuery stamps;
  stamps.event = "stamp";
  auto rows = a.query(stamps);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_TRUE(rows[0].title_hidden);
  EXPECT_TRUE(rows[0].title.empty());
  EXPECT_EQ(rows[0].title_h.size(), 64u);
}

TEST(Watermark, HostileTitleIsEscapedNotInjected) {
  TempDir d;
  auto conf = pgtest::make_site(d, "Template \"[${title}]\"\n");
  auto args = kArgs;
  args[3] = ") Tj ET Q 0 0 m (x\n${user}%s\\";
  auto r = pgtest::run_filter(conf, "q1", args, pdf("simple.pdf"));
  ASSERT_EQ(r.status, 0) << r.err;
  pgtest::write_text(d / "out.pdf", r.out);
  EXPECT_NE(pgtest::pdftotext_pages(d / "out.pdf")[0].find("[) Tj ET Q 0 0 m (x ${user}%s\\]"), std::string::npos)
      << pgtest::pdftotext_pages(d / "out.pdf")[0];
}

TEST(Watermark, BadCommandLine) {
  TempDir d;
  auto conf = pgtest::make_site(d);
  auto r = pgtest::run_filter(conf, "q1", {"printguard-watermark", "1"}, "");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("usage"), std::string::npos);
  r = pgtest::run_filter(conf, "q1", {"printguard-watermark", "x", "u", "t", "1", ""}, pdf("simple.pdf"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.err.find("job id"), std::string::npos);
}

TEST(Watermark, DateFollowsFormatAndTimeZone) {
  EXPECT_EQ(pg::format_job_date(0, "%Y-%m-%d %H:%M %Z", "UTC"), "1970-01-01 00:00 UTC");
  EXPECT_EQ(pg::format_job_date(0, "%H:%M", "Europe/Paris"), "01:00");
  EXPECT_EQ(pg::format_job_date(0, "%H:%M", "Asia/Tokyo"), "09:00");
}

TEST(Watermark, UsersCannotWeakenARequiredWatermark) {
  // Even where users may set printguard-watermark, "on" or "off" must not turn a
  // Required queue into one that prints unstamped when stamping fails.
  for (auto v : {"on", "off", "yes", "no"}) {
    TempDir d;
    auto conf = pgtest::make_site(d, "UserOptions watermark\n");
    unlink((d / "keys/current").c_str());
    auto args = kArgs;
    args[5] += std::string(" printguard-watermark=") + v;
    SCOPED_TRACE(v);
    expect_fail_closed(pgtest::run_filter(conf, "q1", args, pdf("simple.pdf")), "printguard keygen");
  }
}

TEST(Watermark, ResourceLimitsFailClosed) {
  TempDir d;
  auto conf = pgtest::make_site(d, "MaxPages 999\n");
  expect_fail_closed(pgtest::run_filter(conf, "q1", kArgs, pdf("pages-1000.pdf")), "more than MaxPages 999");
  TempDir d2;
  auto conf2 = pgtest::make_site(d2, "MaxDocumentSize 200\n");
  expect_fail_closed(pgtest::run_filter(conf2, "q1", kArgs, pdf("simple.pdf")), "MaxDocumentSize 200");
  // From a pipe, spooling itself stops at the limit (even where stamping is optional).
  TempDir d3;
  auto conf3 = pgtest::make_site(d3, "MaxDocumentSize 200\nWatermark On\n");
  auto r = pgtest::run_filter(conf3, "q1", kArgs, pdf("pages-1000.pdf"), true);
  EXPECT_NE(r.status, 0);
  EXPECT_EQ(r.out.size(), 0u);
  EXPECT_NE(r.err.find("larger than MaxDocumentSize"), std::string::npos) << r.err;
  EXPECT_EQ(pg::parse_size("256M", "x"), 256LL << 20);
  EXPECT_THROW(pg::parse_size("lots", "x"), pg::Error);
}

TEST(Watermark, OutputIsTheInputPlusAnUpdateAndTheHashIsOfTheInput) {
  for (bool via_stdin : {false, true}) {
    TempDir d;
    auto conf = pgtest::make_site(d);
    std::string in = pdf("rotated.pdf"), bytes = pgtest::slurp(in);
    auto r = pgtest::run_filter(conf, "q1", kArgs, in, via_stdin);
    ASSERT_EQ(r.status, 0) << r.err;
    ASSERT_GT(r.out.size(), bytes.size());
    EXPECT_EQ(r.out.compare(0, bytes.size(), bytes), 0) << "the original bytes are not kept (stdin " << via_stdin << ")";
    pgtest::write_text(d / "out.pdf", r.out);
    EXPECT_EQ(pgtest::pdftotext_pages(d / "out.pdf").size(), 4u);
    // The signed record names the digest of exactly the input (computed while spooling for stdin).
    pg::AuditStore a(d / "audit.db", false);
    pg::AuditQuery q;
    q.event = "stamp";
    auto rows = a.query(q);
    ASSERT_EQ(rows.size(), 1u);
    pg::SignedRecord rec;
    ASSERT_TRUE(pg::decode_record(rows[0].record, rec));
    pg::DigestStream ds;
    ds.update(bytes.data(), bytes.size());
    EXPECT_EQ(rec.doc_digest, ds.final()) << "stdin " << via_stdin;
    EXPECT_EQ(rec.version, pg::kRecordVersion);
  }
}

namespace {

// cups_reference() - what libcups' cupsParseOptions() makes of arg, sorted by name.
std::vector<std::pair<std::string, std::string>> cups_reference(const std::string& arg) {
  cups_option_t* opts = nullptr;
  int n = cupsParseOptions(arg.c_str(), 0, &opts);
  std::vector<std::pair<std::string, std::string>> r;
  for (int i = 0; i < n; i++) r.emplace_back(opts[i].name, opts[i].value ? opts[i].value : "");
  cupsFreeOptions(n, opts);
  std::sort(r.begin(), r.end());
  return r;
}

// ours_sorted() - pg::parse_cups_options(arg), sorted by name.
std::vector<std::pair<std::string, std::string>> ours_sorted(const std::string& arg) {
  auto r = pg::parse_cups_options(arg);
  std::sort(r.begin(), r.end());
  return r;
}

}  // namespace

TEST(Watermark, OptionParsingMatchesLibcups) {
  std::vector<std::string> cases = {
      "",
      "   ",
      "a=b",
      "job-uuid=urn:uuid:1 job-originating-host-name=ws7.example",
      "a=1 A=2 b",
      "nocollate noNo no",
      "x = y",
      "x= y z",
      "t='quoted value' u=\"dq \\\" inside\" v=back\\ slash w=end\\",
      "c={a=1 b={c=2} d='x y'} e=f",
      "{a=1 b=2}",
      "{}",
      "{",
      "k=a,b,'c d',e",
      "k='unterminated",
      "k={unterminated x=y",
      "cupsPrintQuality=3 print-quality=4",
      "print-quality=4 cupsPrintQuality=3 PRINT-QUALITY=5",
      "=value a==b",
      "tab\tsep\nline\vvt\fff\rcr=1",
      "printguard-watermark=off printguard-placement='diagonal' job-name=\"a\\\\b\"",
      "k={a\\}b} m=x{y}z",
      "q='a\\'b' r=\"\\\\\" s=\\'",
  };
  std::string dir = std::string(getenv("PG_SRCDIR") ? getenv("PG_SRCDIR") : "..") + "/tests/fuzz/corpus/fuzz_options";
  std::string list = pgtest::run("ls '" + dir + "' 2>/dev/null");
  size_t p = 0, files = 0;
  while (p < list.size()) {
    size_t nl = list.find('\n', p);
    std::string f = list.substr(p, nl - p);
    p = nl == std::string::npos ? list.size() : nl + 1;
    if (f.empty()) continue;
    std::string data = pgtest::slurp(dir + "/" + f);
    cases.push_back(data);
    // The fuzz inputs hold several NUL-separated arguments: each part counts.
    for (size_t a = 0, b; a <= data.size(); a = b + 1) {
      b = data.find('\0', a);
      if (b == std::string::npos) b = data.size();
      cases.push_back(data.substr(a, b - a));
    }
    files++;
  }
  EXPECT_GT(files, 0u) << "no option corpus in " << dir;
  for (auto& c : cases) EXPECT_EQ(ours_sorted(c), cups_reference(c)) << "options: " << c;
}
