// test_pdftext.cc - unit tests for PDF string escaping and WinAnsi encoding.
#include <gtest/gtest.h>

#include "pdftext.h"

TEST(PdfText, EscapesDelimitersAndNonPrintables) {
  EXPECT_EQ(pg::pdf_literal("a(b)c\\d"), "(a\\(b\\)c\\\\d)");
  EXPECT_EQ(pg::pdf_literal(std::string("\n\r\0", 3)), "(\\012\\015\\000)");
  EXPECT_EQ(pg::pdf_literal("\xe9"), "(\\351)");
  EXPECT_EQ(pg::pdf_literal(") Tj /F1 99 Tf (x"), "(\\) Tj /F1 99 Tf \\(x)");
}

TEST(PdfText, Latin1AndWinAnsiCharacters) {
  auto t = pg::encode_winansi("R\xc3\xa9sum\xc3\xa9 \xc3\xa7\xc3\x9f \xe2\x82\xac");  // Résumé çß €
  EXPECT_EQ(t.bytes, "R\xe9sum\xe9 \xe7\xdf \x80");
  EXPECT_TRUE(t.replaced.empty());
}

TEST(PdfText, UnshowableCharactersAreReplacedVisiblyAndReported) {
  auto t = pg::encode_winansi("a\xe4\xb8\xad" "b");  // a中b
  EXPECT_EQ(t.bytes, "a?b");
  ASSERT_EQ(t.replaced.size(), 1u);
  EXPECT_EQ(t.replaced[0], U'\u4e2d');
  EXPECT_EQ(pg::codepoint_name(t.replaced[0]), "U+4E2D");
}

TEST(PdfText, InvalidUtf8AndControlsAreReplaced) {
  auto t = pg::encode_winansi("x\xff\xc0\xafy\x01");
  EXPECT_EQ(t.bytes, "x???y?");
  EXPECT_EQ(t.replaced.size(), 4u);
  auto tab = pg::encode_winansi("a\tb");
  EXPECT_EQ(tab.bytes, "a b");
}

TEST(PdfText, HelveticaWidths) {
  EXPECT_DOUBLE_EQ(pg::helvetica_width("A", 1000), 667);
  EXPECT_DOUBLE_EQ(pg::helvetica_width(" ", 10), 2.78);
  EXPECT_DOUBLE_EQ(pg::helvetica_width("\xdf", 1000), 611);
}
