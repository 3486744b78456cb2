// pdftext.cc - WinAnsi encoding, PDF string escaping and Helvetica metrics.
#include "pdftext.h"

#include <array>

#include <cstdio>
#include <unordered_map>

#include "helvetica-metrics.inc"

namespace pg {

// winansi_reverse() - Unicode scalar to WinAnsi byte, built once from the table.
static const std::unordered_map<char32_t, unsigned char>& winansi_reverse() {
  static const auto* m = [] {
    auto* r = new std::unordered_map<char32_t, unsigned char>;
    for (int i = 0; i < 256; i++)
      if (pg_winansi_unicode[i] && !r->count(pg_winansi_unicode[i])) (*r)[pg_winansi_unicode[i]] = static_cast<unsigned char>(i);
    return r;
  }();
  return *m;
}

// next_codepoint() - decode one UTF-8 scalar at s[i], advancing i; U+FFFD if invalid.
static char32_t next_codepoint(const std::string& s, size_t& i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) {
    i++;
    return c;
  }
  size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) {
    i++;
    return 0xFFFD;
  }
  char32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; k++) {
    if ((b(i + k) & 0xC0) != 0x80) {
      i++;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b(i + k) & 0x3F);
  }
  static const char32_t min_for_len[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    i++;
    return 0xFFFD;
  }
  i += n;
  return cp;
}

WinAnsiText encode_winansi(const std::string& utf8) {
  WinAnsiText out;
  const auto& rev = winansi_reverse();
  // ASCII (one byte each, most stamp text): looked up in a table built from
  // the same map, so both paths agree; -1 where the slow path decides.
  static const auto ascii = [&rev] {
    std::array<int, 128> t{};
    for (int c = 0; c < 128; c++) {
      auto it = c >= 0x20 ? rev.find(static_cast<char32_t>(c)) : rev.end();
      t[c] = it != rev.end() && pg_helvetica_widths[it->second] != 0 ? it->second : -1;
    }
    return t;
  }();
  out.bytes.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    // A run of characters WinAnsi codes as ASCII does is copied at once.
    size_t run = i;
    while (run < utf8.size() && static_cast<unsigned char>(utf8[run]) < 0x80 &&
           ascii[static_cast<unsigned char>(utf8[run])] == utf8[run])
      run++;
    if (run > i) {
      out.bytes.append(utf8, i, run - i);
      i = run;
      continue;
    }
    unsigned char c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80 && ascii[c] >= 0) {
      out.bytes.push_back(static_cast<char>(ascii[c]));
      i++;
      continue;
    }
    char32_t cp = next_codepoint(utf8, i);
    if (cp == '\t') cp = ' ';
    auto it = (cp >= 0x20 && cp != 0xFFFD) ? rev.find(cp) : rev.end();
    if (it != rev.end() && pg_helvetica_widths[it->second] != 0) {
      out.bytes.push_back(static_cast<char>(it->second));
    } else {
      out.bytes.push_back('?');
      out.replaced.push_back(cp);
    }
  }
  return out;
}

std::string pdf_literal(const std::string& bytes) {
  std::string out;
  out.reserve(bytes.size() + 2);
  out += '(';
  size_t plain = 0;  // where the run of bytes written as they are began
  for (size_t i = 0; i < bytes.size(); i++) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7F && c != '\\' && c != '(' && c != ')') continue;
    out.append(bytes, plain, i - plain);
    plain = i + 1;
    if (c == '\\' || c == '(' || c == ')') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      char buf[8];
      snprintf(buf, sizeof buf, "\\%03o", c);
      out += buf;
    }
  }
  out.append(bytes, plain, bytes.size() - plain);
  out += ')';
  return out;
}

double helvetica_width(const std::string& bytes, double size) {
  double w = 0;
  for (unsigned char c : bytes) w += pg_helvetica_widths[c];
  return w * size / 1000.0;
}

std::string codepoint_name(char32_t c) {
  char buf[16];
  snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(c));
  return buf;
}

}  // namespace pg
