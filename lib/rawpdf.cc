// rawpdf.cc - indirect objects read straight from a PDF's bytes (plain subset).
#include "rawpdf.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>
#include <unistd.h>

#include <qpdf/Pl_Flate.hh>
#include <qpdf/Pipeline.hh>

namespace pg {

const BlockCache::Block* BlockCache::load(long long off, const std::string& name) {
  Block* oldest = &blocks_[0];
  for (auto& b : blocks_) {
    if (b.start >= 0 && off >= b.start && off < b.start + static_cast<long long>(b.data.size())) {
      b.used = ++clock_;
      return &b;
    }
    if (b.used < oldest->used) oldest = &b;
  }
  if (off < 0 || off >= size_) return nullptr;
  long long start = off - off % kBlock;
  Block& b = *oldest;
  b.data.resize(static_cast<size_t>(kBlock));
  ssize_t n;
  do n = pread(fd_, b.data.data(), b.data.size(), static_cast<off_t>(start));
  while (n < 0 && errno == EINTR);
  if (n < 0) {
    b.start = -1;
    throw std::runtime_error(name + ": read error: " + strerror(errno));
  }
  b.data.resize(static_cast<size_t>(n));
  b.start = start;
  b.used = ++clock_;
  return off < start + n ? &b : nullptr;
}

size_t BlockCache::copy(long long off, size_t n, char* out, const std::string& name) {
  size_t done = 0;
  if (n >= 2 * static_cast<size_t>(kBlock)) {
    // A long read goes straight to the caller, leaving the blocks as they are.
    while (done < n) {
      ssize_t k = pread(fd_, out + done, n - done, static_cast<off_t>(off) + static_cast<off_t>(done));
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) throw std::runtime_error(name + ": read error: " + strerror(errno));
      if (k == 0) break;
      done += static_cast<size_t>(k);
    }
    return done;
  }
  while (done < n) {
    const Block* b = load(off + static_cast<long long>(done), name);
    if (!b) break;
    long long at = off + static_cast<long long>(done) - b->start;
    size_t k = std::min(n - done, b->data.size() - static_cast<size_t>(at));
    memcpy(out + done, b->data.data() + at, k);
    done += k;
  }
  return done;
}

const RawValue* RawObject::find(std::string_view k) const {
  for (auto& e : entries)
    if (key(e) == k) return &e.value;
  return nullptr;
}

bool absent(const RawValue* v) { return !v || v->kind == RawValue::Null; }

bool has_name(const RawObject& o, std::string_view key, std::string_view name) {
  const RawValue* v = o.find(key);
  return v && v->kind == RawValue::Name && o.view(*v) == name;
}

namespace {

constexpr int kMaxDepth = 32;
constexpr size_t kMaxEntries = 512;  // a dictionary's; its keys are compared with each other
constexpr size_t kMaxWindow = 64 << 10;  // the longest object read

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\0'; }
bool is_delimiter(char c) { return c && strchr("()<>[]{}/%", c) != nullptr; }
bool is_regular(char c) { return !is_space(c) && !is_delimiter(c); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Parser - the plain subset's values over [begin, end); every method says
// false for anything outside it (or running past end).
class Parser {
 public:
  Parser(const char* begin, const char* end) : b_(begin), p_(begin), e_(end) {}

  // space() - skip whitespace; false at a comment.
  bool space() {
    while (p_ < e_ && is_space(*p_)) p_++;
    return !(p_ < e_ && *p_ == '%');
  }
  // keyword() - whether the regular characters at the position are exactly kw
  // (then skipped).
  bool keyword(const char* kw) {
    size_t n = strlen(kw);
    if (static_cast<size_t>(e_ - p_) < n || memcmp(p_, kw, n) != 0) return false;
    if (p_ + n < e_ && is_regular(p_[n])) return false;
    p_ += n;
    return true;
  }
  // unsigned_int() - a run of 1 to `digits` decimal digits ending the token.
  bool unsigned_int(long long& v, int digits) {
    const char* s = p_;
    v = 0;
    while (p_ < e_ && is_digit(*p_) && p_ - s < digits) v = v * 10 + (*p_++ - '0');
    return p_ > s && !(p_ < e_ && is_regular(*p_));
  }
  // value() - one value; a dictionary's entries go to *entries if given.
  bool value(RawValue& v, int depth, std::vector<RawEntry>* entries = nullptr);
  // eol() - a stream keyword's end of line: CR LF or LF.
  bool eol() {
    if (p_ < e_ && *p_ == '\n') return ++p_, true;
    if (e_ - p_ >= 2 && p_[0] == '\r' && p_[1] == '\n') return p_ += 2, true;
    return false;
  }
  size_t at() const { return static_cast<size_t>(p_ - b_); }
  // near_end() - whether the position is so near the end that more bytes
  // might have made what failed there succeed (no token is longer than this
  // but a string's or a number's).
  bool near_end() const { return e_ - p_ < 32; }

 private:
  bool number(RawValue& v);
  bool dictionary(RawValue& v, int depth, std::vector<RawEntry>* entries);
  const char* b_;
  const char* p_;
  const char* e_;
};

bool Parser::number(RawValue& v) {
  const char* s = p_;
  while (p_ < e_ && is_regular(*p_)) p_++;
  const char* q = s;
  bool sign = *q == '+' || *q == '-';
  if (sign) q++;
  int before = 0, after = 0, dots = 0;
  for (; q < p_; q++) {
    if (*q == '.')
      dots++;
    else if (is_digit(*q))
      (dots ? after : before)++;
    else
      return false;
  }
  if (dots > 1 || before + after == 0) return false;
  if (dots) {
    v.kind = RawValue::Real;
    return true;
  }
  if (before > 18) return false;
  long long n = 0;
  for (q = s + (sign ? 1 : 0); q < p_; q++) n = n * 10 + (*q - '0');
  v.kind = RawValue::Int;
  v.num = *s == '-' ? -n : n;
  if (sign) return true;
  // N G R: a reference.
  const char* back = p_;
  long long gen;
  if (space() && unsigned_int(gen, 5) && space() && keyword("R")) {
    if (n < 1 || n > 0x7fffffff || gen > 65535) return false;
    v.kind = RawValue::Ref;
    v.gen = static_cast<int>(gen);
    return true;
  }
  p_ = back;
  return true;
}

bool Parser::dictionary(RawValue& v, int depth, std::vector<RawEntry>* entries) {
  std::vector<RawEntry> local;
  auto& es = entries ? *entries : local;
  p_ += 2;
  for (;;) {
    if (!space() || p_ >= e_) return false;
    if (*p_ == '>') {
      if (e_ - p_ < 2 || p_[1] != '>') return false;
      p_ += 2;
      break;
    }
    if (*p_ != '/' || es.size() >= kMaxEntries) return false;
    RawEntry e;
    if (!value(e.value, depth + 1)) return false;
    e.key_pos = e.value.pos;
    e.key_len = e.value.len;
    std::string_view key(b_ + e.key_pos, e.key_len);
    for (auto& o : es)
      if (std::string_view(b_ + o.key_pos, o.key_len) == key) return false;  // qpdf would warn
    if (!space() || !value(e.value, depth + 1)) return false;
    es.push_back(e);
  }
  v.kind = RawValue::Dict;
  return true;
}

bool Parser::value(RawValue& v, int depth, std::vector<RawEntry>* entries) {
  if (p_ >= e_ || depth > kMaxDepth) return false;
  const char* s = p_;
  v = RawValue{};
  v.pos = static_cast<uint32_t>(s - b_);
  char c = *p_;
  if (c == '/') {
    p_++;
    while (p_ < e_ && is_regular(*p_)) {
      if (*p_ == '#') return false;  // an escape: qpdf decodes it
      p_++;
    }
    if (p_ == s + 1) return false;
    v.kind = RawValue::Name;
  } else if (c == '(') {
    int level = 0;
    for (;;) {
      if (p_ >= e_) return false;
      char ch = *p_++;
      if (ch == '\\') {
        if (p_ >= e_) return false;
        p_++;
      } else if (ch == '(') {
        level++;
      } else if (ch == ')' && --level == 0) {
        break;
      }
    }
    v.kind = RawValue::String;
  } else if (c == '<' && e_ - p_ >= 2 && p_[1] == '<') {
    if (!dictionary(v, depth, entries)) return false;
  } else if (c == '<') {
    p_++;
    while (p_ < e_ && *p_ != '>') {
      if (!is_hex(*p_) && !is_space(*p_)) return false;
      p_++;
    }
    if (p_ >= e_) return false;
    p_++;
    v.kind = RawValue::String;
  } else if (c == '[') {
    p_++;
    for (;;) {
      if (!space() || p_ >= e_) return false;
      if (*p_ == ']') {
        p_++;
        break;
      }
      RawValue item;
      if (!value(item, depth + 1)) return false;
    }
    v.kind = RawValue::Array;
  } else if (is_digit(c) || c == '+' || c == '-' || c == '.') {
    if (!number(v)) return false;
  } else if (keyword("true") || keyword("false")) {
    v.kind = RawValue::Bool;
  } else if (keyword("null")) {
    v.kind = RawValue::Null;
  } else {
    return false;  // another keyword, or a delimiter out of place
  }
  v.len = static_cast<uint32_t>(p_ - s);
  return true;
}

// set_object() - out as value v parsed from bytes (positions relative to
// bytes) with its dictionary entries: not a stream (yet).
void set_object(RawObject& out, const char* bytes, RawValue v, std::vector<RawEntry>&& entries) {
  out.text.assign(bytes + v.pos, v.len);
  for (auto& e : entries) {
    e.key_pos -= v.pos;
    e.value.pos -= v.pos;
  }
  v.pos = 0;
  out.value = v;
  out.entries = std::move(entries);
  out.stream = false;
  out.data_offset = out.data_length = 0;
}

}  // namespace

bool raw_numbers(const RawObject& o, const RawValue& v, std::vector<double>& out) {
  out.clear();
  if (v.kind != RawValue::Array || v.len < 2) return false;
  std::string_view t = o.view(v);
  Parser p(t.data() + 1, t.data() + t.size() - 1);  // inside the brackets
  for (;;) {
    if (!p.space()) return false;
    if (p.at() == t.size() - 2) return true;
    RawValue item;
    size_t from = p.at();
    if (out.size() >= 64 || !p.value(item, 1)) return false;
    std::string_view text = t.substr(1 + from, item.len);
    if (item.kind == RawValue::Int) {
      out.push_back(static_cast<double>(item.num));
    } else if (item.kind == RawValue::Real) {
      // PDF reals: [+-] digits [. digits], either side of the point may be empty.
      bool minus = text[0] == '-';
      if (text[0] == '+' || text[0] == '-') text.remove_prefix(1);
      std::string digits(text);
      if (digits[0] == '.') digits.insert(0, "0");
      if (digits.back() == '.') digits += '0';
      double d = 0;
      auto r = std::from_chars(digits.data(), digits.data() + digits.size(), d, std::chars_format::fixed);
      if (r.ec != std::errc() || r.ptr != digits.data() + digits.size()) return false;
      out.push_back(minus ? -d : d);
    } else {
      return false;
    }
  }
}

bool RawReader::read(QPDFObjGen og, RawObject& out) {
  auto it = xref_.find(og);
  if (it != xref_.end() && it->second.getType() == 2)
    return read_in_objstm(og, it->second.getObjStreamNumber(), it->second.getObjStreamIndex(), out);
  if (it == xref_.end() || it->second.getType() != 1) return false;  // a free object
  return read_at(og, it->second.getOffset(), out, false);
}

bool RawReader::read_at(QPDFObjGen og, long long offset, RawObject& out, bool want_int) {
  if (offset < 0 || offset >= cache_.size()) return false;
  // In place in its cached block (no copy); where that ends too soon, from a
  // copy of up to 64 KB.
  const BlockCache::Block* b = cache_.load(offset, name_);
  if (!b) return false;
  size_t at = static_cast<size_t>(offset - b->start), n = b->data.size() - at;
  bool short_of_bytes = false;
  if (parse_at(og, offset, b->data.data() + at, n, out, want_int, &short_of_bytes)) return true;
  if (!short_of_bytes || offset + static_cast<long long>(n) >= cache_.size() || n >= kMaxWindow) return false;
  std::string copy(static_cast<size_t>(std::min<long long>(kMaxWindow, cache_.size() - offset)), '\0');
  copy.resize(cache_.copy(offset, copy.size(), copy.data(), name_));
  return parse_at(og, offset, copy.data(), copy.size(), out, want_int, nullptr);
}

bool RawReader::parse_at(QPDFObjGen og, long long offset, const char* bytes, size_t size, RawObject& out,
                         bool want_int, bool* short_of_bytes) {
  Parser p(bytes, bytes + size);
  // Where the parse fails near the end of the bytes, more of them might help.
  struct Near {
    Parser& p;
    bool* flag;
    bool ok = false;
    ~Near() {
      if (!ok && flag) *flag = p.near_end();
    }
  } near{p, short_of_bytes};
  long long num, gen;
  if (!p.unsigned_int(num, 10) || !p.space() || !p.unsigned_int(gen, 5) || !p.space() || !p.keyword("obj"))
    return false;
  if (num != og.getObj() || gen != og.getGen() || !p.space()) return false;
  RawValue v;
  std::vector<RawEntry> entries;
  if (!p.value(v, 0, &entries) || !p.space()) return false;
  if (want_int && v.kind != RawValue::Int) return false;
  bool stream = false;
  long long data_offset = 0;
  if (p.keyword("endobj")) {
    // A plain object; unless the bytes end right after it short of the file's
    // end (the keyword might go on).
    if (p.at() == size && offset + static_cast<long long>(size) < cache_.size()) return false;
  } else if (v.kind == RawValue::Dict && p.keyword("stream") && p.eol()) {
    stream = true;
    data_offset = offset + static_cast<long long>(p.at());
  } else {
    return false;
  }
  set_object(out, bytes, v, std::move(entries));  // bytes may be a cached block: not read below
  out.stream = stream;
  out.data_offset = data_offset;
  if (!stream) return true;
  const RawValue* length = out.find("/Length");
  long long n = -1;
  if (length && length->kind == RawValue::Int) {
    n = length->num;
  } else if (length && length->kind == RawValue::Ref) {
    QPDFObjGen lo(static_cast<int>(length->num), length->gen);
    auto it = xref_.find(lo);
    RawObject len_obj;
    if (it == xref_.end() || it->second.getType() != 1 || lo == og ||
        !read_at(lo, it->second.getOffset(), len_obj, true))
      return false;
    n = len_obj.value.num;
  }
  if (n < 0 || n > cache_.size() - data_offset) return false;
  out.data_length = n;
  return stream_ends(data_offset + n);
}

bool RawReader::stream_ends(long long end) {
  char buf[64];
  size_t n = cache_.copy(end, sizeof buf, buf, name_);
  Parser p(buf, buf + n);
  // An end of line may come before endstream (CR LF, LF or CR).
  if (!p.eol() && n > 0 && buf[0] == '\r') p = Parser(buf + 1, buf + n);
  return p.keyword("endstream") && p.space() && p.keyword("endobj");
}

namespace {

constexpr size_t kMaxObjStm = 8 << 20;  // decoded bytes
constexpr int kObjStmsKept = 4;

// Pl_Capped - the end of a qpdf pipeline: appends to a string, throwing past a limit.
class Pl_Capped : public Pipeline {
 public:
  Pl_Capped(std::string& out, size_t limit) : Pipeline("printguard capped", nullptr), out_(out), limit_(limit) {}
  void write(unsigned char const* data, size_t len) override {
    if (len > limit_ - out_.size()) throw std::length_error("object stream too large");
    out_.append(reinterpret_cast<const char*>(data), len);
  }
  void finish() override {}

 private:
  std::string& out_;
  size_t limit_;
};

}  // namespace

const RawReader::ObjStm* RawReader::objstm(int num) {
  for (auto& o : objstms_)
    if (o.num == num) {
      o.used = ++objstm_clock_;
      return o.ok ? &o : nullptr;
    }
  if (objstms_.size() < static_cast<size_t>(kObjStmsKept)) objstms_.emplace_back();
  ObjStm* slot = &objstms_[0];
  for (auto& o : objstms_)
    if (o.used < slot->used) slot = &o;
  ObjStm& os = *slot;
  os = ObjStm{};
  os.num = num;
  os.used = ++objstm_clock_;
  RawObject st;
  if (!read(QPDFObjGen(num, 0), st) || !st.stream || !absent(st.find("/DecodeParms")) || !absent(st.find("/F")) ||
      !has_name(st, "/Type", "/ObjStm"))
    return nullptr;
  const RawValue *n = st.find("/N"), *first = st.find("/First"), *filter = st.find("/Filter");
  if (!n || n->kind != RawValue::Int || n->num < 0 || n->num > 100000 || !first || first->kind != RawValue::Int ||
      first->num < 0)
    return nullptr;
  bool flate = !absent(filter);
  if (flate && !(filter->kind == RawValue::Name && st.view(*filter) == "/FlateDecode")) return nullptr;
  std::string encoded;
  if (!read_data(st, encoded)) return nullptr;
  if (flate) {
    bool warned = false;
    try {
      Pl_Capped out(os.data, kMaxObjStm);
      Pl_Flate inflate("object stream", &out, Pl_Flate::a_inflate);
      inflate.setWarnCallback([&warned](char const*, int) { warned = true; });
      inflate.write(reinterpret_cast<const unsigned char*>(encoded.data()), encoded.size());
      inflate.finish();
    } catch (const std::exception&) {
      return nullptr;
    }
    if (warned) return nullptr;
  } else {
    if (encoded.size() > kMaxObjStm) return nullptr;
    os.data = std::move(encoded);
  }
  // The header: N pairs of object number and offset (from /First) before /First.
  size_t start = static_cast<size_t>(first->num);
  if (start > os.data.size()) return nullptr;
  Parser p(os.data.data(), os.data.data() + start);
  for (long long i = 0; i < n->num; i++) {
    long long obj, off;
    if (!p.space() || !p.unsigned_int(obj, 10) || !p.space() || !p.unsigned_int(off, 10)) return nullptr;
    if (off > static_cast<long long>(os.data.size() - start)) return nullptr;
    os.index.emplace_back(obj, start + static_cast<size_t>(off));
  }
  os.ok = true;
  return &os;
}

bool RawReader::read_in_objstm(QPDFObjGen og, int stream, int index, RawObject& out) {
  if (og.getGen() != 0 || index < 0 || stream == og.getObj()) return false;
  const ObjStm* os = objstm(stream);
  if (!os || static_cast<size_t>(index) >= os->index.size() || os->index[static_cast<size_t>(index)].first != og.getObj())
    return false;
  size_t at = os->index[static_cast<size_t>(index)].second;
  size_t end = std::min(os->data.size(), at + kMaxWindow);
  Parser p(os->data.data() + at, os->data.data() + end);
  RawValue v;
  std::vector<RawEntry> entries;
  if (!p.value(v, 0, &entries)) return false;
  set_object(out, os->data.data() + at, v, std::move(entries));
  return true;
}

bool RawReader::read_data(const RawObject& stream, std::string& out) {
  out.resize(static_cast<size_t>(stream.data_length));
  return cache_.copy(stream.data_offset, out.size(), out.data(), name_) == out.size();
}

}  // namespace pg
