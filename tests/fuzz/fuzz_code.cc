// fuzz_code.cc - fuzz target: signature codes as people type them (pg::parse_code).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "code.h"
#include "keys.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_code: invariant violated: %s\n", what.c_str());
  abort();
}

// check_canonical() - a canonical code must parse Ok to exactly itself.
void check_canonical(const std::string& canonical) {
  if (canonical.size() != 26) fail("canonical code is not 26 characters: " + pg::printable(canonical));
  std::string again;
  if (pg::parse_code(canonical, again) != pg::CodeStatus::Ok) fail("canonical code does not re-parse: " + canonical);
  if (again != canonical) fail("canonical code changes on re-parse: " + canonical + " -> " + again);
}

}  // namespace

// LLVMFuzzerTestOneInput() - parse the input as a typed code; also build one from its bytes.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::string typed(reinterpret_cast<const char*>(data), size);
    std::string canonical;
    if (pg::parse_code(typed, canonical) == pg::CodeStatus::Ok) check_canonical(canonical);

    // Bytes 0-3 pick a key id, 4-35 a MAC: make_code() must give a code that parses.
    if (size >= 4 + pg::kMacBytes) {
      std::string id;
      for (size_t i = 0; i < 4; i++) id.push_back(pg::code_alphabet()[data[i] & 31]);
      pg::Mac mac;
      memcpy(mac.data(), data + 4, mac.size());
      std::string made = pg::make_code(id, mac), parsed;
      if (pg::parse_code(made, parsed) != pg::CodeStatus::Ok) fail("make_code() output does not parse: " + made);
      if (parsed != made) fail("make_code() output is not canonical: " + made);
      if (pg::lower(made) != pg::lower(parsed)) fail("lower-case code differs");
    }
  } catch (const pg::Error&) {
  }
  return 0;
}
