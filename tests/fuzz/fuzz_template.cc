// fuzz_template.cc - fuzz target: watermark templates (pg::validate_template, pg::expand_template).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "template.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_template: invariant violated: %s\n", what.c_str());
  abort();
}

// vars() - fixed values; some hold newlines and template syntax, "uuid" is missing.
const std::map<std::string, std::string>& vars() {
  static const std::map<std::string, std::string> v = {
      {"user", "alice"},   {"date", "2024-05-01 12:00 UTC"}, {"queue", "Office"},
      {"host", "ws1\nws2"}, {"server", "print1"},            {"job", "42"},
      {"title", "${user} $$ ${code}\r\n(x)"}, {"page", "1"},  {"pages", "3"},
      {"code", "ABCD-EFGH-JKMN-PQRS-TVWX-Y"}};
  return v;
}

}  // namespace

// LLVMFuzzerTestOneInput() - validate and expand the input; both must agree on errors.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string tmpl(reinterpret_cast<const char*>(data), size);
  bool valid = true, expanded = true;
  std::string out;
  try {
    pg::validate_template(tmpl);
  } catch (const pg::Error&) {
    valid = false;
  }
  try {
    out = pg::expand_template(tmpl, vars());
  } catch (const pg::Error&) {
    expanded = false;
  }
  if (valid != expanded) fail("validate_template() and expand_template() disagree");
  if (!valid) return 0;
  // Values never bring newlines: the output has exactly the template's own.
  if (std::count(out.begin(), out.end(), '\n') != std::count(tmpl.begin(), tmpl.end(), '\n'))
    fail("a value put a newline into the expansion");
  if (tmpl.find('$') == std::string::npos && out != tmpl) fail("a template without '$' changed");
  return 0;
}
