// test_queue.cc - unit tests for putting the watermark filter into a queue's PPD.
#include <gtest/gtest.h>

#include "queue.h"
#include "util.h"

namespace {

const char kDriverless[] =
    "*PPD-Adobe: \"4.3\"\n"
    "*cupsFilter2: \"application/vnd.cups-pdf application/pdf 10 -\"\n"
    "*cupsFilter2: \"image/jpeg image/jpeg 0 -\"\n"
    "*cupsFilter2: \"image/urf image/urf 100 -\"\n"
    "*OpenUI *PageSize: PickOne\n";

const char kDriver[] =
    "*PPD-Adobe: \"4.3\"\n"
    "*cupsFilter: \"application/vnd.cups-pdf 0 gstopxl\"\n"
    "*cupsFilter: \"application/vnd.cups-postscript 100 gstopxl\"\n";

// count() - occurrences of needle in hay.
size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) n++;
  return n;
}

// active_lines() - lines that are not PPD comments.
std::string active_lines(const std::string& ppd) {
  std::string out;
  size_t p = 0;
  while (p < ppd.size()) {
    size_t nl = ppd.find('\n', p);
    std::string l = ppd.substr(p, nl - p);
    if (l.rfind("*%", 0) != 0) out += l + "\n";
    p = nl == std::string::npos ? ppd.size() : nl + 1;
  }
  return out;
}

}  // namespace

TEST(Queue, DriverlessFilterIsLastAndNoFormatBypassesIt) {
  std::string out = pg::ppd_add_filter(kDriverless);
  std::string active = active_lines(out);
  EXPECT_NE(active.find("*cupsFilter2: \"application/vnd.cups-pdf application/pdf 10 printguard-watermark\""), std::string::npos);
  EXPECT_EQ(count(active, "*cupsFilter2:"), 1u) << active;  // JPEG and URF no longer pass through unstamped
  EXPECT_EQ(active.find(" -\""), std::string::npos);
  EXPECT_TRUE(pg::ppd_has_filter(out));
  EXPECT_EQ(pg::ppd_add_filter(out), out);  // idempotent
}

TEST(Queue, DriverPpdGetsAPreFilterBeforeTheDriver) {
  std::string out = pg::ppd_add_filter(kDriver);
  EXPECT_NE(out.find("*cupsPreFilter: \"application/vnd.cups-pdf 0 printguard-watermark\""), std::string::npos);
  EXPECT_EQ(count(active_lines(out), "*cupsFilter:"), 2u);  // the driver stays
}

TEST(Queue, RemoveRestoresTheOriginal) {
  EXPECT_EQ(pg::ppd_remove_filter(pg::ppd_add_filter(kDriverless)), kDriverless);
  EXPECT_EQ(pg::ppd_remove_filter(pg::ppd_add_filter(kDriver)), kDriver);
  EXPECT_FALSE(pg::ppd_has_filter(kDriverless));
}

TEST(Queue, NotAPpd) {
  EXPECT_THROW(pg::ppd_add_filter("hello"), pg::Error);
  EXPECT_THROW(pg::ppd_add_filter(""), pg::Error);
}
