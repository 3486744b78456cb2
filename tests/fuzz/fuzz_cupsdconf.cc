// fuzz_cupsdconf.cc - fuzz target: cupsd.conf as printguard check reads it
// (pg::parse_cupsd_conf, pg::policy_impersonation).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "check.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_cupsdconf: invariant violated: %s\n", what.c_str());
  abort();
}

// check_weak() - a policy's weak operations are distinct names from the sensitive seven.
void check_weak(const pg::CupsdConf& c, const std::string& policy) {
  static const std::set<std::string> sensitive = {"release-job", "cups-move-job", "set-job-attributes", "restart-job",
                                                  "hold-job",    "resume-job",    "reprocess-job"};
  auto weak = pg::policy_impersonation(c, policy);
  std::set<std::string> seen;
  for (auto& op : weak) {
    if (!sensitive.count(op)) fail("unexpected operation " + op);
    if (!seen.insert(op).second) fail("operation listed twice: " + op);
  }
  if (!c.policies.count(pg::lower(policy)) && weak.size() != sensitive.size())
    fail("a missing policy " + pg::printable(policy) + " must count as fully weak");
}

}  // namespace

// LLVMFuzzerTestOneInput() - parse the input as cupsd.conf and judge every policy in it.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    pg::CupsdConf c = pg::parse_cupsd_conf(std::string(reinterpret_cast<const char*>(data), size));
    for (auto& [k, v] : c.directives)
      if (k != pg::lower(k)) fail("directive name not lower case: " + pg::printable(k));
    check_weak(c, "default");
    check_weak(c, "no-such-policy");
    auto it = c.directives.find("defaultpolicy");
    if (it != c.directives.end()) check_weak(c, it->second);
    for (auto& [name, p] : c.policies) {
      if (name != pg::lower(name)) fail("policy name not lower case: " + pg::printable(name));
      check_weak(c, name);
    }
  } catch (const pg::Error&) {
  }
  return 0;
}
