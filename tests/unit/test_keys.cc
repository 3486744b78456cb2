// test_keys.cc - unit tests for key generation, loading and permission checks.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <grp.h>

#include "keys.h"
#include "testutil.h"

using pgtest::TempDir;

TEST(Keys, GenerateLoadAndCurrent) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  std::string id = ks.generate("", true);
  EXPECT_TRUE(pg::valid_key_id(id));
  auto k = ks.current();
  EXPECT_EQ(k.id, id);
  auto k2 = ks.load(id);
  EXPECT_EQ(k.bytes, k2.bytes);
  struct stat st;
  ASSERT_EQ(stat((d / "keys/" + id + ".key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  if (geteuid() == 0 && getgrnam("lp")) {
    EXPECT_EQ(st.st_gid, getgrnam("lp")->gr_gid);
  }
}

TEST(Keys, RefusesToOverwriteAndOldKeysStayUsable) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  auto before = ks.load("AAAA").bytes;
  EXPECT_THROW(ks.generate("AAAA", true), pg::Error);
  EXPECT_EQ(ks.load("AAAA").bytes, before);
  ks.generate("BBBB", true);
  EXPECT_EQ(ks.current().id, "BBBB");
  EXPECT_EQ(ks.load("AAAA").bytes, before);  // still there for verification
  EXPECT_EQ(ks.list(), (std::vector<std::string>{"AAAA", "BBBB"}));
  ks.generate("CCCC", false);
  EXPECT_EQ(ks.current().id, "BBBB");
  EXPECT_THROW(ks.generate("bad!", true), pg::Error);
}

// load_error() - the error loading key id gives, or "".
static std::string load_error(pg::KeyStore& ks, const std::string& id) {
  try {
    ks.load(id);
  } catch (const pg::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Keys, RefusesUnsafePermissions) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  std::string path = d / "keys/AAAA.key";
  chmod(path.c_str(), 0644);
  EXPECT_NE(load_error(ks, "AAAA").find("unsafe permissions 0644"), std::string::npos) << load_error(ks, "AAAA");
  EXPECT_NE(load_error(ks, "AAAA").find("chmod 0640"), std::string::npos);
  chmod(path.c_str(), 0660);
  EXPECT_NE(load_error(ks, "AAAA").find("unsafe permissions 0660"), std::string::npos);
  chmod(path.c_str(), 0604);
  EXPECT_NE(load_error(ks, "AAAA").find("unsafe"), std::string::npos);
  chmod(path.c_str(), 0600);
  EXPECT_EQ(load_error(ks, "AAAA"), "");
  chmod(path.c_str(), 0640);
  EXPECT_EQ(load_error(ks, "AAAA"), "");
}

TEST(Keys, RefusesForeignOwnerSymlinkAndDamage) {
  TempDir d;
  pg::KeyStore ks(d / "keys");
  ks.generate("AAAA", true);
  std::string path = d / "keys/AAAA.key";
  if (geteuid() == 0) {
    ASSERT_EQ(chown(path.c_str(), 65534, 0), 0);
    EXPECT_NE(load_error(ks, "AAAA").find("owned by uid 65534"), std::string::npos);
    ASSERT_EQ(chown(path.c_str(), 0, 0), 0);
  }
  ASSERT_EQ(symlink(path.c_str(), (d / "keys/BBBB.key").c_str()), 0);
  EXPECT_NE(load_error(ks, "BBBB").find("symbolic link"), std::string::npos);
  pgtest::write_text(d / "keys/CCCC.key", "not hex\n", 0640);
  EXPECT_NE(load_error(ks, "CCCC").find("damaged"), std::string::npos);
  EXPECT_NE(load_error(ks, "DDDD").find("printguard keygen"), std::string::npos);
  EXPECT_NE(load_error(ks, "../x").find("invalid key id"), std::string::npos);
}

TEST(Keys, MissingCurrentSaysHowToFix) {
  TempDir d;
  pg::KeyStore ks(d / "nokeys");
  try {
    ks.current();
    FAIL();
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("printguard keygen"), std::string::npos);
  }
}

TEST(Keys, HmacIsDomainSeparated) {
  pg::crypto_init();
  pg::Key k;
  k.id = "AAAA";
  k.bytes.fill(1);
  EXPECT_NE(pg::hmac(k, "a", "bc"), pg::hmac(k, "ab", "c"));
  EXPECT_EQ(pg::hmac(k, "a", "bc"), pg::hmac(k, "a", "bc"));
  auto h = pg::sha256("abc");
  EXPECT_EQ(pg::hex(h.data(), h.size()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
