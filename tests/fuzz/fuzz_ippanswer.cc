// fuzz_ippanswer.cc - fuzz target: a printer's answer to the direct ipp:// state
// query (pg::parse_http_response, pg::parse_state_response) and ipp:// URIs
// (pg::split_ipp_uri).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "ippclient.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what, const std::string& input) {
  fprintf(stderr, "fuzz_ippanswer: invariant violated: %s\n  input: %s\n", what.c_str(), pg::printable(input).c_str());
  abort();
}

}  // namespace

// LLVMFuzzerTestOneInput() - read the input as an HTTP answer, its body (or the
// input itself) as an IPP answer, and the input as an ipp:// URI.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  int status = 0;
  std::string body, why;
  if (pg::parse_http_response(input, status, body, why)) {
    if (body.size() > input.size()) fail("HTTP body longer than the answer", input);
    if (status < 0 || status > 999) fail("HTTP status out of range", input);
  } else {
    body = input;
  }
  pg::PrinterState st;
  int ipp_status = -1;
  if (pg::parse_state_response(body, st, ipp_status, why)) {
    if (ipp_status < 0 || ipp_status > 0xFFFF) fail("IPP status out of range", input);
    size_t total = st.message.size();
    for (auto& r : st.reasons) total += r.size();
    if (total > body.size()) fail("more attribute bytes than the answer has", input);
  } else if (why.empty()) {
    fail("refused without a reason", input);
  }
  pg::IppTarget t;
  if (pg::split_ipp_uri(input, t)) {
    if (t.host.empty() || t.port < 1 || t.port > 65535 || t.resource.empty() || t.resource[0] != '/')
      fail("accepted an unusable target", input);
    for (unsigned char c : t.resource)
      if (c <= ' ' || c >= 0x7f) fail("white space or a control character in the resource", input);
  }
  return 0;
}
