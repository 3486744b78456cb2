// test_util.cc - unit tests for lib/util.
#include <gtest/gtest.h>

#include "util.h"

TEST(Util, TrimAndSplit) {
  EXPECT_EQ(pg::trim("  a b \t\n"), "a b");
  EXPECT_EQ(pg::split_ws(" a  b\tc ").size(), 3u);
}

TEST(Util, ParseIntIsChecked) {
  EXPECT_EQ(pg::parse_int("42", 0, 100, "x"), 42);
  EXPECT_THROW(pg::parse_int("42abc", 0, 100, "x"), pg::Error);
  EXPECT_THROW(pg::parse_int("", 0, 100, "x"), pg::Error);
  EXPECT_THROW(pg::parse_int("101", 0, 100, "x"), pg::Error);
  EXPECT_THROW(pg::parse_int("99999999999999999999999", 0, 100, "x"), pg::Error);
}

TEST(Util, FormatNumberUsesClassicLocaleAndNoTrailingZeros) {
  EXPECT_EQ(pg::format_number(1.5), "1.5");
  EXPECT_EQ(pg::format_number(2), "2");
  EXPECT_EQ(pg::format_number(-0.00001), "0");
  EXPECT_EQ(pg::format_number(0.123456), "0.1235");
  EXPECT_EQ(pg::format_number(1.0 / 0.0), "0");
}

TEST(Util, PrintableNeverLetsANewlineThrough) {
  EXPECT_EQ(pg::printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(pg::printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(pg::printable("bad\xff"), "bad\\xff");
  EXPECT_EQ(pg::printable("back\\slash"), "back\\\\slash");
}

TEST(Util, Dates) {
  EXPECT_EQ(pg::utc_iso8601(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(pg::parse_date("1970-01-02"), 86400);
  EXPECT_EQ(pg::parse_date("1970-01-01", true), 86399);
  EXPECT_EQ(pg::parse_date("1970-01-01T00:01:00Z"), 60);
  EXPECT_THROW(pg::parse_date("yesterday"), pg::Error);
}

TEST(Util, Hex) {
  std::vector<unsigned char> v;
  EXPECT_TRUE(pg::unhex("00ff10", v));
  EXPECT_EQ(pg::hex(v), "00ff10");
  EXPECT_FALSE(pg::unhex("0g", v));
  EXPECT_FALSE(pg::unhex("abc", v));
}
