// test_code.cc - unit tests for signature codes and their check character.
#include <gtest/gtest.h>

#include "code.h"

// sample_mac() - a fixed MAC for tests.
static pg::Mac sample_mac() {
  pg::Mac m{};
  for (size_t i = 0; i < m.size(); i++) m[i] = static_cast<unsigned char>(i * 37 + 11);
  return m;
}

TEST(Code, FormatIsGroupedKeyIdMacAndCheck) {
  std::string c = pg::make_code("K7QX", sample_mac());
  ASSERT_EQ(c.size(), 26u);  // 21 symbols + 5 dashes
  EXPECT_EQ(c.substr(0, 5), "K7QX-");
  for (size_t i = 4; i < c.size(); i += 5) EXPECT_EQ(c[i], '-');
  std::string canon;
  EXPECT_EQ(pg::parse_code(c, canon), pg::CodeStatus::Ok);
  EXPECT_EQ(canon, c);
}

TEST(Code, MacPrefixCarries80Bits) {
  pg::Mac a = sample_mac(), b = sample_mac();
  b[9] ^= 1;  // last bit of the 80-bit prefix
  EXPECT_NE(pg::mac_prefix_symbols(a), pg::mac_prefix_symbols(b));
  pg::Mac c = sample_mac();
  c[10] ^= 0xff;  // beyond the prefix
  EXPECT_EQ(pg::mac_prefix_symbols(a), pg::mac_prefix_symbols(c));
  EXPECT_EQ(pg::mac_prefix_symbols(a).size(), 16u);
}

TEST(Code, AlphabetHasNoAmbiguousSymbols) {
  for (char bad : std::string("ILOU")) EXPECT_EQ(pg::code_alphabet().find(bad), std::string::npos);
  EXPECT_EQ(pg::code_alphabet().size(), 32u);
}

TEST(Code, CheckCharacterCatchesEverySingleSubstitution) {
  std::string c = pg::make_code("K7QX", sample_mac());
  std::string canon;
  int caught = 0, total = 0;
  for (size_t i = 0; i < c.size(); i++) {
    if (c[i] == '-') continue;
    for (char s : pg::code_alphabet()) {
      if (s == c[i]) continue;
      std::string t = c;
      t[i] = s;
      total++;
      if (pg::parse_code(t, canon) == pg::CodeStatus::BadCheck) caught++;
    }
  }
  EXPECT_EQ(caught, total);
}

TEST(Code, CheckCharacterCatchesMostAdjacentSwaps) {
  std::string raw;
  std::string c = pg::make_code("K7QX", sample_mac());
  for (char ch : c)
    if (ch != '-') raw.push_back(ch);
  int caught = 0, total = 0;
  std::string canon;
  for (size_t i = 0; i + 1 < raw.size(); i++) {
    if (raw[i] == raw[i + 1]) continue;
    std::string t = raw;
    std::swap(t[i], t[i + 1]);
    total++;
    if (pg::parse_code(t, canon) != pg::CodeStatus::Ok) caught++;
  }
  EXPECT_GE(caught * 10, total * 9);
}

TEST(Code, TypingIsForgiving) {
  std::string c = pg::make_code("K7QX", sample_mac());
  std::string typed;
  for (char ch : c)
    if (ch != '-') typed.push_back(static_cast<char>(tolower(ch)));
  // O for 0 and I/L for 1 are read as the digits.
  for (auto& ch : typed) {
    if (ch == '0') ch = 'o';
    if (ch == '1') ch = 'l';
  }
  std::string canon;
  EXPECT_EQ(pg::parse_code(typed.substr(0, 10) + " " + typed.substr(10), canon), pg::CodeStatus::Ok);
  EXPECT_EQ(canon, c);
}

TEST(Code, MalformedInput) {
  std::string canon;
  EXPECT_EQ(pg::parse_code("", canon), pg::CodeStatus::Malformed);
  EXPECT_EQ(pg::parse_code("K7QX-1234", canon), pg::CodeStatus::Malformed);
  EXPECT_EQ(pg::parse_code("K7QX-UUUU-UUUU-UUUU-UUUU-U", canon), pg::CodeStatus::Malformed);
  EXPECT_EQ(pg::parse_code(std::string(5000, 'A'), canon), pg::CodeStatus::Malformed);
  EXPECT_EQ(pg::parse_code("K7QX-DYQM-TWNH-WWH6-X9RK-R!", canon), pg::CodeStatus::Malformed);
}
