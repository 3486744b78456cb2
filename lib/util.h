// util.h - small shared helpers for printguard: errors, strings, files, hex.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace pg {

// Error - an error whose message is meant for the administrator as is.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// trim() - remove leading and trailing ASCII white space.
std::string trim(std::string_view s);

// lower() - ASCII lower-case copy.
std::string lower(std::string_view s);

// split_ws() - split on runs of ASCII white space.
std::vector<std::string> split_ws(std::string_view s);

// parse_int() - checked decimal integer in [lo, hi]; throws Error naming `what`.
long long parse_int(std::string_view s, long long lo, long long hi, const std::string& what);

// parse_double() - checked decimal number in [lo, hi] (classic locale); throws Error.
double parse_double(std::string_view s, double lo, double hi, const std::string& what);

// parse_bool() - yes/no/on/off/true/false; throws Error naming `what`.
bool parse_bool(std::string_view s, const std::string& what);

// format_number() - fixed-point number for PDF content, classic locale, no trailing zeros.
std::string format_number(double v);
// append_number() - format_number(v) appended to out.
void append_number(std::string& out, double v);

// hex() - lower-case hex encoding.
std::string hex(const unsigned char* p, size_t n);
inline std::string hex(const std::vector<unsigned char>& v) { return hex(v.data(), v.size()); }

// unhex() - decode hex; returns false on bad input.
bool unhex(std::string_view s, std::vector<unsigned char>& out);

// printable() - the string with control characters (C0, DEL, C1), invalid or
// overlong UTF-8, line separators and bidi overrides shown as \xNN and '\' as
// "\\", for log lines and terminal output: valid UTF-8, one line, read as shown.
std::string printable(std::string_view s);

// utc_iso8601() - time as "YYYY-MM-DDTHH:MM:SSZ".
std::string utc_iso8601(long long t);

// parse_date() - "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" (UTC) to a time_t; throws Error.
long long parse_date(std::string_view s, bool end_of_day = false);

// read_file() - whole file, with a size limit; throws Error.
std::string read_file(const std::string& path, size_t max_bytes = 64u << 20);

// canonical_number() - whether s is a non-negative decimal as std::to_string
// writes it (no sign, spaces or leading zeros).
bool canonical_number(const std::string& s);

// put_field() - append a 4-byte big-endian length and the bytes (the canonical
// encoding of signed records, releases and audit chain links).
void put_field(std::string& out, const std::string& v);

// get_field() - read one put_field() field at pos, advancing it; false if it
// runs past the end of in.
bool get_field(const std::string& in, size_t& pos, std::string& v);

// write_all() - write every byte to fd, retrying on EINTR; false on error.
bool write_all(int fd, const void* p, size_t n);

// reserve_output() - where fd is a regular file (not opened for appending),
// allocate the next `bytes` bytes from its offset on at once, so that writing
// them allocates no blocks one page at a time. False only when there is no
// room for them (errno ENOSPC, EDQUOT or EFBIG), and then nothing is changed:
// anything else, such as a pipe or a file system without fallocate(), is left
// to the writes.
bool reserve_output(int fd, long long bytes);

// ChunkedBuffer - bytes appended in pieces of about 1 MB, so that growing never
// copies (or touches again) what is already there: for outputs of many MB built
// in memory, where a doubling std::string would touch about three times the
// memory it ends up holding.
class ChunkedBuffer {
 public:
  static constexpr size_t kChunk = 1 << 20;
  // append() - add n bytes at the end.
  void append(const char* p, size_t n);
  ChunkedBuffer& operator+=(std::string_view v) {
    append(v.data(), v.size());
    return *this;
  }
  ChunkedBuffer& operator+=(char c) {
    append(&c, 1);
    return *this;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // chunks() - the pieces, in order; their concatenation is the content.
  const std::vector<std::string>& chunks() const { return chunks_; }
  // str() - the whole content as one string.
  std::string str() const;
  // write_to() - write the whole content to fd (write_all per piece); false on error.
  bool write_to(int fd) const;
  // splice() - add other's content at the end, taking its pieces without copying.
  void splice(ChunkedBuffer&& other);
  // append_range() - add bytes [from, to) of other (within its size) at the end.
  void append_range(const ChunkedBuffer& other, size_t from, size_t to);

 private:
  std::vector<std::string> chunks_;
  size_t size_ = 0;
};

}  // namespace pg
