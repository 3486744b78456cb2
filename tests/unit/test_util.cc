// test_util.cc - unit tests for lib/util.
#include <gtest/gtest.h>
#include <unistd.h>
#include <sys/stat.h>
#include <fcntl.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iomanip>
#include <random>
#include <fstream>
#include <iterator>
#include <memory>

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

TEST(Util, PrintableIsValidUtf8ThatReadsAsShown) {
  // Overlong forms, surrogates and values past U+10FFFF are invalid UTF-8: every byte escaped.
  EXPECT_EQ(pg::printable("ov\xc0\xaf"), "ov\\xc0\\xaf");
  EXPECT_EQ(pg::printable("ov\xe0\x80\xaf"), "ov\\xe0\\x80\\xaf");
  EXPECT_EQ(pg::printable("ov\xf0\x80\x80\xaf"), "ov\\xf0\\x80\\x80\\xaf");
  EXPECT_EQ(pg::printable("sur\xed\xa0\x80"), "sur\\xed\\xa0\\x80");
  EXPECT_EQ(pg::printable("big\xf4\x90\x80\x80"), "big\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(pg::printable("big\xf5\x80\x80\x80"), "big\\xf5\\x80\\x80\\x80");
  // The largest valid forms pass.
  EXPECT_EQ(pg::printable("\xed\x9f\xbf \xef\xbf\xbd \xf4\x8f\xbf\xbf \xf0\x9f\x96\xa8"),
            "\xed\x9f\xbf \xef\xbf\xbd \xf4\x8f\xbf\xbf \xf0\x9f\x96\xa8");
  // C1 controls (U+009B is CSI), line separators and bidi overrides are escaped.
  EXPECT_EQ(pg::printable("c1 \xc2\x9b" "31m"), "c1 \\xc2\\x9b" "31m");
  EXPECT_EQ(pg::printable("nbsp\xc2\xa0"), "nbsp\xc2\xa0");
  EXPECT_EQ(pg::printable("rlo \xe2\x80\xae" "fdp.exe"), "rlo \\xe2\\x80\\xae" "fdp.exe");
  EXPECT_EQ(pg::printable("ls\xe2\x80\xa8x"), "ls\\xe2\\x80\\xa8x");
  EXPECT_EQ(pg::printable("iso\xe2\x81\xa6x\xe2\x81\xa9"), "iso\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");
  EXPECT_EQ(pg::printable("dash\xe2\x80\x94"), "dash\xe2\x80\x94");
  EXPECT_EQ(pg::printable("trunc\xe2\x80"), "trunc\\xe2\\x80");
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

TEST(Util, ChunkedBufferKeepsWhatItHoldsInPlace) {
  pg::ChunkedBuffer b;
  std::string want;
  std::mt19937 rng(7);
  const char* first = nullptr;
  // Small and large appends (some larger than a piece), a piece boundary
  // falling inside many of them.
  for (int i = 0; i < 400; i++) {
    size_t n = i % 50 == 0 ? pg::ChunkedBuffer::kChunk + rng() % 1000 : rng() % 20000;
    std::string part(n, static_cast<char>('a' + i % 26));
    if (i % 7 == 0) part += std::to_string(i);
    b += part;
    want += part;
    if (!first) first = b.chunks().front().data();
    ASSERT_EQ(b.chunks().front().data(), first) << "appending moved bytes already held";
  }
  b += 'z';
  want += 'z';
  EXPECT_EQ(b.size(), want.size());
  for (auto& c : b.chunks()) EXPECT_LE(c.size(), pg::ChunkedBuffer::kChunk);
  EXPECT_GT(b.chunks().size(), want.size() / pg::ChunkedBuffer::kChunk);
  EXPECT_EQ(b.str(), want);
  char path[] = "/tmp/pg-chunked-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(b.write_to(fd));
  close(fd);
  std::ifstream in(path, std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  unlink(path);
  EXPECT_TRUE(back == want) << "write_to() wrote " << back.size() << " bytes, want " << want.size();
  EXPECT_TRUE(pg::ChunkedBuffer().empty());
}

TEST(Util, ChunkedBufferSpliceMovesThePiecesWithoutCopying) {
  pg::ChunkedBuffer a, b;
  a += "head ";
  std::string big(pg::ChunkedBuffer::kChunk + 10, 'x');
  b += big;
  b += " tail";
  const char* b_first = b.chunks().front().data();
  size_t b_size = b.size();
  a.splice(std::move(b));
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.chunks().empty());
  EXPECT_EQ(a.size(), 5 + b_size);
  EXPECT_EQ(a.chunks()[1].data(), b_first) << "the spliced piece was copied";
  a += "!";
  EXPECT_EQ(a.str(), "head " + big + " tail!");
}

TEST(Util, ChunkedBufferAppendRangeCopiesBytesAcrossPieces) {
  // Pieces of uneven size (a spliced one is partly filled), ranges within one
  // piece, across several, empty, and to the end.
  pg::ChunkedBuffer src, tail;
  std::string want;
  for (int i = 0; i < 3000; i++) want += std::to_string(i) + ",";
  src += want.substr(0, 7);
  tail += std::string(pg::ChunkedBuffer::kChunk + 5, 'y');
  src.splice(std::move(tail));
  src += want.substr(7);
  std::string all = want.substr(0, 7) + std::string(pg::ChunkedBuffer::kChunk + 5, 'y') + want.substr(7);
  ASSERT_EQ(src.str(), all);
  for (auto [from, to] : std::vector<std::pair<size_t, size_t>>{
           {0, 3}, {2, 7}, {5, 20}, {6, pg::ChunkedBuffer::kChunk + 30}, {100, 100}, {0, all.size()}, {all.size() - 9, all.size()}}) {
    pg::ChunkedBuffer out;
    out += "<";
    out.append_range(src, from, to);
    EXPECT_EQ(out.str(), "<" + all.substr(from, to - from)) << from << ".." << to;
    EXPECT_EQ(out.size(), 1 + to - from);
  }
}

TEST(Util, FormatNumberMatchesToCharsFixed4) {
  // The fast integer path must print what std::to_chars(fixed, 4) prints, with
  // trailing zeros dropped, for every value: random ones of all magnitudes,
  // and the half-way cases it leaves to to_chars.
  auto reference = [](double v) {
    char buf[64];
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 4);
    if (memchr(buf, '.', static_cast<size_t>(p - buf))) {
      while (p[-1] == '0') p--;
      if (p[-1] == '.') p--;
    }
    std::string s(buf, p);
    return s == "-0" ? std::string("0") : s;
  };
  std::mt19937_64 gen(7);
  std::uniform_real_distribution<double> wide(-1e9, 1e9), page(-2000, 2000), tiny(-1e-3, 1e-3);
  for (int k = 0; k < 300000; k++) {
    double v = k % 3 == 0 ? page(gen) : k % 3 == 1 ? wide(gen) : tiny(gen);
    if (k % 5 == 0) v = std::round(v * 100) / 100;
    ASSERT_EQ(pg::format_number(v), reference(v)) << std::setprecision(17) << v;
  }
  for (double v : {0.00005, -0.00005, 0.00015, 1.23445, 2.5e-5, 612.00005, -0.0, 0.99995, 123456.78905})
    EXPECT_EQ(pg::format_number(v), reference(v)) << std::setprecision(17) << v;
}

TEST(Util, ReserveOutputAllocatesAFilesNextBytesAndLeavesPipesAlone) {
  char dir[] = "/tmp/pg-util-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/out";
  // A file written from offset 100 on: the next 1 MiB is allocated, the size
  // is where the writes will end, and what was written before is kept.
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(pg::write_all(fd, std::string(100, 'a').data(), 100));
  ASSERT_TRUE(pg::reserve_output(fd, 1 << 20));
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 100 + (1 << 20));
  EXPECT_GE(static_cast<long long>(st.st_blocks) * 512, 1 << 20);
  EXPECT_EQ(lseek(fd, 0, SEEK_CUR), 100);
  char head[100];
  ASSERT_EQ(pread(fd, head, sizeof head, 0), 100);
  EXPECT_EQ(std::string(head, 100), std::string(100, 'a'));
  // More than a file can hold: refused up front, nothing changed.
  errno = 0;
  EXPECT_FALSE(pg::reserve_output(fd, 1LL << 62));
  EXPECT_TRUE(errno == EFBIG || errno == ENOSPC) << strerror(errno);
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 100 + (1 << 20));
  close(fd);
  // Opened for appending: left to the writes.
  fd = open(path.c_str(), O_WRONLY | O_APPEND | O_TRUNC);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(pg::reserve_output(fd, 1 << 20));
  ASSERT_EQ(fstat(fd, &st), 0);
  EXPECT_EQ(st.st_size, 0);
  close(fd);
  // A pipe: nothing to allocate, nothing written.
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_TRUE(pg::reserve_output(p[1], 1 << 20));
  close(p[1]);
  char c;
  EXPECT_EQ(read(p[0], &c, 1), 0);
  close(p[0]);
  unlink(path.c_str());
  rmdir(dir);
}
