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

TEST(Template, ExpandedAroundOneVariableGivesThePiecesBetweenItsUses) {
  std::map<std::string, std::string> v = {{"user", "a\nb"}, {"pages", "9"}, {"page", "unused"}};
  using P = std::vector<std::string>;
  EXPECT_EQ(pg::expand_template_around("${user} p${page}/${pages} [${page}]", v, "page"), (P{"a b p", "/9 [", "]"}));
  EXPECT_EQ(pg::expand_template_around("${pages} pages, $${page}", v, "page"), (P{"9 pages, ${page}"}));
  EXPECT_EQ(pg::expand_template_around("${page}", v, "page"), (P{"", ""}));
  // Joined with a value, the pieces are what expand_template() gives.
  auto pieces = pg::expand_template_around("${user} p${page}/${pages} [${page}]", v, "page");
  std::map<std::string, std::string> with = v;
  with["page"] = "3";
  EXPECT_EQ(pieces[0] + "3" + pieces[1] + "3" + pieces[2], pg::expand_template("${user} p${page}/${pages} [${page}]", with));
}
