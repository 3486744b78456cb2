// rawpdf.h - indirect objects read straight from a PDF's bytes, for the ones
// written in a plain subset of the syntax; qpdf reads all others.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <qpdf/QPDFObjGen.hh>
#include <qpdf/QPDFXRefEntry.hh>

namespace pg {

// BlockCache - a file read with pread() in 16 KB blocks, the last few kept:
// reads near each other cost no system call. The fd stays the caller's.
class BlockCache {
 public:
  BlockCache(int fd, long long size) : fd_(fd), size_(size) {}
  struct Block {
    long long start = -1;
    std::string data;
    unsigned long long used = 0;  // when it was last looked at
  };
  // load() - the cached block holding offset off, read in place of the least
  // recently used one if need be; null at or past the end of the file. Throws
  // std::runtime_error on a read error (`name` names the file).
  const Block* load(long long off, const std::string& name);
  // copy() - up to n bytes from off on into out; how many (fewer at the end).
  size_t copy(long long off, size_t n, char* out, const std::string& name);
  long long size() const { return size_; }

 private:
  static constexpr long long kBlock = 16384;
  static constexpr int kBlocks = 4;
  int fd_;
  long long size_;
  Block blocks_[kBlocks];
  unsigned long long clock_ = 0;
};

// RawValue - one value of a raw object: its kind, where its text is in
// RawObject::text, and for numbers and references what they say.
struct RawValue {
  enum Kind : unsigned char { Null, Bool, Int, Real, Name, String, Array, Dict, Ref } kind = Null;
  uint32_t pos = 0, len = 0;
  long long num = 0;  // Int: the value; Ref: the object number
  int gen = 0;        // Ref: the generation
};

// RawEntry - a dictionary entry: the key (a name, with its slash) and value.
struct RawEntry {
  uint32_t key_pos = 0, key_len = 0;
  RawValue value;
};

// RawObject - an indirect object as RawReader::read() found it.
struct RawObject {
  std::string text;               // the object's value, in PDF syntax as in the file
  RawValue value;                 // the whole of text
  std::vector<RawEntry> entries;  // if value is a dictionary: its entries, in file order
  bool stream = false;            // a stream: value is its dictionary, its data is at
  long long data_offset = 0, data_length = 0;  // data_offset in the file, data_length bytes

  // view() - the text of v (or of an entry's key).
  std::string_view view(const RawValue& v) const { return {text.data() + v.pos, v.len}; }
  std::string_view key(const RawEntry& e) const { return {text.data() + e.key_pos, e.key_len}; }
  // find() - the value of key (with its slash) in the dictionary; null if absent.
  const RawValue* find(std::string_view key) const;
};

// absent() - whether a raw entry (as find() gives it) is missing or null: the same to PDF.
bool absent(const RawValue* v);

// has_name() - whether o's dictionary has `name` (with its slash) for key.
bool has_name(const RawObject& o, std::string_view key, std::string_view name);

// raw_numbers() - the items of array v of o, if every one is a direct number
// (at most 64 of them); false otherwise.
bool raw_numbers(const RawObject& o, const RawValue& v, std::vector<double>& out);

// RawReader - reads an indirect object straight from the file when the
// cross-reference table gives its offset and it is written in the plain
// subset of PDF syntax: `N G obj`, exactly at that offset and naming that
// object, then a value of dictionaries, arrays, names without # escapes,
// integers, reals, references, strings, booleans and null (no comments, no
// other keywords, no duplicate keys, at most 32 levels, 512 entries a
// dictionary, 64 KB), then `endobj`;
// or a dictionary then `stream`, an end of line, /Length bytes (a direct
// integer, or a reference to an integer object read the same way), and
// `endstream` and `endobj`. An object in an object stream is read the same
// way (without `N G obj` and `endobj`) when the stream is plain itself, of
// /Type /ObjStm, Flate-compressed or not (no /DecodeParms), and decodes to at
// most 8 MB whose header lists the object where the table says. read() says
// false for anything else, and the caller asks qpdf, which reads every PDF
// (and warns where it must repair). One reader per thread.
class RawReader {
 public:
  RawReader(int fd, long long size, const std::string& name, const std::map<QPDFObjGen, QPDFXRefEntry>& xref)
      : cache_(fd, size), name_(name), xref_(xref) {}
  // read() - object og into out; false if it is not one read this way.
  // Throws std::runtime_error on a read error.
  bool read(QPDFObjGen og, RawObject& out);
  // read_data() - a stream's data (as in the file, still encoded) into out;
  // false if the file is shorter than it says.
  bool read_data(const RawObject& stream, std::string& out);

 private:
  // read_at() - object og at offset (an integer object if want_int).
  bool read_at(QPDFObjGen og, long long offset, RawObject& out, bool want_int);
  // parse_at() - read_at() from the object's first `size` bytes at `bytes`;
  // where it fails, *short_of_bytes (if given) says whether more bytes might help.
  bool parse_at(QPDFObjGen og, long long offset, const char* bytes, size_t size, RawObject& out, bool want_int,
                bool* short_of_bytes);
  // stream_ends() - whether the data at [off, off + len) is followed by endstream and endobj.
  bool stream_ends(long long end);
  // ObjStm - an object stream, decoded: its objects' numbers and offsets in data.
  struct ObjStm {
    int num = 0;
    bool ok = false;
    std::string data;
    std::vector<std::pair<long long, size_t>> index;
    unsigned long long used = 0;
  };
  // objstm() - object stream num, decoded (the last few are kept); null if it is not plain.
  const ObjStm* objstm(int num);
  // read_in_objstm() - object og, the index'th of object stream `stream`.
  bool read_in_objstm(QPDFObjGen og, int stream, int index, RawObject& out);
  std::vector<ObjStm> objstms_;
  unsigned long long objstm_clock_ = 0;
  BlockCache cache_;
  std::string name_;
  const std::map<QPDFObjGen, QPDFXRefEntry>& xref_;
};

}  // namespace pg
