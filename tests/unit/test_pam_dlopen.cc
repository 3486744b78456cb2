// test_pam_dlopen.cc - the built pam_printguard.so loads with RTLD_NOW (no
// unresolved symbols) and exports pam_sm_authenticate and pam_sm_setcred only.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <security/pam_modules.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

namespace {

// module_path() - the built module under $PG_BUILDDIR (default: the current directory).
std::string module_path() {
  const char* b = getenv("PG_BUILDDIR");
  return std::string(b && *b ? b : ".") + "/pam/pam_printguard.so";
}

// command_output() - stdout of a shell command (test-controlled strings only).
std::string command_output(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = pclose(p);
  return out;
}

}  // namespace

TEST(PamDlopen, LoadsWithEverySymbolResolved) {
  void* h = dlopen(module_path().c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  using Fn = int (*)(pam_handle_t*, int, int, const char**);
  auto auth = reinterpret_cast<Fn>(dlsym(h, "pam_sm_authenticate"));
  auto setcred = reinterpret_cast<Fn>(dlsym(h, "pam_sm_setcred"));
  EXPECT_NE(auth, nullptr);
  ASSERT_NE(setcred, nullptr);
  EXPECT_EQ(setcred(nullptr, 0, 0, nullptr), PAM_SUCCESS);
  // An auth-only module: libpam must not find the other service functions.
  for (const char* s : {"pam_sm_acct_mgmt", "pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok"})
    EXPECT_EQ(dlsym(h, s), nullptr) << s;
  // Library code linked in stays private: pg::badge_key(std::string const&) and
  // pg::pin_login(...) are defined inside but cannot be looked up.
  EXPECT_EQ(dlsym(h, "_ZN2pg9badge_keyERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEE"), nullptr);
  dlclose(h);
}

TEST(PamDlopen, ExportsOnlyPamSmFunctions) {
  int status = 0;
  std::string out = command_output("nm -D --defined-only '" + module_path() + "' 2>&1", status);
  ASSERT_EQ(status, 0) << out;
  std::set<std::string> names;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string addr, type, name;
    if (!(f >> addr >> type >> name)) continue;
    names.insert(name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"pam_sm_authenticate", "pam_sm_setcred"})) << out;
  // ...while the library's functions are in the object (so the map is what hides them).
  std::string all = command_output("nm '" + module_path() + "' 2>&1", status);
  EXPECT_NE(all.find("_ZN2pg9badge_key"), std::string::npos) << "built without symbols? cannot check hiding";
}
