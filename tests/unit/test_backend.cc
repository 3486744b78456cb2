// test_backend.cc - unit tests for the backend's URI validation, the state gate's
// reason matching, release records and LDAP filter escaping.
#include <cups/cups.h>
#include <gtest/gtest.h>

#include "audit.h"
#include "backend.h"
#include "ippstate.h"
#include "ldapauth.h"
#include "pin.h"
#include "release.h"
#include "testutil.h"

using pgtest::TempDir;

TEST(DeviceUri, WrapsRealDevicesOnly) {
  auto d = pg::parse_device_uri("printguard:ipp://10.0.0.5/ipp/print");
  EXPECT_FALSE(d.findme);
  EXPECT_EQ(d.uri, "ipp://10.0.0.5/ipp/print");
  EXPECT_EQ(d.scheme, "ipp");
  EXPECT_EQ(pg::parse_device_uri("printguard:socket://10.0.0.6").scheme, "socket");
  EXPECT_TRUE(pg::parse_device_uri("printguard:findme").findme);
  EXPECT_TRUE(pg::parse_device_uri("PrintGuard:FindMe").findme);
  for (auto bad : {"printguard:file:///etc/passwd", "printguard:FILE:/x", "printguard:printguard:ipp://x",
                   "printguard:../../bin/sh:x", "printguard:/bin/sh", "printguard:", "ipp://x", "printguard:ipp://a b",
                   "printguard:ipp://x\n", "printguard:a/b://x", "printguard:9p://x", "printguard:cups-pdf:/"}) {
    EXPECT_THROW(pg::parse_device_uri(bad), pg::Error) << bad;
  }
  EXPECT_NE(pg::backend_discovery_line().find("printguard"), std::string::npos);
}

TEST(StateGate, ReasonsMatchOnBaseKeywordAndErrorsAlwaysBlock) {
  const auto& def = pg::default_blocking_reasons();
  EXPECT_EQ(pg::reason_base("toner-empty-warning"), "toner-empty");
  EXPECT_EQ(pg::reason_base("media-empty-report"), "media-empty");
  EXPECT_EQ(pg::reason_base("none"), "none");
  EXPECT_EQ(pg::blocking_reasons({"none"}, def).size(), 0u);
  EXPECT_EQ(pg::blocking_reasons({"toner-low-report", "marker-supply-low-warning"}, def).size(), 0u);
  EXPECT_EQ(pg::blocking_reasons({"toner-empty-warning"}, def).size(), 1u);
  EXPECT_EQ(pg::blocking_reasons({"media-empty-report", "media-jam"}, def).size(), 2u);
  EXPECT_EQ(pg::blocking_reasons({"something-new-error"}, def).size(), 1u);
  EXPECT_EQ(pg::blocking_reasons({"toner-empty"}, {}).size(), 0u);  // configurable per queue
  for (auto r : {"media-empty", "media-needed", "media-jam", "cover-open", "door-open", "input-tray-missing",
                 "output-tray-missing", "output-area-full", "marker-supply-missing", "marker-supply-empty",
                 "toner-empty", "offline", "paused", "spool-area-full"})
    EXPECT_EQ(pg::blocking_reasons({std::string(r) + "-report"}, def).size(), 1u) << r;
}

TEST(StateGate, NoAnswerStoppedOrNotAcceptingIsNotReady) {
  pg::PrinterState st;
  EXPECT_NE(pg::not_ready_reason(st, {}), "");  // no answer: fail closed
  st.answered = true;
  st.state = 3;
  EXPECT_EQ(pg::not_ready_reason(st, {}), "");
  st.state = 5;
  EXPECT_NE(pg::not_ready_reason(st, {}).find("stopped"), std::string::npos);
  st.state = 3;
  st.accepting = false;
  EXPECT_NE(pg::not_ready_reason(st, {}), "");
  st.accepting = true;
  st.reasons = {"media-empty-report"};
  EXPECT_NE(pg::not_ready_reason(st, pg::default_blocking_reasons()).find("media-empty-report"), std::string::npos);
}

TEST(StateGate, UnreachablePrinterIsNotReady) {
  auto st = pg::query_printer_state("ipp://127.0.0.1:1/ipp/print", 2);
  EXPECT_FALSE(st.answered);
  EXPECT_NE(pg::not_ready_reason(st, {}), "");
  EXPECT_FALSE(pg::query_printer_state("socket://127.0.0.1:1", 1).answered);
}

TEST(StateGate, BackendStateLines) {
  EXPECT_EQ(pg::parse_state_line("STATE: +media-jam-error,cover-open"), (std::vector<std::string>{"media-jam-error", "cover-open"}));
  EXPECT_EQ(pg::parse_state_line("STATE: -media-jam"), std::vector<std::string>{});
  EXPECT_EQ(pg::parse_state_line("STATE: none"), std::vector<std::string>{});
  EXPECT_EQ(pg::parse_state_line("INFO: STATE: +media-jam"), std::vector<std::string>{});
  EXPECT_EQ(pg::parse_state_line("STATE: toner-empty-warning"), std::vector<std::string>{"toner-empty-warning"});
}

// site_key() - a key store with one current key in d.
static pg::KeyStore site_key(const TempDir& d) {
  pg::crypto_init();
  pg::KeyStore ks(d / "keys");
  ks.generate("RQ01", true);
  return ks;
}

TEST(Release, ValidOnlyForThatJobOwnerQueueAndTime) {
  TempDir d;
  auto ks = site_key(d);
  auto k = ks.current();
  auto r = pg::make_release(k, "urn:uuid:a", 5, "alice", "Q1", 120, "station");
  auto bytes = pg::encode_release(r);
  auto m = pg::release_mac(k, r);
  std::string mac(m.begin(), m.end()), why;
  long long now = r.created + 1;
  EXPECT_EQ(pg::check_release(bytes, mac, ks, "urn:uuid:a", 5, "alice", "q1", now, why), pg::ReleaseCheck::Valid) << why;
  EXPECT_EQ(pg::check_release(bytes, mac, ks, "urn:uuid:b", 5, "alice", "q1", now, why), pg::ReleaseCheck::WrongJob);
  EXPECT_EQ(pg::check_release(bytes, mac, ks, "urn:uuid:a", 6, "alice", "q1", now, why), pg::ReleaseCheck::WrongJob);
  EXPECT_EQ(pg::check_release(bytes, mac, ks, "urn:uuid:a", 5, "bob", "q1", now, why), pg::ReleaseCheck::WrongJob);
  EXPECT_EQ(pg::check_release(bytes, mac, ks, "urn:uuid:a", 5, "alice", "q2", now, why), pg::ReleaseCheck::WrongJob);
  EXPECT_EQ(pg::check_release(bytes, mac, ks, "urn:uuid:a", 5, "alice", "q1", r.expires, why), pg::ReleaseCheck::Expired);
  std::string bad = mac;
  bad[0] ^= 1;
  EXPECT_EQ(pg::check_release(bytes, bad, ks, "urn:uuid:a", 5, "alice", "q1", now, why), pg::ReleaseCheck::Forged);
  auto forged = r;
  forged.owner = "mallory";  // re-encoded without the key
  EXPECT_EQ(pg::check_release(pg::encode_release(forged), mac, ks, "urn:uuid:a", 5, "mallory", "q1", now, why),
            pg::ReleaseCheck::Forged);
  EXPECT_EQ(pg::check_release("garbage", mac, ks, "urn:uuid:a", 5, "alice", "q1", now, why), pg::ReleaseCheck::Forged);
}

TEST(Release, RoundTripAndDecodeRejectsDamage) {
  TempDir d;
  auto ks = site_key(d);
  auto r = pg::make_release(ks.current(), "urn:uuid:a", 5, "alice", "q1", 120, "st");
  pg::Release back;
  ASSERT_TRUE(pg::decode_release(pg::encode_release(r), back));
  EXPECT_EQ(pg::encode_release(back), pg::encode_release(r));
  auto e = pg::encode_release(r);
  EXPECT_FALSE(pg::decode_release(e.substr(0, e.size() - 1), back));
  EXPECT_FALSE(pg::decode_release(e + "x", back));
  EXPECT_EQ(r.nonce.size(), 32u);
  EXPECT_NE(pg::make_release(ks.current(), "u", 1, "a", "q", 1, "").nonce, r.nonce);
}

TEST(Release, SingleUseInTheStore) {
  TempDir d;
  auto ks = site_key(d);
  pg::AuditStore a(d / "a.db", false);
  a.add_release("urn:uuid:a", "Q1", 0, "RQ01", "rec", "mac");
  std::string rec, mac;
  EXPECT_FALSE(a.take_release("urn:uuid:b", "q1", rec, mac));
  EXPECT_FALSE(a.take_release("urn:uuid:a", "q2", rec, mac));
  EXPECT_TRUE(a.take_release("urn:uuid:a", "q1", rec, mac));  // queue names are case-insensitive
  EXPECT_EQ(rec, "rec");
  EXPECT_FALSE(a.take_release("urn:uuid:a", "q1", rec, mac));  // spent
  a.add_release("urn:uuid:c", "q1", 0, "RQ01", "r", "m");
  EXPECT_EQ(a.spend_releases("urn:uuid:c"), 1);
  EXPECT_FALSE(a.take_release("urn:uuid:c", "q1", rec, mac));
}

TEST(Audit, MigratesVersionOneStores) {
  TempDir d;
  {
    pg::AuditStore a(d / "a.db", false);
  }
  pgtest::run("sqlite3 '" + (d / "a.db") + "' 'DROP TABLE releases; DROP TABLE pins; ALTER TABLE events DROP COLUMN redacted; PRAGMA user_version=1;'");
  pg::AuditStore a(d / "a.db", false);
  EXPECT_EQ(a.schema_version(), pg::AuditStore::kSchemaVersion);
  std::string rec, mac;
  EXPECT_FALSE(a.take_release("x", "q", rec, mac));
}

TEST(Lockout, CountsFailuresSinceLastSuccessInTheWindow) {
  TempDir d;
  auto ks = site_key(d);
  auto k = ks.current();
  pg::AuditStore a(d / "a.db", false);
  auto ev = [&](const std::string& e, const std::string& u) {
    pg::AuditEvent x;
    x.event = e;
    x.user = u;
    a.append(x, k);
  };
  for (int i = 0; i < 3; i++) ev("auth-fail", "alice");
  ev("auth-fail", "bob");
  EXPECT_EQ(a.recent_failures("alice", time(nullptr) - 60), 3);
  EXPECT_EQ(a.recent_failures("alice", time(nullptr) + 60), 0);  // outside the window
  ev("auth-ok", "alice");
  EXPECT_EQ(a.recent_failures("alice", time(nullptr) - 60), 0);
  EXPECT_EQ(a.recent_failures("bob", time(nullptr) - 60), 1);
}

TEST(Ldap, FilterValuesAreEscapedPerRfc4515) {
  EXPECT_EQ(pg::escape_filter_value("alice"), "alice");
  EXPECT_EQ(pg::escape_filter_value("*"), "\\2A");
  EXPECT_EQ(pg::escape_filter_value(")(uid=*"), "\\29\\28uid=\\2A");
  EXPECT_EQ(pg::escape_filter_value("a\\b"), "a\\5Cb");
  EXPECT_EQ(pg::escape_filter_value(std::string("a\0b", 3)), "a\\00b");
}

TEST(Ldap, DeniesWithoutContactingAnyServerOnBadInput) {
  pg::LdapSettings l;
  l.uris = {"ldap://127.0.0.1:1"};
  EXPECT_FALSE(pg::ldap_authenticate(l, "alice", "").ok);
  EXPECT_FALSE(pg::ldap_authenticate(l, "", "pw").ok);
  EXPECT_FALSE(pg::ldap_authenticate(l, "al\nice", "pw").ok);
  EXPECT_FALSE(pg::ldap_authenticate(l, "alice", std::string("p\0w", 3)).ok);
  auto r = pg::ldap_authenticate(l, "alice", "pw");  // unreachable: denied
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.message.empty());
}

TEST(Pin, Argon2idHashesThatVerifyOnlyTheRightPin) {
  pg::crypto_init();
  EXPECT_THROW(pg::validate_pin("123"), pg::Error);
  EXPECT_THROW(pg::validate_pin("12a4"), pg::Error);
  EXPECT_THROW(pg::validate_pin(std::string(33, '1')), pg::Error);
  EXPECT_NO_THROW(pg::validate_pin("4711"));
  std::string h = pg::pin_hash("4711");
  EXPECT_EQ(h.rfind("$argon2id$", 0), 0u) << h;
  EXPECT_NE(h, pg::pin_hash("4711"));  // salted
  EXPECT_TRUE(pg::pin_verify(h, "4711"));
  EXPECT_FALSE(pg::pin_verify(h, "4712"));
  EXPECT_FALSE(pg::pin_verify(h, ""));
  EXPECT_FALSE(pg::pin_verify("", "4711"));
  EXPECT_FALSE(pg::pin_verify("garbage", "4711"));
}

TEST(Pin, StoredPerUser) {
  TempDir d;
  pg::AuditStore a(d / "a.db", false);
  EXPECT_EQ(a.pin_of("alice"), "");
  a.set_pin("alice", "h1");
  a.set_pin("alice", "h2");
  EXPECT_EQ(a.pin_of("alice"), "h2");
  EXPECT_EQ(a.pin_of("bob"), "");
  EXPECT_TRUE(a.clear_pin("alice"));
  EXPECT_FALSE(a.clear_pin("alice"));
  EXPECT_EQ(a.pin_of("alice"), "");
}

TEST(HiddenTitles, TheRealBackendGetsANeutralJobName) {
  std::vector<std::string> argv = {"printguard", "42", "alice", "Secret merger plan.pdf", "1",
                                   "job-uuid=urn:uuid:1 document-name-supplied=Secret\\ merger\\ plan.pdf "
                                   "job-originating-host-name=ws1 media=a4 note='a b\\\\c'"};
  auto a = pg::neutral_job_args(argv);
  EXPECT_EQ(a[3], "Job 42");
  EXPECT_EQ(a[5].find("Secret"), std::string::npos) << a[5];
  EXPECT_EQ(a[5].find("document-name"), std::string::npos);
  cups_option_t* o = nullptr;
  int n = cupsParseOptions(a[5].c_str(), 0, &o);
  EXPECT_STREQ(cupsGetOption("job-uuid", n, o), "urn:uuid:1");
  EXPECT_STREQ(cupsGetOption("media", n, o), "a4");
  EXPECT_STREQ(cupsGetOption("note", n, o), "a b\\c");
  EXPECT_EQ(cupsGetOption("document-name-supplied", n, o), nullptr);
  cupsFreeOptions(n, o);
  EXPECT_EQ(a[1], "42");
  EXPECT_EQ(a[2], "alice");
}

TEST(DeviceUri, CredentialsNeverReachArgv) {
  EXPECT_EQ(pg::without_credentials("ipp://user:secret@printer.example:631/ipp/print"), "ipp://printer.example:631/ipp/print");
  EXPECT_EQ(pg::without_credentials("smb://dom;u:p@host/share"), "smb://host/share");
  EXPECT_EQ(pg::without_credentials("ipp://printer.example/ipp/print?x=a@b"), "ipp://printer.example/ipp/print?x=a@b");
  EXPECT_EQ(pg::without_credentials("socket://10.0.0.6:9100"), "socket://10.0.0.6:9100");
  EXPECT_EQ(pg::without_credentials("usb://HP/LaserJet?serial=1"), "usb://HP/LaserJet?serial=1");
}

TEST(Pin, NamesAreCaseInsensitiveLikeLdapUids) {
  TempDir d;
  pg::AuditStore a(d / "a.db", false);
  a.set_pin("Alice", "h1");
  EXPECT_EQ(a.pin_of("alice"), "h1");
  a.set_pin("ALICE", "h2");
  EXPECT_EQ(a.pin_of("Alice"), "h2");
  EXPECT_TRUE(a.clear_pin("alice"));
  EXPECT_EQ(a.pin_of("ALICE"), "");
}
