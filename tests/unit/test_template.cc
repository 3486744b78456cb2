// test_template.cc - unit tests for watermark template expansion.
#include <gtest/gtest.h>

#include "template.h"
#include "util.h"

TEST(Template, ExpandsVariables) {
  std::map<std::string, std::string> v = {{"user", "alice"}, {"job", "42"}, {"page", "3"}, {"pages", "9"}};
  EXPECT_EQ(pg::expand_template("${user} job ${job} p${page}/${pages}", v), "alice job 42 p3/9");
}

TEST(Template, DollarDollarIsLiteralAndLoneDollarStays) {
  EXPECT_EQ(pg::expand_template("cost $$5 and $x", {}), "cost $5 and $x");
}

TEST(Template, ValuesAreNeverReExpanded) {
  std::map<std::string, std::string> v = {{"title", "${user} $$"}, {"user", "alice"}};
  EXPECT_EQ(pg::expand_template("[${title}]", v), "[${user} $$]");
}

TEST(Template, NewlinesInValuesBecomeSpacesButTemplateNewlinesStay) {
  std::map<std::string, std::string> v = {{"title", "a\nb\rc"}};
  EXPECT_EQ(pg::expand_template("${title}\nline2", v), "a b c\nline2");
}

TEST(Template, UnknownVariableAndUnterminatedAreErrors) {
  EXPECT_THROW(pg::validate_template("${nope}"), pg::Error);
  EXPECT_THROW(pg::validate_template("${user"), pg::Error);
  EXPECT_NO_THROW(pg::validate_template("${user} ${date} ${queue} ${host} ${server} ${job} ${uuid} ${title} ${page} ${pages} ${code}"));
  try {
    pg::validate_template("x ${colour}");
    FAIL();
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("${colour}"), std::string::npos);
  }
}
