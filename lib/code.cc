// code.cc - signature codes.
#include "code.h"

namespace pg {

const std::string& code_alphabet() {
  static const std::string a = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  return a;
}

char code_check_char(const std::string& s) {
  // Luhn mod N: catches every single-symbol error and most adjacent swaps.
  const int n = 32;
  int factor = 2, sum = 0;
  for (size_t i = s.size(); i-- > 0;) {
    int v = static_cast<int>(code_alphabet().find(s[i]));
    int addend = factor * v;
    factor = factor == 2 ? 1 : 2;
    sum += addend / n + addend % n;
  }
  return code_alphabet()[(n - sum % n) % n];
}

std::string mac_prefix_symbols(const Mac& mac) {
  std::string out;
  // 10 bytes = 80 bits = 16 symbols of 5 bits, big-endian bit order.
  unsigned bits = 0, acc = 0;
  for (size_t i = 0; i < 10; i++) {
    acc = (acc << 8) | mac[i];
    bits += 8;
    while (bits >= 5) {
      out.push_back(code_alphabet()[(acc >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  return out;
}

// group4() - insert a dash after every four symbols.
static std::string group4(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (i && i % 4 == 0) out.push_back('-');
    out.push_back(s[i]);
  }
  return out;
}

std::string make_code(const std::string& key_id, const Mac& mac) {
  std::string raw = key_id + mac_prefix_symbols(mac);
  raw.push_back(code_check_char(raw));
  return group4(raw);
}

CodeStatus parse_code(const std::string& typed, std::string& canonical) {
  std::string raw;
  if (typed.size() > 200) return CodeStatus::Malformed;
  for (char c : typed) {
    if (c == '-' || c == ' ' || c == '\t') continue;
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (code_alphabet().find(c) == std::string::npos) return CodeStatus::Malformed;
    raw.push_back(c);
  }
  if (raw.size() != 4 + kCodeMacChars + 1) return CodeStatus::Malformed;
  std::string body = raw.substr(0, raw.size() - 1);
  if (code_check_char(body) != raw.back()) return CodeStatus::BadCheck;
  canonical = group4(raw);
  return CodeStatus::Ok;
}

}  // namespace pg
