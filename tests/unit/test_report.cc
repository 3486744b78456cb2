// test_report.cc - activity reports: counts, formats, escaping.
#include <gtest/gtest.h>

#include "report.h"
#include "testutil.h"

using pgtest::TempDir;

namespace {

// Site - an audit store with a key, and a helper to add one job's records.
struct Site {
  TempDir d;
  pg::KeyStore ks{d / "keys"};
  std::unique_ptr<pg::AuditStore> a;
  Site() {
    ks.generate("AAAA", true);
    a = std::make_unique<pg::AuditStore>(d / "a.db", false);
  }
  // job() - records of one job, in order: each event with its pages and detail.
  void job(const std::string& user, const std::string& queue, const std::string& uuid,
           const std::vector<std::pair<std::string, long long>>& events, const std::string& detail = "") {
    for (auto& [ev, pages] : events) {
      pg::AuditEvent e;
      e.event = ev;
      e.user = user;
      e.queue = queue;
      e.job_uuid = uuid;
      e.pages = pages;
      e.detail = ev == "refuse" ? detail : "";
      a->append(e, ks.current());
    }
  }
};

}  // namespace

TEST(Report, CountsPrintedHeldReleasedPurgedAndRefusedJobs) {
  Site s;
  // Printed after a hold: the filter also stamped on the run the backend held.
  s.job("alice", "q1", "A", {{"stamp", 3}, {"hold", 0}, {"release", 0}, {"stamp", 3}, {"release-used", 0}, {"sent", 0}});
  s.job("alice", "q1", "B", {{"stamp", 5}, {"hold", 0}, {"purge", 0}});                  // purged unprinted
  s.job("bob", "q2", "C", {{"stamp", 2}});                                                 // filter-only queue
  s.job("bob", "q1", "D", {{"hold", 0}, {"release", 0}, {"refuse", 0}}, "printer reports toner-empty-report");
  auto rows = s.a->report("user", 0, 0);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key, "alice");
  EXPECT_EQ(rows[0].jobs_printed, 1);
  EXPECT_EQ(rows[0].pages_printed, 3);  // not 3 + 3 + 5
  EXPECT_EQ(rows[0].jobs_held, 2);
  EXPECT_EQ(rows[0].jobs_released, 1);
  EXPECT_EQ(rows[0].jobs_purged, 1);
  EXPECT_EQ(rows[1].key, "bob");
  EXPECT_EQ(rows[1].jobs_printed, 1);
  EXPECT_EQ(rows[1].pages_printed, 2);
  EXPECT_EQ(rows[1].refused_printer, 1);
  auto by_queue = s.a->report("queue", 0, 0);
  ASSERT_EQ(by_queue.size(), 2u);
  EXPECT_EQ(by_queue[0].key, "q1");
  EXPECT_EQ(by_queue[0].pages_printed, 3);
  auto by_day = s.a->report("day", 0, 0);
  ASSERT_EQ(by_day.size(), 1u);
  EXPECT_EQ(by_day[0].key.size(), 10u);  // YYYY-MM-DD
  EXPECT_EQ(by_day[0].jobs_printed, 2);
  EXPECT_TRUE(s.a->report("user", time(nullptr) + 86400, 0).empty());
  EXPECT_THROW(s.a->report("host", 0, 0), pg::Error);
}

TEST(Report, FormatsAndEscaping) {
  pg::AuditStore::ReportRow r;
  r.key = "<script>alert(1)</script>";
  r.jobs_printed = 2;
  r.pages_printed = 7;
  std::string html = pg::report_html({r}, "user", "2026-11-01 to now");
  EXPECT_EQ(html.find("<script>"), std::string::npos);
  EXPECT_NE(html.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("2 jobs (7 pages) printed"), std::string::npos);
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));  // self-contained: no other URL
  pg::AuditStore::ReportRow f;
  f.key = "=HYPERLINK(\"x\")";
  std::string csv = pg::report_csv({f}, "user");
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"x\"\")\""), std::string::npos) << csv;
  EXPECT_NE(pg::report_json({r}, "user").find("\"pages_printed\":7"), std::string::npos);
}
