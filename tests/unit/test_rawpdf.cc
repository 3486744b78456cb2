// test_rawpdf.cc - the raw reader: the plain subset read as qpdf reads it, the rest left to qpdf.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <random>
#include <string>
#include <vector>

#include <qpdf/QPDF.hh>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/Pl_Flate.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include "rawpdf.h"
#include "testutil.h"

namespace {

using pgtest::TempDir;

// File - objects (bodies numbered from 1, each written "N 0 obj\n" body "\nendobj\n"
// unless it begins with '!': then as given) in a PDF with a classic xref
// table, opened by qpdf for its table and by a RawReader.
struct File {
  std::string path, bytes;
  std::vector<size_t> offsets;
  QPDF pdf;
  std::map<QPDFObjGen, QPDFXRefEntry> xref;
  int fd = -1;
  std::unique_ptr<pg::RawReader> raw;

  File(const TempDir& d, const std::vector<std::string>& objs, const std::string& name = "f.pdf") : path(d / name) {
    bytes = "%PDF-1.4\n";
    for (size_t i = 0; i < objs.size(); i++) {
      offsets.push_back(bytes.size());
      if (!objs[i].empty() && objs[i][0] == '!')
        bytes += objs[i].substr(1);
      else
        bytes += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
    }
    size_t x = bytes.size();
    bytes += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
    char line[32];
    for (size_t o : offsets) {
      snprintf(line, sizeof line, "%010zu 00000 n \n", o);
      bytes += line;
    }
    bytes += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
             std::to_string(x) + "\n%%EOF\n";
    pgtest::write_text(path, bytes);
    pdf.setSuppressWarnings(true);
    pdf.processFile(path.c_str());
    xref = pdf.getXRefTable();
    fd = open(path.c_str(), O_RDONLY);
    raw = std::make_unique<pg::RawReader>(fd, static_cast<long long>(bytes.size()), path, xref);
  }
  ~File() { close(fd); }
  // read() - object num (generation 0) by the raw reader.
  bool read(int num, pg::RawObject& o) { return raw->read(QPDFObjGen(num, 0), o); }
};

TEST(RawPdf, APlainPageIsReadAsWrittenEntryByEntry) {
  TempDir d;
  File f(d, {"<< /Type /Catalog /Pages 2 0 R >>",
             "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
             "<</Type/Page/Parent 2 0 R/MediaBox[0 0 612.5 -792]/Rotate -90/Resources<</Font<</F1 5 0 R>>>>"
             "/Contents 4 0 R /Annots [] /T (a \\) (b) c) /H <41 42> /B true /N null>>"});
  pg::RawObject o;
  ASSERT_TRUE(f.read(3, o));
  EXPECT_FALSE(o.stream);
  ASSERT_EQ(o.value.kind, pg::RawValue::Dict);
  std::vector<std::string> keys;
  for (auto& e : o.entries) keys.emplace_back(o.key(e));
  EXPECT_EQ(keys, (std::vector<std::string>{"/Type", "/Parent", "/MediaBox", "/Rotate", "/Resources", "/Contents",
                                            "/Annots", "/T", "/H", "/B", "/N"}));
  EXPECT_EQ(o.view(*o.find("/Type")), "/Page");
  const pg::RawValue* parent = o.find("/Parent");
  ASSERT_EQ(parent->kind, pg::RawValue::Ref);
  EXPECT_EQ(parent->num, 2);
  EXPECT_EQ(parent->gen, 0);
  EXPECT_EQ(o.view(*parent), "2 0 R");
  EXPECT_EQ(o.find("/Rotate")->kind, pg::RawValue::Int);
  EXPECT_EQ(o.find("/Rotate")->num, -90);
  EXPECT_EQ(o.view(*o.find("/Resources")), "<</Font<</F1 5 0 R>>>>");
  EXPECT_EQ(o.view(*o.find("/T")), "(a \\) (b) c)");
  EXPECT_EQ(o.find("/T")->kind, pg::RawValue::String);
  EXPECT_EQ(o.find("/H")->kind, pg::RawValue::String);
  EXPECT_EQ(o.find("/B")->kind, pg::RawValue::Bool);
  EXPECT_EQ(o.find("/N")->kind, pg::RawValue::Null);
  EXPECT_EQ(o.find("/Missing"), nullptr);
  std::vector<double> box;
  ASSERT_TRUE(pg::raw_numbers(o, *o.find("/MediaBox"), box));
  EXPECT_EQ(box, (std::vector<double>{0, 0, 612.5, -792}));
  EXPECT_FALSE(pg::raw_numbers(o, *o.find("/Parent"), box)) << "not an array";
}

TEST(RawPdf, ArraysOfNumbersAreReadLikeQpdfReadsThem) {
  TempDir d;
  File f(d, {"<< /A [1 -2 +3 .5 -.25 4. 0.000 1234567.125] /R [1 0 R 2] /N [/x 1] /E [] >>"});
  pg::RawObject o;
  ASSERT_TRUE(f.read(1, o));
  std::vector<double> n;
  ASSERT_TRUE(pg::raw_numbers(o, *o.find("/A"), n));
  auto q = f.pdf.getObject(1, 0).getKey("/A");
  ASSERT_EQ(n.size(), static_cast<size_t>(q.getArrayNItems()));
  for (size_t i = 0; i < n.size(); i++) EXPECT_DOUBLE_EQ(n[i], q.getArrayItem(static_cast<int>(i)).getNumericValue()) << i;
  EXPECT_FALSE(pg::raw_numbers(o, *o.find("/R"), n)) << "a reference is qpdf's to read";
  EXPECT_FALSE(pg::raw_numbers(o, *o.find("/N"), n));
  ASSERT_TRUE(pg::raw_numbers(o, *o.find("/E"), n));
  EXPECT_TRUE(n.empty());
}

TEST(RawPdf, AStreamsDataIsWhereItsLengthSaysAndEndsWithEndstream) {
  TempDir d;
  std::string data = "BT /F1 12 Tf (endstream) Tj ET";
  File f(d, {"<< /Length " + std::to_string(data.size()) + " /Filter /FlateDecode >>\nstream\n" + data +
                 "\nendstream",
             "<< /Length 3 0 R >>\nstream\r\n" + data + "endstream",  // no end of line before endstream
             std::to_string(data.size()),
             "<< /Length 7 >>\nstream\n" + data + "\nendstream",  // too short: endstream is not there
             "<< /Length 4 0 R >>\nstream\n" + data + "\nendstream",  // its length is not an integer object
             "<< /Length " + std::to_string(data.size()) + " >>\nstream\r" + data + "\nendstream",  // CR alone
             "<< /Length 99999 >>\nstream\n" + data + "\nendstream"});  // past the end of the file
  pg::RawObject o;
  std::string got;
  ASSERT_TRUE(f.read(1, o));
  EXPECT_TRUE(o.stream);
  EXPECT_EQ(o.view(*o.find("/Filter")), "/FlateDecode");
  EXPECT_EQ(o.data_offset, static_cast<long long>(f.bytes.find(data)));
  ASSERT_TRUE(f.raw->read_data(o, got));
  EXPECT_EQ(got, data);
  ASSERT_TRUE(f.read(2, o));
  ASSERT_TRUE(f.raw->read_data(o, got));
  EXPECT_EQ(got, data);
  EXPECT_TRUE(f.read(3, o));
  EXPECT_EQ(o.value.kind, pg::RawValue::Int);
  for (int n : {4, 5, 6, 7}) EXPECT_FALSE(f.read(n, o)) << "object " << n;
}

TEST(RawPdf, AnythingOutsideThePlainSubsetIsLeftToQpdf) {
  TempDir d;
  std::string deep = "<< /D " + std::string(40, '[') + std::string(40, ']') + " >>", wide = "<<";
  for (int k = 0; k < 513; k++) wide += " /K" + std::to_string(k) + " 1";
  wide += " >>";
  File f(d, {"<< /A 1 % a comment\n >>",
             "<< /Name#20Escaped 1 >>",
             "<< /A 1 /A 2 >>",
             "<< /A 1 /B << /C 1 /C 2 >> >>",
             "<< /A someword >>",
             "<< /A 0 0 R >>",
             "<< /A 1 70000 R >>",
             "<< /A 1 /B >>",
             deep,
             "!6 0 obj\n<< /A 1 >>\nendobj\n",                 // the table says 10, the file says 6
             "!\n11 0 obj\n<< /A 1 >>\nendobj\n",              // the offset is before the object
             "!12 0 obj\n<< /A 1 >>\n",                        // no endobj
             "!13 0 obj\n<< /A (unterminated >>\nendobj\n",
             "<< /A { } >>",
             "<< /A 12345678901234567890 >>",
             "<< /A 1.2.3 >>",
             "<< /A <4G> >>",
             "<< /A / >>",
             wide});
  pg::RawObject o;
  for (int n = 1; n <= 19; n++) EXPECT_FALSE(f.read(n, o)) << "object " << n;
  EXPECT_FALSE(f.raw->read(QPDFObjGen(20, 0), o)) << "not in the table";
  EXPECT_FALSE(f.raw->read(QPDFObjGen(1, 1), o)) << "another generation";
}

TEST(RawPdf, AKeywordCutByABlocksEndIsReadOnInTheNextBlock) {
  // Object 2's "endobj" ends exactly where the first 16 KB block does, and
  // goes on as "endobjx" in the next: not the keyword.
  TempDir d;
  std::string head = "%PDF-1.4\n";
  std::string one = "1 0 obj\n<< /Type /Catalog >>\nendobj\n";
  std::string two_head = "2 0 obj\n<< /Pad (", two_tail = ") >>\nendobj";
  size_t pad = 16384 - head.size() - one.size() - two_head.size() - two_tail.size();
  std::string two = two_head + std::string(pad, 'p') + two_tail;
  File f(d, {"!" + one, "!" + two + "x\n", "<< /A 1 >>"});
  ASSERT_EQ(f.offsets[1] + two.size(), 16384u);
  pg::RawObject o;
  EXPECT_TRUE(f.read(1, o));
  EXPECT_FALSE(f.read(2, o));
  EXPECT_TRUE(f.read(3, o));
}

TEST(RawPdf, LongObjectsAndBlockEdgesAreReadWhole) {
  // An object of 20 KB (past the first 4 KB read, across 16 KB blocks), one
  // of 70 KB (past what is read at all: qpdf's), and objects on either side of
  // a block edge.
  TempDir d;
  std::vector<std::string> objs;
  std::string big = "<< /A [";
  while (big.size() < 20000) big += " 1 2 3 4 5";
  big += "] >>";
  objs.push_back(big);
  std::string huge = "<< /A (" + std::string(70000, 'x') + ") >>";
  objs.push_back(huge);
  for (int i = 0; i < 400; i++) objs.push_back("<< /Type /Page /Index " + std::to_string(i) + " /Pad (" +
                                               std::string(static_cast<size_t>(i % 97), 'p') + ") >>");
  File f(d, objs);
  pg::RawObject o;
  ASSERT_TRUE(f.read(1, o));
  EXPECT_EQ(o.text, big);
  EXPECT_FALSE(f.read(2, o));
  for (int i = 0; i < 400; i++) {
    ASSERT_TRUE(f.read(3 + i, o)) << i;
    EXPECT_EQ(o.find("/Index")->num, i);
  }
}

TEST(RawPdf, ObjectsInObjectStreamsAreReadAsQpdfReadsThem) {
  // The fixture qpdf wrote with object streams: every compressed object is
  // read, and is what qpdf reads.
  QPDF pdf;
  std::string path = pgtest::pdfgen_dir() + "/objstm.pdf";
  pdf.processFile(path.c_str());
  auto xref = pdf.getXRefTable();
  int fd = open(path.c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  pg::RawReader raw(fd, static_cast<long long>(pgtest::slurp(path).size()), path, xref);
  int compressed = 0;
  for (auto& [og, entry] : xref) {
    if (entry.getType() != 2) continue;
    compressed++;
    pg::RawObject o;
    ASSERT_TRUE(raw.read(og, o)) << og.unparse(' ');
    auto q = pdf.getObject(og);
    EXPECT_EQ(QPDFObjectHandle::parse(&pdf, "[" + o.text + "]").getArrayItem(0).unparse(), q.unparseResolved()) << o.text;
  }
  EXPECT_GE(compressed, 5);
  close(fd);
}

// ObjStmFile - a file of given bytes and a cross-reference map made by hand.
struct ObjStmFile {
  std::string path;
  int fd = -1;
  std::map<QPDFObjGen, QPDFXRefEntry> xref;
  std::unique_ptr<pg::RawReader> raw;
  ObjStmFile(const TempDir& d, const std::string& bytes) : path(d / "h.pdf") {
    pgtest::write_text(path, bytes);
    fd = open(path.c_str(), O_RDONLY);
  }
  ~ObjStmFile() { close(fd); }
  pg::RawReader& reader(long long size) {
    raw = std::make_unique<pg::RawReader>(fd, size, path, xref);
    return *raw;
  }
};

// deflated() - data compressed by qpdf's Flate.
std::string deflated(const std::string& data) {
  Pl_Buffer buf("deflated");
  Pl_Flate flate("deflate", &buf, Pl_Flate::a_deflate);
  flate.write(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  flate.finish();
  auto b = buf.getBufferSharedPointer();
  return std::string(reinterpret_cast<const char*>(b->getBuffer()), b->getSize());
}

TEST(RawPdf, AnObjectStreamThatIsNotPlainIsLeftToQpdf) {
  // Object streams 1 to 7 each hold objects 20 and 21 ("<< /A 1 >>" and
  // "[2]"), each stream otherwise plain but for one thing (1 and 2 are right).
  TempDir d;
  std::string objs = "20 0 21 11 << /A 1 >> [2]";
  std::string z = deflated(objs), bad = z;
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x55);
  std::vector<std::string> streams = {
      "<< /Type /ObjStm /N 2 /First 11 /Length " + std::to_string(objs.size()) + " >>\nstream\n" + objs,
      "<< /Type /ObjStm /N 2 /First 11 /Filter /FlateDecode /Length " + std::to_string(z.size()) + " >>\nstream\n" + z,
      "<< /Type /ObjStm /N 2 /First 11 /Filter /FlateDecode /Length " + std::to_string(bad.size()) + " >>\nstream\n" +
          bad,
      "<< /Type /ObjStm /N 2 /First 11 /Filter /FlateDecode /DecodeParms << /Predictor 1 >> /Length " +
          std::to_string(z.size()) + " >>\nstream\n" + z,
      "<< /N 2 /First 11 /Length " + std::to_string(objs.size()) + " >>\nstream\n" + objs,
      "<< /Type /ObjStm /N 3 /First 11 /Length " + std::to_string(objs.size()) + " >>\nstream\n" + objs,
      "<< /Type /ObjStm /N 2 /First 11 /Filter /LZWDecode /Length " + std::to_string(objs.size()) + " >>\nstream\n" +
          objs};
  std::string bytes = "%PDF-1.5\n";
  std::vector<size_t> at;
  for (size_t i = 0; i < streams.size(); i++) {
    at.push_back(bytes.size());
    bytes += std::to_string(i + 1) + " 0 obj\n" + streams[i] + "\nendstream\nendobj\n";
  }
  ObjStmFile f(d, bytes);
  for (size_t i = 0; i < streams.size(); i++)
    f.xref[QPDFObjGen(static_cast<int>(i) + 1, 0)] = QPDFXRefEntry(1, static_cast<qpdf_offset_t>(at[i]), 0);
  for (int stream = 1; stream <= 7; stream++) {
    f.xref[QPDFObjGen(20, 0)] = QPDFXRefEntry(2, stream, 0);
    f.xref[QPDFObjGen(21, 0)] = QPDFXRefEntry(2, stream, 1);
    auto& raw = f.reader(static_cast<long long>(bytes.size()));
    pg::RawObject o;
    bool plain = stream <= 2;
    EXPECT_EQ(raw.read(QPDFObjGen(20, 0), o), plain) << "stream " << stream;
    if (plain) {
      EXPECT_EQ(o.text, "<< /A 1 >>");
      ASSERT_TRUE(raw.read(QPDFObjGen(21, 0), o));
      EXPECT_EQ(o.text, "[2]");
      // The table's index must list the object: 21 is not the first.
      f.xref[QPDFObjGen(21, 0)] = QPDFXRefEntry(2, stream, 0);
      EXPECT_FALSE(raw.read(QPDFObjGen(21, 0), o));
      f.xref[QPDFObjGen(21, 0)] = QPDFXRefEntry(2, stream, 5);
      EXPECT_FALSE(raw.read(QPDFObjGen(21, 0), o));
    }
  }
}

// random_value() - a random value of the plain subset, at most `depth` deep.
std::string random_value(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  const char* ws[] = {" ", "\n", "\r\n", "  ", "\t", ""};
  auto space = [&] { return std::string(ws[pick(5)]); };
  switch (pick(depth > 0 ? 10 : 7)) {
    case 0:
      return std::to_string(static_cast<long long>(rng()) - 2000000000LL);
    case 1:
      return (pick(2) ? "-" : "") + std::to_string(pick(1000)) + "." + std::to_string(pick(1000));
    case 2:
      return "/N" + std::to_string(pick(50)) + (pick(2) ? "a.b-c_d" : "");
    case 3: {
      static const char* parts[] = {"ab", "\\)", "\\(", "(x)", "\\\\", "c d", "\n"};
      std::string s = "(";
      for (int i = pick(4); i > 0; i--) s += parts[pick(7)];
      return s + ")";
    }
    case 4:
      return "<" + std::string("4a 6F0") .substr(0, static_cast<size_t>(pick(7))) + ">";
    case 5:
      return pick(3) == 0 ? "null" : pick(2) ? "true" : "false";
    case 6:
      return std::to_string(1 + pick(3)) + " 0 R";
    case 7:
    case 8: {
      std::string a = "[" + space();
      for (int i = pick(5); i > 0; i--) a += random_value(rng, depth - 1) + " ";
      return a + "]";
    }
    default: {
      std::string dict = "<<" + space();
      for (int i = pick(5); i > 0; i--)
        dict += "/K" + std::to_string(i) + space() + random_value(rng, depth - 1) + space();
      return dict + ">>";
    }
  }
}

TEST(RawPdf, RandomPlainObjectsReadAsQpdfReadsThem) {
  // Random dictionaries of the plain subset: each entry the raw reader finds,
  // parsed back by qpdf, is what qpdf read from the file.
  std::mt19937 rng(20261203);
  TempDir d;
  std::vector<std::string> objs = {"<< >>", "[1 2]", "7"};
  for (int i = 0; i < 300; i++) {
    std::string dict = "<<";
    for (int k = 0; k < 1 + static_cast<int>(rng() % 6); k++) dict += " /E" + std::to_string(k) + " " + random_value(rng, 3);
    objs.push_back(dict + " >>");
  }
  File f(d, objs);
  int compared = 0;
  for (int n = 4; n <= static_cast<int>(objs.size()); n++) {
    pg::RawObject o;
    ASSERT_TRUE(f.read(n, o)) << objs[static_cast<size_t>(n - 1)];
    auto q = f.pdf.getObject(n, 0);
    ASSERT_TRUE(q.isDictionary());
    for (auto& e : o.entries) {
      std::string key(o.key(e)), text(o.view(e.value));
      std::string parsed;
      try {
        // In an array: qpdf reads a reference only as part of another object.
        parsed = QPDFObjectHandle::parse(&f.pdf, "[" + text + "]").getArrayItem(0).unparse();
      } catch (const std::exception& ex) {
        ADD_FAILURE() << ex.what() << ": [" << text << "] in " << objs[static_cast<size_t>(n - 1)];
        continue;
      }
      EXPECT_EQ(parsed, q.getKey(key).unparse()) << key << " in " << objs[static_cast<size_t>(n - 1)];
      compared++;
    }
    EXPECT_EQ(o.entries.size(), q.getDictAsMap().size()) << objs[static_cast<size_t>(n - 1)];
  }
  EXPECT_GT(compared, 600);
  EXPECT_FALSE(f.pdf.anyWarnings());
}

}  // namespace
