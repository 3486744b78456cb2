// test_docdigest.cc - unit tests for the document digest (BLAKE2b-256 over 1 MiB leaves).
#include <gtest/gtest.h>
#include <sodium.h>
#include <unistd.h>

#include "docdigest.h"
#include "testutil.h"

using pgtest::TempDir;

namespace {

// sample() - n bytes of a fixed pattern.
std::string sample(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>((i * 7) % 251);
  return s;
}

// hex_of() - a digest in hex.
std::string hex_of(const pg::Digest& d) { return pg::hex(d.data(), d.size()); }

// stream_digest() - DigestStream over s, given in pieces of `piece` bytes.
pg::Digest stream_digest(const std::string& s, size_t piece) {
  pg::DigestStream ds;
  for (size_t i = 0; i < s.size(); i += piece) ds.update(s.data() + i, std::min(piece, s.size() - i));
  return ds.final();
}

const size_t kLeaf = pg::kDigestLeafBytes;

}  // namespace

TEST(DocDigest, MatchesAnIndependentImplementation) {
  // Known answers from Python's hashlib.blake2b (digest_size=32, person=...),
  // following the definition in docdigest.h and printguard(8).
  ASSERT_EQ(sodium_init() >= 0, true);
  EXPECT_EQ(hex_of(stream_digest("", 1)), "cb4a55d48690ed9c4341e69eafed46a681a1b0548e847dab904f1d28aa700790");
  EXPECT_EQ(hex_of(stream_digest("abc", 1)), "3a1bdd2fa290f87cdd56fce79eba3ca04b4a1e126d6145cc57642b7cb8e95d7e");
  TempDir d;
  pgtest::write_text(d / "f", sample(2 * kLeaf + kLeaf / 2));
  EXPECT_EQ(hex_of(pg::digest_file(d / "f")), "517b6c61ae0fa59272114029f75f658dba732495c2829059363693c623d11420");
}

TEST(DocDigest, StreamAndFileAgreeAtEveryLeafBoundaryAndThreadCount) {
  ASSERT_EQ(sodium_init() >= 0, true);
  TempDir d;
  for (size_t n : {size_t(0), size_t(1), kLeaf - 1, kLeaf, kLeaf + 1, 3 * kLeaf + 5}) {
    std::string s = sample(n);
    pgtest::write_text(d / "f", s);
    pg::Digest one = stream_digest(s, 1 << 16);
    EXPECT_EQ(stream_digest(s, 4093), one) << n;  // pieces that straddle leaves
    for (unsigned helpers : {0u, 1u, 3u, 16u}) EXPECT_EQ(pg::FileDigest(d / "f", helpers).get(), one) << n << " " << helpers;
    EXPECT_EQ(pg::digest_file(d / "f"), one) << n;
  }
}

TEST(DocDigest, EveryByteAndTheLengthCount) {
  ASSERT_EQ(sodium_init() >= 0, true);
  std::string s = sample(2 * kLeaf + 10);
  pg::Digest base = stream_digest(s, 1 << 16);
  for (size_t pos : {size_t(0), kLeaf - 1, kLeaf, 2 * kLeaf + 9}) {
    std::string t = s;
    t[pos] ^= 1;
    EXPECT_NE(stream_digest(t, 1 << 16), base) << pos;
  }
  EXPECT_NE(stream_digest(s.substr(0, s.size() - 1), 1 << 16), base);
  EXPECT_NE(stream_digest(s + '\0', 1 << 16), base);
  // A document of exactly one leaf is not confused with its leaf hash, nor
  // with plain BLAKE2b-256 of the bytes.
  std::string one = sample(kLeaf);
  pg::Digest plain;
  crypto_generichash(plain.data(), plain.size(), reinterpret_cast<const unsigned char*>(one.data()), one.size(), nullptr, 0);
  EXPECT_NE(stream_digest(one, 1 << 16), plain);
}

TEST(DocDigest, AFileThatShrinksIsMissingOrIsNotRegularIsAnErrorNotADigest) {
  ASSERT_EQ(sodium_init() >= 0, true);
  TempDir d;
  pgtest::write_text(d / "f", sample(3 * kLeaf));
  pg::FileDigest fd(d / "f", 0);  // no helpers: nothing is read before get()
  ASSERT_EQ(truncate((d / "f").c_str(), static_cast<off_t>(kLeaf + 3)), 0);
  try {
    fd.get();
    FAIL() << "a shrunk file was digested";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shrank while being read"), std::string::npos) << e.what();
  }
  // Cut within a leaf's last piece: the read there comes back short.
  pgtest::write_text(d / "g", sample(3 * kLeaf));
  pg::FileDigest gd(d / "g", 0);
  ASSERT_EQ(truncate((d / "g").c_str(), static_cast<off_t>(3 * kLeaf - 100)), 0);
  try {
    gd.get();
    FAIL() << "a file cut within a leaf was digested";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("shrank while being read"), std::string::npos) << e.what();
  }
  for (const char* special : {"/dev/null", "/dev/zero"}) {
    try {
      pg::digest_file(special);
      FAIL() << "the digest of " << special << " was taken as that of an empty file";
    } catch (const pg::Error& e) {
      EXPECT_NE(std::string(e.what()).find("not a regular file"), std::string::npos) << e.what();
    }
  }
  try {
    pg::digest_file(d / "missing");
    FAIL() << "a missing file was digested";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find(d / "missing"), std::string::npos) << e.what();
  }
}
