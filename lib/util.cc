// util.cc - small shared helpers for printguard.
#include "util.h"


#include <algorithm>
#include <cerrno>
#include <cmath>
#include <charconv>
#include <cstring>
#include <ctime>
#include <system_error>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace pg {

// is_space() - ASCII white space test, independent of locale.
static bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) b++;
  while (e > b && is_space(s[e - 1])) e--;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return r;
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) i++;
    size_t b = i;
    while (i < s.size() && !is_space(s[i])) i++;
    if (i > b) out.emplace_back(s.substr(b, i - b));
  }
  return out;
}

long long parse_int(std::string_view s, long long lo, long long hi, const std::string& what) {
  long long v = 0;
  auto t = trim(s);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size())
    throw Error(what + ": \"" + printable(t) + "\" is not a whole number");
  if (v < lo || v > hi)
    throw Error(what + ": " + t + " is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
  return v;
}

double parse_double(std::string_view s, double lo, double hi, const std::string& what) {
  double v = 0;
  auto t = trim(s);
  auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v, std::chars_format::fixed);
  if (t.empty() || ec != std::errc() || p != t.data() + t.size())
    throw Error(what + ": \"" + printable(t) + "\" is not a number");
  if (!(v >= lo && v <= hi))
    throw Error(what + ": " + t + " is out of range (" + format_number(lo) + " to " + format_number(hi) + ")");
  return v;
}

bool parse_bool(std::string_view s, const std::string& what) {
  auto t = lower(trim(s));
  if (t == "yes" || t == "on" || t == "true") return true;
  if (t == "no" || t == "off" || t == "false") return false;
  throw Error(what + ": expected Yes or No, not \"" + printable(t) + "\"");
}

void append_number(std::string& out, double v) {
  char buf[64];
  if (!(v == v) || v > 1e9 || v < -1e9) v = 0;  // NaN and absurd values never reach PDF
  // Fast path: v in ten-thousandths, unless v * 10000 is (nearly) half-way
  // between two integers, where only to_chars rounds the exact binary value right.
  double scaled = v * 10000.0, frac = std::fabs(scaled - std::trunc(scaled));
  if (std::fabs(frac - 0.5) > 1e-3) {
    long long n = std::llround(scaled);
    if (n == 0) {
      out += '0';
      return;
    }
    char* e = buf + sizeof buf;
    char* p = e;
    unsigned long long a = n < 0 ? 0ULL - static_cast<unsigned long long>(n) : static_cast<unsigned long long>(n);
    int digits = 0;
    bool any = false;  // a non-zero decimal written (trailing zeros are dropped)
    while (digits < 4) {
      int d = static_cast<int>(a % 10);
      a /= 10;
      digits++;
      if (d || any) {
        *--p = static_cast<char>('0' + d);
        any = true;
      }
    }
    if (any) *--p = '.';
    do {
      *--p = static_cast<char>('0' + a % 10);
      a /= 10;
    } while (a);
    if (n < 0) *--p = '-';
    out.append(p, e);
    return;
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 4);
  if (ec != std::errc()) {
    out += '0';
    return;
  }
  if (memchr(buf, '.', static_cast<size_t>(p - buf))) {
    while (p[-1] == '0') p--;
    if (p[-1] == '.') p--;
  }
  if (p - buf == 2 && buf[0] == '-' && buf[1] == '0') {
    out += '0';
    return;
  }
  out.append(buf, p);
}

std::string format_number(double v) {
  std::string r;
  append_number(r, v);
  return r;
}

std::string hex(const unsigned char* p, size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string r;
  r.reserve(2 * n);
  for (size_t i = 0; i < n; i++) {
    r.push_back(digits[p[i] >> 4]);
    r.push_back(digits[p[i] & 15]);
  }
  return r;
}

// hexval() - value of one hex digit or -1.
static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unhex(std::string_view s, std::vector<unsigned char>& out) {
  if (s.size() % 2) return false;
  out.clear();
  for (size_t i = 0; i < s.size(); i += 2) {
    int a = hexval(s[i]), b = hexval(s[i + 1]);
    if (a < 0 || b < 0) return false;
    out.push_back(static_cast<unsigned char>(a * 16 + b));
  }
  return true;
}

// utf8_len() - length of the valid, shortest-form UTF-8 sequence at s[i], or 0
// if invalid (overlong forms, surrogates and values past U+10FFFF included).
static size_t utf8_len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  if (n == 1) return 1;
  auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (n == 2 && c < 0xC2) return 0;                                  // overlong
  if (n == 3 && c == 0xE0 && c1 < 0xA0) return 0;                    // overlong
  if (n == 3 && c == 0xED && c1 >= 0xA0) return 0;                   // UTF-16 surrogate
  if (n == 4 && (c > 0xF4 || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))) return 0;  // overlong, > U+10FFFF
  return n;
}

// hidden_control() - whether the valid sequence at s[i] (length n) is a C1
// control (U+0080-U+009F: U+009B is a terminal's CSI), a line or paragraph
// separator (U+2028, U+2029) or a bidirectional override, embedding or isolate
// (U+202A-U+202E, U+2066-U+2069), which can make text display other than it reads.
static bool hidden_control(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (n == 2) return b(0) == 0xC2 && b(1) < 0xA0;
  if (n != 3 || b(0) != 0xE2) return false;
  if (b(1) == 0x80) return b(2) >= 0xA8 && b(2) <= 0xAE;
  return b(1) == 0x81 && b(2) >= 0xA6 && b(2) <= 0xA9;
}

std::string printable(std::string_view s) {
  std::string r;
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = utf8_len(s, i);
    if (n == 1 && (c < 0x20 || c == 0x7f || c == '\\')) {
      char buf[8];
      snprintf(buf, sizeof buf, c == '\\' ? "\\\\" : "\\x%02x", c);
      r += buf;
      i++;
    } else if (n == 0 || hidden_control(s, i, n)) {
      // Every byte of it shown as \xNN: invalid UTF-8 never reaches the output.
      for (size_t k = 0; k < (n ? n : 1); k++) {
        char buf[8];
        snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(s[i + k]));
        r += buf;
      }
      i += n ? n : 1;
    } else {
      r.append(s.substr(i, n));
      i += n;
    }
  }
  return r;
}

std::string utc_iso8601(long long t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  gmtime_r(&tt, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

long long parse_date(std::string_view s, bool end_of_day) {
  std::string t = trim(s);
  struct tm tm {};
  const char* end = nullptr;
  if (t.size() == 10)
    end = strptime(t.c_str(), "%Y-%m-%d", &tm);
  else
    end = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end)
    throw Error("bad date \"" + printable(t) + "\": use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
  long long v = timegm(&tm);
  if (t.size() == 10 && end_of_day) v += 86399;
  return v;
}

std::string read_file(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open " + path + ": " + strerror(errno));
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      close(fd);
      throw Error("cannot read " + path + ": " + strerror(e));
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > max_bytes) {
      close(fd);
      throw Error(path + " is larger than " + std::to_string(max_bytes) + " bytes");
    }
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

bool canonical_number(const std::string& s) {
  if (s.empty() || s.size() > 19 || (s.size() > 1 && s[0] == '0')) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

void put_field(std::string& out, const std::string& v) {
  uint32_t n = static_cast<uint32_t>(v.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out += v;
}

bool get_field(const std::string& in, size_t& pos, std::string& v) {
  if (pos > in.size() || in.size() - pos < 4) return false;
  uint32_t n = 0;
  for (size_t i = 0; i < 4; i++) n = (n << 8) | static_cast<unsigned char>(in[pos + i]);
  pos += 4;
  if (n > in.size() - pos) return false;
  v = in.substr(pos, n);
  pos += n;
  return true;
}

bool write_all(int fd, const void* p, size_t n) {
  auto c = static_cast<const char*>(p);
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    c += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool reserve_output(int fd, long long bytes) {
  struct stat st;
  if (bytes <= 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return true;
  int flags = fcntl(fd, F_GETFL);
  off_t at = lseek(fd, 0, SEEK_CUR);
  if (flags < 0 || (flags & O_APPEND) || at < 0) return true;
  int rc;
  do rc = fallocate(fd, 0, at, static_cast<off_t>(bytes));
  while (rc != 0 && errno == EINTR);
  return rc == 0 || (errno != ENOSPC && errno != EDQUOT && errno != EFBIG);
}

void ChunkedBuffer::append(const char* p, size_t n) {
  size_ += n;
  while (n > 0) {
    if (chunks_.empty() || chunks_.back().size() >= kChunk) {
      chunks_.emplace_back();
      chunks_.back().reserve(kChunk);
    }
    std::string& c = chunks_.back();
    size_t take = std::min(n, kChunk - c.size());
    c.append(p, take);
    p += take;
    n -= take;
  }
}

std::string ChunkedBuffer::str() const {
  std::string all;
  all.reserve(size_);
  for (auto& c : chunks_) all += c;
  return all;
}

void ChunkedBuffer::append_range(const ChunkedBuffer& other, size_t from, size_t to) {
  size_t at = 0;  // offset of chunk c in other
  for (auto& c : other.chunks_) {
    if (at >= to) break;
    size_t a = std::max(from, at), b = std::min(to, at + c.size());
    if (a < b) append(c.data() + (a - at), b - a);
    at += c.size();
  }
}

void ChunkedBuffer::splice(ChunkedBuffer&& other) {
  for (auto& c : other.chunks_) chunks_.push_back(std::move(c));
  size_ += other.size_;
  other.chunks_.clear();
  other.size_ = 0;
}

bool ChunkedBuffer::write_to(int fd) const {
  for (auto& c : chunks_)
    if (!write_all(fd, c.data(), c.size())) return false;
  return true;
}


}  // namespace pg
