// fuzz_deviceuri.cc - fuzz target: printguard: device URIs (pg::parse_device_uri,
// pg::without_credentials).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what, const std::string& input) {
  fprintf(stderr, "fuzz_deviceuri: invariant violated: %s\n  input: %s\n", what.c_str(), pg::printable(input).c_str());
  abort();
}

// check_stripped() - without_credentials() leaves no user info and is idempotent.
void check_stripped(const std::string& uri, const std::string& input) {
  std::string s = pg::without_credentials(uri);
  if (s.size() > uri.size()) fail("without_credentials() made the URI longer", input);
  if (pg::without_credentials(s) != s) fail("without_credentials() is not idempotent: " + pg::printable(s), input);
  size_t start = s.find("://");
  if (start == std::string::npos) return;
  size_t host = start + 3, end = s.find_first_of("/?#", host);
  if (s.substr(host, end == std::string::npos ? std::string::npos : end - host).find('@') != std::string::npos)
    fail("user info left in the authority: " + pg::printable(s), input);
}

}  // namespace

// LLVMFuzzerTestOneInput() - parse the input as DEVICE_URI and strip credentials from it.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  check_stripped(input, input);
  try {
    pg::InnerDevice d = pg::parse_device_uri(input);
    if (d.findme) {
      if (!d.uri.empty() || !d.scheme.empty()) fail("findme with a device", input);
      return 0;
    }
    if (d.scheme.empty() || d.scheme == "file" || d.scheme == "printguard" || d.scheme == "cups-pdf")
      fail("accepted scheme " + pg::printable(d.scheme), input);
    if (pg::lower(d.uri.substr(0, d.scheme.size() + 1)) != d.scheme + ":") fail("scheme is not the URI's", input);
    for (unsigned char c : d.uri)
      if (c <= ' ' || c == 0x7f) fail("accepted white space or a control character", input);
    check_stripped(d.uri, input);
  } catch (const pg::Error&) {
  }
  return 0;
}
