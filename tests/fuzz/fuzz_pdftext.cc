// fuzz_pdftext.cc - fuzz target: UTF-8 to WinAnsi and PDF string escaping
// (pg::encode_winansi, pg::pdf_literal).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "pdftext.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what, const std::string& input) {
  fprintf(stderr, "fuzz_pdftext: invariant violated: %s\n  input: %s\n", what.c_str(), pg::printable(input).c_str());
  abort();
}

// check_literal() - "(...)" in printable ASCII, every '(' ')' '\' inside escaped.
void check_literal(const std::string& lit, const std::string& input) {
  if (lit.size() < 2 || lit.front() != '(' || lit.back() != ')') fail("literal is not wrapped in ( )", input);
  for (size_t i = 1; i + 1 < lit.size(); i++) {
    auto c = static_cast<unsigned char>(lit[i]);
    if (c < 0x20 || c >= 0x7f) fail("literal holds a byte outside printable ASCII", input);
    if (c == '(' || c == ')') fail("unescaped parenthesis in literal: " + lit, input);
    if (c == '\\') {
      if (i + 2 >= lit.size()) fail("backslash escapes the closing parenthesis: " + lit, input);
      i++;  // the escaped character (or the first of three octal digits)
    }
  }
}

}  // namespace

// LLVMFuzzerTestOneInput() - encode the input for Helvetica and escape it (and the raw bytes).
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::string in(reinterpret_cast<const char*>(data), size);
    pg::WinAnsiText w = pg::encode_winansi(in);
    if (w.bytes.size() > in.size()) fail("more WinAnsi bytes than UTF-8 bytes", in);
    for (unsigned char c : w.bytes)
      if (!(pg::helvetica_width(std::string(1, static_cast<char>(c)), 1000) > 0))
        fail("encode_winansi() produced a byte Helvetica cannot show", in);
    size_t q = 0;
    for (char c : w.bytes) q += c == '?';
    if (w.replaced.size() > q) fail("more replaced characters than '?' in the output", in);
    check_literal(pg::pdf_literal(w.bytes), in);
    check_literal(pg::pdf_literal(in), in);
  } catch (const pg::Error&) {
  }
  return 0;
}
