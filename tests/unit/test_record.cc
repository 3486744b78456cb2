// test_record.cc - unit tests for the canonical signed record.
#include <gtest/gtest.h>

#include "record.h"

// sample() - a filled-in record.
static pg::SignedRecord sample() {
  pg::SignedRecord r;
  r.key_id = "K7QX";
  r.job_uuid = "urn:uuid:00000000-0000-0000-0000-000000000001";
  r.job_id = 42;
  r.owner = "alice";
  r.queue = "q1";
  r.host = "ws1.example";
  r.time_utc = "2026-11-23T10:00:00Z";
  r.pages = 3;
  r.doc_digest.fill(7);
  r.title = "Report (final)";
  return r;
}

// test_key() - a fixed key.
static pg::Key test_key() {
  pg::Key k;
  k.id = "K7QX";
  k.bytes.fill(0x42);
  return k;
}

TEST(Record, EncodingIsLengthPrefixedAndDeterministic) {
  auto a = pg::encode_record(sample());
  EXPECT_EQ(a, pg::encode_record(sample()));
  // The first field is the label, prefixed by its 4-byte big-endian length.
  EXPECT_EQ(a.substr(0, 4), std::string("\0\0\0\x18", 4));
  EXPECT_EQ(a.substr(4, 24), "printguard-signed-record");
}

TEST(Record, FieldBoundariesCannotShift) {
  auto a = sample(), b = sample();
  a.owner = "ab";
  a.queue = "c";
  b.owner = "a";
  b.queue = "bc";
  EXPECT_NE(pg::encode_record(a), pg::encode_record(b));
  pg::crypto_init();
  EXPECT_NE(pg::sign_record(test_key(), a), pg::sign_record(test_key(), b));
}

TEST(Record, RoundTrip) {
  pg::SignedRecord d;
  ASSERT_TRUE(pg::decode_record(pg::encode_record(sample()), d));
  EXPECT_EQ(pg::encode_record(d), pg::encode_record(sample()));
  EXPECT_EQ(d.owner, "alice");
  EXPECT_EQ(d.pages, 3);
}

TEST(Record, VersionOneRecordsStillDecodeAndNameTheirSha256) {
  // Stores written before the document digest hold version 1 records.
  auto v1 = sample();
  v1.version = 1;
  auto bytes = pg::encode_record(v1);
  EXPECT_EQ(bytes.substr(28, 5), std::string("\0\0\0\x01" "1", 5));
  pg::SignedRecord d;
  ASSERT_TRUE(pg::decode_record(bytes, d));
  EXPECT_EQ(d.version, 1);
  EXPECT_EQ(pg::record_digest_name(d), "SHA-256");
  EXPECT_EQ(pg::encode_record(d), bytes);
  // New records are version 2 and carry the document digest.
  ASSERT_TRUE(pg::decode_record(pg::encode_record(sample()), d));
  EXPECT_EQ(d.version, 2);
  EXPECT_EQ(pg::record_digest_name(d), "digest");
  auto v3 = sample();
  v3.version = 3;
  EXPECT_FALSE(pg::decode_record(pg::encode_record(v3), d)) << "an unknown version was read";
}

TEST(Record, DecodeRejectsDamage) {
  auto e = pg::encode_record(sample());
  pg::SignedRecord d;
  EXPECT_FALSE(pg::decode_record(e.substr(0, e.size() - 1), d));
  EXPECT_FALSE(pg::decode_record(e + "x", d));
  EXPECT_FALSE(pg::decode_record("", d));
  std::string big = e;
  big[0] = '\x7f';  // absurd length
  EXPECT_FALSE(pg::decode_record(big, d));
}

TEST(Record, EveryFieldIsCovered) {
  pg::crypto_init();
  auto base = pg::sign_record(test_key(), sample());
  std::vector<pg::SignedRecord> variants(12, sample());
  variants[0].key_id = "K7QY";
  variants[1].job_uuid += "x";
  variants[2].job_id = 43;
  variants[3].owner = "mallory";
  variants[4].queue = "q2";
  variants[5].host = "ws2";
  variants[6].time_utc = "2026-11-23T10:00:01Z";
  variants[7].pages = 4;
  variants[8].doc_digest[31] = 8;
  variants[9].title = "Report";
  variants[10].title_hidden = true;
  variants[11].version = 1;  // the same digest bytes read as a SHA-256
  for (auto& v : variants) EXPECT_NE(pg::sign_record(test_key(), v), base);
  pg::Key other = test_key();
  other.bytes[0] = 1;
  EXPECT_NE(pg::sign_record(other, sample()), base);
}

TEST(Record, TitleHashIsKeyed) {
  pg::crypto_init();
  pg::Key other = test_key();
  other.bytes[0] = 1;
  EXPECT_EQ(pg::title_hash(test_key(), "x").size(), 64u);
  EXPECT_NE(pg::title_hash(test_key(), "x"), pg::title_hash(other, "x"));
  EXPECT_EQ(pg::title_hash(test_key(), "x"), pg::title_hash(test_key(), "x"));
}
