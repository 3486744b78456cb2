// test_pam_module.cc - pam_printguard.so through libpam: libpamtest under
// pam_wrapper, with service files in a temp dir (never /etc/pam.d) naming the
// built module by absolute path, stacked with pam_matrix. The program runs
// itself again under pam_wrapper (LD_PRELOAD) and cleans up after that run.
#include <gtest/gtest.h>
#include <security/pam_appl.h>
extern "C" {  // libpamtest.h has no C++ guard
#include <libpamtest.h>
}
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "../unit/testutil.h"
#include "audit.h"
#include "keys.h"
#include "pin.h"

#ifndef PG_PAM_WRAPPER
#define PG_PAM_WRAPPER ""
#endif
#ifndef PG_PAM_MATRIX
#define PG_PAM_MATRIX ""
#endif
#ifndef PG_BUILDDIR
#define PG_BUILDDIR "."
#endif

namespace {

// env_or() - an environment variable, or a default when unset or empty.
std::string env_or(const char* name, const std::string& dflt) {
  const char* v = getenv(name);
  return v && *v ? v : dflt;
}

// Paths - the test's temp dir and the modules the service files name.
struct Paths {
  std::string top = env_or("PG_PAM_TEST_DIR", "");
  std::string module = env_or("PG_BUILDDIR", PG_BUILDDIR) + "/pam/pam_printguard.so";
  std::string matrix = env_or("PG_PAM_MATRIX", PG_PAM_MATRIX);
  std::string set_items = matrix.substr(0, matrix.rfind('/') + 1) + "pam_set_items.so";
  std::string site() const { return top + "/site"; }
  std::string conf() const { return site() + "/printguard.conf"; }
  std::string db() const { return site() + "/audit.db"; }
  std::string passdb() const { return top + "/passdb"; }
};

// write_services() - the service files, in services/ under the test dir: pam_wrapper
// reads them once, when it starts, so they exist before the program runs again.
void write_services(const Paths& p) {
  auto service = [&](const std::string& name, const std::string& text) {
    pgtest::write_text(p.top + "/services/" + name, text);
  };
  std::string m = p.module + " config=" + p.conf() + " nodelay";
  std::string matrix = "auth required " + p.matrix + " passdb=" + p.passdb() + "\n";
  service("other", "# no other service\n");
  service("pg_exact", "auth [success=done default=die] " + m + "\n");
  service("pg_stack", "auth [success=done ignore=ignore default=die] " + m + "\n" + matrix);
  service("pg_sufficient", "auth sufficient " + m + "\n" + matrix);
  service("pg_first", "auth required " + p.set_items + "\nauth [success=done default=die] " + m + " use_first_pass\n");
  service("pg_try", "auth required " + p.set_items + "\nauth [success=done default=die] " + m + " try_first_pass\n");
  service("pg_delay", "auth [success=done default=die] " + p.module + " config=" + p.conf() + "\n");
  service("pg_badopt", "auth [success=done default=die] " + m + " bogus\n");
  service("pg_badge", "auth [success=done default=die] " + m + " badge\n");
  service("pg_nobadge", "auth [success=done default=die] " + m + " nobadge\n");
  service("pg_noconf", "auth [success=done default=die] " + p.module + " config=/nonexistent/pg.conf nodelay\n");
}

// Outcome - what one libpamtest run returned and showed.
struct Outcome {
  int rc = -1;        // the last operation's PAM return code
  int setcred = -1;   // pam_setcred's, when asked for
  std::vector<std::string> errors;
};

class PamModule : public testing::Test {
 protected:
  Paths p;

  // SetUp() - a fresh site (key, config, store), passdb and service files.
  void SetUp() override {
    ASSERT_FALSE(p.top.empty()) << "run under pam_wrapper by main()";
    pgtest::run("rm -rf '" + p.site() + "'");
    ASSERT_EQ(mkdir(p.site().c_str(), 0755), 0);
    pg::crypto_init();
    pg::KeyStore(p.site() + "/keys").generate("PAMT", true);
    conf("");
    { pg::AuditStore a(p.db(), false); }
    pgtest::write_text(p.passdb(), "alice:alicepw:pg_stack\nbob:bobpw:pg_stack\ndave:davepw:pg_sufficient\n");
    unsetenv("PAM_AUTHTOK");
    unsetenv("PAM_RHOST");
  }

  // conf() - (re)write printguard.conf: the site, LockoutFailures 3, and extra.
  void conf(const std::string& extra) {
    pgtest::write_text(p.conf(), "KeyDir " + p.site() + "/keys\nAuditDB " + p.db() +
                                     "\nSyslog No\nLockoutFailures 3\n" + extra);
  }

  // set_pin() - what printguard pin set stores.
  void set_pin(const std::string& user, const std::string& pin) {
    pg::AuditStore a(p.db(), false);
    a.set_pin(user, pg::pin_hash(pin));
  }

  // records() - audit records of one event ("" = all), newest first.
  std::vector<pg::AuditEvent> records(const std::string& event) {
    pg::AuditStore a(p.db(), false, false);
    pg::AuditQuery q;
    q.event = event;
    q.limit = 1000;
    return a.query(q);
  }

  // auth() - pam_authenticate (and pam_setcred after it) for user through service,
  // answering hidden prompts with `answers` in order (none left: conversation error).
  Outcome auth(const char* service, const char* user, std::vector<const char*> answers, bool setcred = false) {
    Outcome o;
    answers.push_back(nullptr);
    std::vector<std::vector<char>> bufs(8, std::vector<char>(PAM_MAX_MSG_SIZE, 0));
    std::vector<char*> err;
    for (auto& b : bufs) err.push_back(b.data());
    err.push_back(nullptr);
    std::vector<std::vector<char>> ibufs(8, std::vector<char>(PAM_MAX_MSG_SIZE, 0));
    std::vector<char*> info;
    for (auto& b : ibufs) info.push_back(b.data());
    info.push_back(nullptr);
    struct pamtest_conv_data conv;
    memset(&conv, 0, sizeof conv);
    conv.in_echo_off = answers.data();
    conv.out_err = err.data();
    conv.out_info = info.data();
    std::vector<struct pam_testcase> cases = {pam_test(PAMTEST_AUTHENTICATE, PAM_SUCCESS)};
    if (setcred) cases.push_back(pam_test(PAMTEST_SETCRED, PAM_SUCCESS));
    enum pamtest_err e = _pamtest(service, user, &conv, cases.data(), cases.size(), nullptr);
    if (e != PAMTEST_ERR_OK && e != PAMTEST_ERR_CASE) {
      ADD_FAILURE() << "libpamtest: " << pamtest_strerror(e) << " (service " << service << ")";
      return o;
    }
    o.rc = cases[0].op_rv;
    if (setcred) o.setcred = cases[1].op_rv;
    for (auto& b : bufs)
      if (b[0]) o.errors.push_back(b.data());
    return o;
  }
};

// rc_name() - a PAM return code as its name, for readable failures.
std::string rc_name(int rc) {
  switch (rc) {
    case PAM_SUCCESS: return "PAM_SUCCESS";
    case PAM_AUTH_ERR: return "PAM_AUTH_ERR";
    case PAM_IGNORE: return "PAM_IGNORE";
    case PAM_MAXTRIES: return "PAM_MAXTRIES";
    case PAM_AUTHINFO_UNAVAIL: return "PAM_AUTHINFO_UNAVAIL";
    case PAM_USER_UNKNOWN: return "PAM_USER_UNKNOWN";
    case PAM_SERVICE_ERR: return "PAM_SERVICE_ERR";
    case PAM_PERM_DENIED: return "PAM_PERM_DENIED";
    case PAM_CONV_ERR: return "PAM_CONV_ERR";
    case PAM_AUTHTOK_RECOVERY_ERR: return "PAM_AUTHTOK_RECOVERY_ERR";
    default: return "PAM code " + std::to_string(rc);
  }
}

#define EXPECT_RC(expected, actual) EXPECT_EQ(rc_name(expected), rc_name(actual))

}  // namespace

TEST_F(PamModule, RightPinSucceedsWrongPinIsAuthErr) {
  set_pin("alice", "4711");
  Outcome o = auth("pg_exact", "alice", {"4711"}, true);
  EXPECT_RC(PAM_SUCCESS, o.rc);
  EXPECT_RC(PAM_SUCCESS, o.setcred) << "the module alone decided: its pam_sm_setcred is the answer";
  EXPECT_RC(PAM_AUTH_ERR, auth("pg_exact", "alice", {"0000"}).rc);
  auto ok = records("auth-ok");
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_EQ(ok[0].user, "alice");
  EXPECT_EQ(ok[0].detail, "PIN [PAM service pg_exact]");
  auto fail = records("auth-fail");
  ASSERT_EQ(fail.size(), 1u);
  EXPECT_EQ(fail[0].detail, "wrong PIN [PAM service pg_exact]");
}

TEST_F(PamModule, LockoutAfterFailuresEvenWithTheRightPin) {
  set_pin("alice", "4711");
  for (const char* u : {"alice", "ALICE", "Alice"}) EXPECT_RC(PAM_AUTH_ERR, auth("pg_exact", u, {"0000"}).rc);
  Outcome o = auth("pg_exact", "alice", {"4711"});
  EXPECT_RC(PAM_MAXTRIES, o.rc);
  ASSERT_EQ(o.errors.size(), 1u);
  EXPECT_EQ(o.errors[0], "too many failed attempts; try again later");
  auto errs = records("auth-error");
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].detail, "locked out [PAM service pg_exact]");
  EXPECT_TRUE(records("auth-ok").empty());
}

TEST_F(PamModule, NoPinIsIgnoredAndTheNextModuleDecides) {
  set_pin("alice", "4711");
  // [ignore=ignore default=die]: only PAM_IGNORE lets pam_matrix decide for bob.
  EXPECT_RC(PAM_SUCCESS, auth("pg_stack", "bob", {"bobpw"}).rc);
  EXPECT_RC(PAM_AUTH_ERR, auth("pg_stack", "bob", {"wrong"}).rc);
  // On its own the module decides nothing for bob: libpam's "no decision" code.
  EXPECT_RC(PAM_PERM_DENIED, auth("pg_exact", "bob", {}).rc);
  EXPECT_TRUE(records("").empty()) << "nothing recorded for a user without a PIN";
  // alice has a PIN: the module decides, pam_matrix is never asked.
  EXPECT_RC(PAM_SUCCESS, auth("pg_stack", "alice", {"4711"}).rc);
  EXPECT_RC(PAM_AUTH_ERR, auth("pg_stack", "alice", {"alicepw"}).rc);
}

TEST_F(PamModule, SufficientFallsThroughAndSetcredSucceeds) {
  set_pin("dave", "4711");
  Outcome o = auth("pg_sufficient", "dave", {"4711"}, true);
  EXPECT_RC(PAM_SUCCESS, o.rc);
  EXPECT_RC(PAM_SUCCESS, o.setcred) << "pam_setcred over a frozen chain that pam_printguard ended";
  // A wrong PIN: a PIN failure, then pam_matrix asks for the password.
  EXPECT_RC(PAM_SUCCESS, auth("pg_sufficient", "dave", {"0000", "davepw"}).rc);
  EXPECT_EQ(records("auth-fail").size(), 1u);
}

TEST_F(PamModule, FirstPassOptions) {
  set_pin("alice", "4711");
  setenv("PAM_AUTHTOK", "4711", 1);
  setenv("PAM_RHOST", "ws9.example", 1);
  EXPECT_RC(PAM_SUCCESS, auth("pg_first", "alice", {}).rc) << "use_first_pass must not prompt";
  EXPECT_RC(PAM_SUCCESS, auth("pg_try", "alice", {}).rc) << "try_first_pass uses the token";
  auto ok = records("auth-ok");
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].host, "ws9.example");
  setenv("PAM_AUTHTOK", "0000", 1);
  EXPECT_RC(PAM_AUTH_ERR, auth("pg_first", "alice", {"4711"}).rc) << "use_first_pass never prompts";
  unsetenv("PAM_AUTHTOK");
  EXPECT_RC(PAM_AUTHTOK_RECOVERY_ERR, auth("pg_first", "alice", {"4711"}).rc);
  EXPECT_RC(PAM_SUCCESS, auth("pg_try", "alice", {"4711"}).rc) << "try_first_pass prompts without a token";
}

TEST_F(PamModule, UnusableConfigOrStoreIsAuthinfoUnavail) {
  set_pin("alice", "4711");
  EXPECT_RC(PAM_AUTHINFO_UNAVAIL, auth("pg_noconf", "alice", {"4711"}).rc);
  conf("NoSuchDirective x\n");
  EXPECT_RC(PAM_AUTHINFO_UNAVAIL, auth("pg_exact", "alice", {"4711"}).rc);
  // Fail closed in a stack too: bob's right password does not get past it.
  EXPECT_RC(PAM_AUTHINFO_UNAVAIL, auth("pg_stack", "bob", {"bobpw"}).rc);
  conf("");
  ASSERT_EQ(unlink(p.db().c_str()), 0);
  EXPECT_RC(PAM_AUTHINFO_UNAVAIL, auth("pg_exact", "alice", {"4711"}).rc);
  struct stat st;
  EXPECT_NE(stat(p.db().c_str(), &st), 0) << "the module must not create a store";
  EXPECT_RC(PAM_SERVICE_ERR, auth("pg_badopt", "alice", {"4711"}).rc) << "unknown module option";
}

TEST_F(PamModule, BadgeNeedsTheDirectoryNoBadgeTakesDigitsAsAName) {
  set_pin("1004", "4711");
  // No LDAPURI: a badge cannot be mapped to a user (the integration test has slapd).
  EXPECT_RC(PAM_AUTHINFO_UNAVAIL, auth("pg_exact", "1004", {"4711"}).rc);
  EXPECT_RC(PAM_AUTHINFO_UNAVAIL, auth("pg_badge", "alice", {"4711"}).rc);
  EXPECT_RC(PAM_SUCCESS, auth("pg_nobadge", "1004", {"4711"}).rc);
  auto errs = records("auth-error");
  ASSERT_EQ(errs.size(), 2u);
  EXPECT_EQ(errs[1].user, "badge:1004");
  EXPECT_NE(errs[1].detail.find("no LDAPURI configured"), std::string::npos) << errs[1].detail;
}

TEST_F(PamModule, FailureIsDelayed) {
  set_pin("alice", "4711");
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_RC(PAM_AUTH_ERR, auth("pg_delay", "alice", {"0000"}).rc);
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // libpam sleeps base * (1 + x), x in [-0.5, 0.5) (pam_delay.c: "up to +/- 50%").
  EXPECT_GE(s, 1.0) << "pam_fail_delay asks for 2 s (libpam sleeps between 1 and 3 s)";
}

// main() - run the tests under pam_wrapper: set the environment, run this
// program again, and remove the temp dir when it is done.
int main(int argc, char** argv) {
  if (env_or("PAM_WRAPPER", "") == "1" && !env_or("PG_PAM_TEST_DIR", "").empty()) {
    testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
  }
  std::string wrapper = env_or("PG_PAM_WRAPPER", PG_PAM_WRAPPER), matrix = env_or("PG_PAM_MATRIX", PG_PAM_MATRIX);
  if (wrapper.empty() || access(wrapper.c_str(), R_OK) != 0 || access(matrix.c_str(), R_OK) != 0) {
    printf("libpam_wrapper.so or pam_matrix.so not found (\"%s\", \"%s\"): install libpam-wrapper; skipped\n",
           wrapper.c_str(), matrix.c_str());
    return 77;
  }
  char tmpl[] = "/tmp/pgtest-pam-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  std::string top = tmpl;
  chmod(top.c_str(), 0755);
  mkdir((top + "/services").c_str(), 0755);
  setenv("PG_PAM_TEST_DIR", top.c_str(), 1);
  setenv("PG_PAM_MATRIX", matrix.c_str(), 1);
  write_services(Paths());
  setenv("PAM_WRAPPER", "1", 1);
  setenv("PAM_WRAPPER_SERVICE_DIR", (top + "/services").c_str(), 1);
  // RTLD_DEEPBIND does not mix with the sanitizers (pam_wrapper 1.1.4 reads
  // the variable as UID_WRAPPER_..., later versions as PAM_WRAPPER_...); the
  // ASan runtime must also accept pam_wrapper ahead of it in LD_PRELOAD.
  setenv("PAM_WRAPPER_DISABLE_DEEPBIND", "1", 1);
  setenv("UID_WRAPPER_DISABLE_DEEPBIND", "1", 1);
  std::string preload = env_or("LD_PRELOAD", "");
  setenv("LD_PRELOAD", (wrapper + (preload.empty() ? "" : " " + preload)).c_str(), 1);
  std::string asan = env_or("ASAN_OPTIONS", "");
  setenv("ASAN_OPTIONS", (asan + (asan.empty() ? "" : ":") + "verify_asan_link_order=0").c_str(), 1);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  int st = 0;
  while (pid > 0 && waitpid(pid, &st, 0) < 0) {
  }
  pgtest::run("rm -rf '" + top + "'");
  return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
