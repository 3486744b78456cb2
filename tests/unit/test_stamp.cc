// test_stamp.cc - PDF stamping on the generated fixtures, checked with Poppler.
#include <gtest/gtest.h>

#include <filesystem>

#include <algorithm>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include <qpdf/QPDF.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFWriter.hh>

#include "stamp.h"
#include "testutil.h"

using pgtest::TempDir;

namespace {

// stamp() - stamp fixture `name` with "STAMP p<page>/<pages>" lines; returns the output path.
std::string stamp(const TempDir& d, const std::string& name, pg::QueueSettings s = {}, pg::StampResult* res = nullptr) {
  std::string in = pgtest::pdfgen_dir() + "/" + name, out = d / ("out-" + name);
  auto r = pg::stamp_pdf(in, out, s, [](int p, int n) { return "STAMPTEXT p" + std::to_string(p) + "/" + std::to_string(n); });
  if (res) *res = r;
  return out;
}

// renders_cleanly() - pdftoppm renders every page with nothing on stderr.
bool renders_cleanly(const std::string& pdf, const TempDir& d) {
  int st = 0;
  std::string err = pgtest::run("pdftoppm -r 20 -gray '" + pdf + "' '" + (d / "render") + "' 2>&1 >/dev/null", &st);
  if (st != 0 || !err.empty()) ADD_FAILURE() << "pdftoppm: " << err;
  return st == 0 && err.empty();
}

// Word - one word's box from pdftotext -bbox, in display coordinates (origin top left).
struct Word {
  double x0, y0, x1, y1;
  std::string text;
};

// page_words() - words of each page with their boxes, plus page sizes.
std::vector<std::vector<Word>> page_words(const std::string& pdf, std::vector<std::pair<double, double>>& sizes) {
  std::string html = pgtest::run("pdftotext -bbox '" + pdf + "' - 2>/dev/null");
  std::vector<std::vector<Word>> pages;
  std::regex page_re(R"re(<page width="([0-9.]+)" height="([0-9.]+)">)re");
  std::regex word_re(R"re(<word xMin="([0-9.-]+)" yMin="([0-9.-]+)" xMax="([0-9.-]+)" yMax="([0-9.-]+)">([^<]*)</word>)re");
  // pdftotext -bbox reports the unrotated size: swap it for pages shown sideways.
  std::string info = pgtest::run("pdfinfo -f 1 -l 100000 '" + pdf + "' 2>/dev/null");
  std::vector<int> rot;
  std::regex rot_re(R"re(Page +[0-9]+ rot: +([0-9]+))re");
  for (std::sregex_iterator it(info.begin(), info.end(), rot_re), end; it != end; ++it) rot.push_back(std::stoi((*it)[1]));
  std::istringstream in(html);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, page_re)) {
      pages.emplace_back();
      bool sideways = pages.size() <= rot.size() && rot[pages.size() - 1] % 180 == 90;
      double w = std::stod(m[1]), h = std::stod(m[2]);
      sizes.emplace_back(sideways ? h : w, sideways ? w : h);
    } else if (std::regex_search(line, m, word_re) && !pages.empty()) {
      pages.back().push_back({std::stod(m[1]), std::stod(m[2]), std::stod(m[3]), std::stod(m[4]), m[5]});
    }
  }
  return pages;
}

// stamp_word() - the STAMPTEXT word of a page, or nullptr.
const Word* stamp_word(const std::vector<Word>& ws) {
  for (auto& w : ws)
    if (w.text == "STAMPTEXT") return &w;
  return nullptr;
}

// check_all_pages() - every page carries its own stamp text.
void check_all_pages(const std::string& out, int expected_pages) {
  auto pages = pgtest::pdftotext_pages(out);
  ASSERT_EQ(static_cast<int>(pages.size()), expected_pages);
  for (int i = 0; i < expected_pages; i++) {
    std::string want = "STAMPTEXT p" + std::to_string(i + 1) + "/" + std::to_string(expected_pages);
    EXPECT_NE(pages[i].find(want), std::string::npos) << "page " << i + 1 << ": " << pages[i];
  }
}

// dark_in_band() - whether a rendered page has dark pixels in rows [top, bottom)
// given as fractions of the height (PGM from pdftoppm -gray).
bool dark_in_band(const std::string& pgm_path, double top, double bottom) {
  std::string data = pgtest::slurp(pgm_path);
  std::istringstream in(data);
  std::string magic;
  int w = 0, h = 0, maxv = 0;
  in >> magic >> w >> h >> maxv;
  in.get();
  size_t off = static_cast<size_t>(in.tellg());
  if (magic != "P5" || w <= 0 || h <= 0) return false;
  for (int y = static_cast<int>(top * h); y < static_cast<int>(bottom * h); y++)
    for (int x = 0; x < w; x++)
      if (static_cast<unsigned char>(data[off + static_cast<size_t>(y * w + x)]) < 160) return true;
  return false;
}

}  // namespace

TEST(Stamp, SimplePageCarriesStampAndOriginal) {
  TempDir d;
  auto out = stamp(d, "simple.pdf");
  check_all_pages(out, 1);
  EXPECT_NE(pgtest::pdftotext_pages(out)[0].find("Hello page 1"), std::string::npos);
  EXPECT_TRUE(renders_cleanly(out, d));
}

TEST(Stamp, RotatedPagesStampUprightAtTheVisibleFooter) {
  TempDir d;
  auto out = stamp(d, "rotated.pdf");
  check_all_pages(out, 4);
  EXPECT_TRUE(renders_cleanly(out, d));
  std::vector<std::pair<double, double>> sizes;
  auto pages = page_words(out, sizes);
  ASSERT_EQ(pages.size(), 4u);
  for (size_t i = 0; i < 4; i++) {
    const Word* w = stamp_word(pages[i]);
    ASSERT_NE(w, nullptr) << "page " << i + 1;
    double pw = sizes[i].first, ph = sizes[i].second;
    EXPECT_GT(w->x1 - w->x0, 3 * (w->y1 - w->y0)) << "stamp is not horizontal on page " << i + 1;
    EXPECT_GT(w->y0, ph * 0.9) << "stamp is not at the bottom of page " << i + 1;
    EXPECT_GT(w->x0, 0);
    EXPECT_LT(w->x1, pw);
  }
}

TEST(Stamp, HeaderAndDiagonalPlacement) {
  TempDir d;
  pg::QueueSettings s;
  s.placement = pg::Placement::Header;
  auto out = stamp(d, "rotated.pdf", s);
  std::vector<std::pair<double, double>> sizes;
  auto pages = page_words(out, sizes);
  for (size_t i = 0; i < pages.size(); i++) {
    const Word* w = stamp_word(pages[i]);
    ASSERT_NE(w, nullptr);
    EXPECT_LT(w->y1, sizes[i].second * 0.1) << "header not at the top of page " << i + 1;
  }
  TempDir d2;
  s.placement = pg::Placement::Diagonal;
  out = stamp(d2, "landscape.pdf", s);
  // Poppler splits slanted text into letters; all of them are there...
  std::string letters = pgtest::run("pdftotext -raw '" + out + "' - | tr -d '\\n '");
  for (char c : std::string("STAMPTEXTp1/1")) EXPECT_NE(letters.find(c), std::string::npos) << letters;
  // ...and the ink runs across the middle of the page, not in a margin band.
  int st = 0;
  pgtest::run("pdftoppm -r 36 -gray '" + out + "' '" + (d2 / "g") + "' 2>/dev/null", &st);
  ASSERT_EQ(st, 0);
  EXPECT_TRUE(dark_in_band(d2 / "g-1.pgm", 0.45, 0.55));
  EXPECT_FALSE(dark_in_band(d2 / "g-1.pgm", 0.9, 1.0));
}

TEST(Stamp, ExplicitPositionAndSeveralLines) {
  TempDir d;
  pg::QueueSettings s;
  s.placement = pg::Placement::Position;
  s.pos_x = 100;
  s.pos_y = 400;
  s.font_size = 12;
  auto out = d / "pos.pdf";
  pg::stamp_pdf(pgtest::pdfgen_dir() + "/simple.pdf", out, s, [](int, int) { return std::string("LINEONE\nLINETWO"); });
  std::vector<std::pair<double, double>> sizes;
  auto pages = page_words(out, sizes);
  const Word *a = nullptr, *b = nullptr;
  for (auto& w : pages[0]) {
    if (w.text == "LINEONE") a = &w;
    if (w.text == "LINETWO") b = &w;
  }
  ASSERT_TRUE(a && b);
  EXPECT_NEAR(a->x0, 100, 1.5);
  EXPECT_NEAR(sizes[0].second - a->y1, 400, 12);  // baseline at y=400 from the bottom
  EXPECT_GT(b->y0, a->y0 + 10);                   // the second line is below the first
}

TEST(Stamp, OffsetCropBoxLandscapeAndMixedSizes) {
  for (auto [name, n] : std::vector<std::pair<std::string, int>>{
           {"cropbox-offset.pdf", 2}, {"landscape.pdf", 1}, {"mixed-sizes.pdf", 3}, {"inherited.pdf", 2}, {"contents-array.pdf", 1}}) {
    TempDir d;
    auto out = stamp(d, name);
    check_all_pages(out, n);
    EXPECT_TRUE(renders_cleanly(out, d)) << name;
    std::vector<std::pair<double, double>> sizes;
    auto pages = page_words(out, sizes);
    for (size_t i = 0; i < pages.size(); i++) {
      const Word* w = stamp_word(pages[i]);
      ASSERT_NE(w, nullptr) << name << " page " << i + 1;
      EXPECT_GT(w->y0, sizes[i].second * 0.85) << name << " page " << i + 1 << " stamp outside the visible footer";
      EXPECT_LT(w->y1, sizes[i].second) << name;
      EXPECT_GT(w->x0, 0) << name;
      EXPECT_LT(w->x1, sizes[i].first) << name;
    }
  }
}

TEST(Stamp, UnbalancedGraphicsStateCannotMoveOrHideTheStamp) {
  TempDir d;
  auto out = stamp(d, "unbalanced-q.pdf");
  check_all_pages(out, 2);
  std::vector<std::pair<double, double>> sizes;
  auto pages = page_words(out, sizes);
  for (size_t i = 0; i < 2; i++) {
    const Word* w = stamp_word(pages[i]);
    ASSERT_NE(w, nullptr);
    EXPECT_LT(w->y1 - w->y0, 14) << "stamp scaled by a leftover cm on page " << i + 1;
    EXPECT_GT(w->y0, sizes[i].second * 0.9) << "stamp moved on page " << i + 1;
  }
  // Rendered: the footer band really shows ink (a leftover 1x1 clip would hide it).
  int st = 0;
  pgtest::run("pdftoppm -r 72 -gray '" + out + "' '" + (d / "u") + "' 2>/dev/null", &st);
  ASSERT_EQ(st, 0);
  EXPECT_TRUE(dark_in_band(d / "u-1.pgm", 0.93, 1.0));
  EXPECT_TRUE(dark_in_band(d / "u-2.pgm", 0.93, 1.0));
}

TEST(Stamp, EncryptedWithEmptyUserPasswordIsStampedAndDecrypted) {
  TempDir d;
  auto out = stamp(d, "encrypted-empty-user.pdf");
  check_all_pages(out, 2);
  EXPECT_EQ(pgtest::run("qpdf --show-encryption '" + out + "' 2>&1").find("File is not encrypted") != std::string::npos, true);
  EXPECT_TRUE(renders_cleanly(out, d));
}

TEST(Stamp, ObjectStreams) {
  TempDir d;
  auto out = stamp(d, "objstm.pdf");
  check_all_pages(out, 5);
  EXPECT_TRUE(renders_cleanly(out, d));
}

TEST(Stamp, ThousandPages) {
  TempDir d;
  pg::StampResult r;
  auto out = stamp(d, "pages-1000.pdf", {}, &r);
  EXPECT_EQ(r.pages, 1000);
  check_all_pages(out, 1000);
  auto pages = pgtest::pdftotext_pages(out);
  EXPECT_NE(pages[999].find("Page 1000"), std::string::npos);
}

TEST(Stamp, Latin1TextRendersAndUnshowableIsReported) {
  TempDir d;
  auto out = d / "latin.pdf";
  auto r = pg::stamp_pdf(pgtest::pdfgen_dir() + "/simple.pdf", out, {}, [](int, int) {
    return std::string("R\xc3\xa9sum\xc3\xa9 \xc3\xa7" "a Stra\xc3\x9f" "e (x) \\ \xe4\xb8\xad");
  });
  auto text = pgtest::pdftotext_pages(out)[0];
  EXPECT_NE(text.find("R\xc3\xa9sum\xc3\xa9 \xc3\xa7" "a Stra\xc3\x9f" "e (x) \\ ?"), std::string::npos) << text;
  ASSERT_EQ(r.replaced.size(), 1u);
  EXPECT_EQ(r.replaced[0], U'\u4e2d');
  EXPECT_TRUE(renders_cleanly(out, d));
}

TEST(Stamp, MalformedInputIsRefusedWithAClearError) {
  for (auto name : {"truncated.pdf", "empty.pdf", "notpdf.pdf", "broken-objects.pdf", "no-pages.pdf", "encrypted-user-pw.pdf"}) {
    TempDir d;
    try {
      stamp(d, name);
      ADD_FAILURE() << name << " was stamped";
    } catch (const pg::Error& e) {
      std::string m = e.what();
      EXPECT_FALSE(m.empty());
      if (std::string(name) == "encrypted-user-pw.pdf") {
        EXPECT_NE(m.find("password"), std::string::npos) << m;
      }
      if (std::string(name) == "no-pages.pdf") {
        EXPECT_NE(m.find("no pages"), std::string::npos) << m;
      }
    }
  }
}

TEST(Stamp, ContentForRotationsMapsDisplayToUserSpace) {
  pg::Box b{100, 200, 712, 992};
  pg::QueueSettings s;
  EXPECT_NE(pg::stamp_content(b, 0, s, {"x"}).find("1 0 0 1 100 200 cm"), std::string::npos);
  EXPECT_NE(pg::stamp_content(b, 90, s, {"x"}).find("0 1 -1 0 712 200 cm"), std::string::npos);
  EXPECT_NE(pg::stamp_content(b, 180, s, {"x"}).find("-1 0 0 -1 712 992 cm"), std::string::npos);
  EXPECT_NE(pg::stamp_content(b, -90, s, {"x"}).find("0 -1 1 0 100 992 cm"), std::string::npos);
  // Text goes through pdf_literal: it cannot close the string and inject operators.
  EXPECT_NE(pg::stamp_content(b, 0, s, {") Tj (x"}).find("(\\) Tj \\(x) Tj"), std::string::npos);
}

TEST(Stamp, HiddenTitlesRemoveTitleMetadata) {
  TempDir d;
  std::string in = pgtest::pdfgen_dir() + "/latin1-title.pdf";
  ASSERT_NE(pgtest::run("pdfinfo '" + in + "'").find("R\xc3\xa9sum\xc3\xa9"), std::string::npos);
  ASSERT_NE(pgtest::run("pdfinfo -meta '" + in + "'").find("dc:title"), std::string::npos);
  pg::QueueSettings s;
  s.hide_titles = true;
  auto out = stamp(d, "latin1-title.pdf", s);
  EXPECT_EQ(pgtest::run("pdfinfo '" + out + "'").find("Title:"), std::string::npos) << pgtest::run("pdfinfo '" + out + "'");
  EXPECT_EQ(pgtest::run("pdfinfo -meta '" + out + "'").find("dc:title"), std::string::npos);
  EXPECT_EQ(pgtest::slurp(out).find("sum"), std::string::npos);
  check_all_pages(out, 1);
  // Not hidden: the metadata stays.
  TempDir d2;
  auto kept = stamp(d2, "latin1-title.pdf");
  EXPECT_NE(pgtest::run("pdfinfo '" + kept + "'").find("R\xc3\xa9sum\xc3\xa9"), std::string::npos);
}

TEST(Stamp, DecompressionBombsAreRefused) {
  // A page whose content is an array of streams that inflate to 64 MiB of
  // white space: decoding stops at MaxPageContent.
  TempDir d;
  std::string bomb = d / "bomb.pdf";
  {
    QPDF pdf;
    pdf.emptyPDF();
    auto font = pdf.makeIndirectObject(QPDFObjectHandle::parse("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"));
    std::vector<QPDFObjectHandle> parts;
    for (int i = 0; i < 2; i++) parts.push_back(QPDFObjectHandle::newStream(&pdf, std::string(32 << 20, ' ')));
    parts.push_back(QPDFObjectHandle::newStream(&pdf, "BT /F1 12 Tf 72 720 Td (bomb) Tj ET"));
    auto page = pdf.makeIndirectObject(QPDFObjectHandle::parse("<< /Type /Page /MediaBox [0 0 612 792] >>"));
    page.replaceKey("/Contents", QPDFObjectHandle::newArray(parts));
    page.replaceKey("/Resources", QPDFObjectHandle::parse("<< >>"));
    page.getKey("/Resources").replaceKey("/Font", QPDFObjectHandle::newDictionary());
    page.getKey("/Resources").getKey("/Font").replaceKey("/F1", font);
    QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(page), false);
    QPDFWriter w(pdf, bomb.c_str());
    w.setCompressStreams(true);
    w.write();
  }
  ASSERT_LT(pgtest::slurp(bomb).size(), 1u << 20);  // small on disk
  pg::QueueSettings s;
  s.max_content_bytes = 8 << 20;
  try {
    pg::stamp_pdf(bomb, d / "out.pdf", s, [](int, int) { return std::string("x"); });
    FAIL() << "the bomb was stamped";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("MaxPageContent"), std::string::npos) << e.what();
  }
  s.max_content_bytes = 256 << 20;  // the default lets an honest large page through
  EXPECT_NO_THROW(pg::stamp_pdf(bomb, d / "out2.pdf", s, [](int, int) { return std::string("x"); }));
}

namespace {

// stamp_with() - stamp a file with the given options; returns the result.
pg::StampResult stamp_with(const std::string& in, const std::string& out, const pg::QueueSettings& s,
                           const pg::StampOptions& opt = {}) {
  return pg::stamp_pdf(in, out, s, [](int p, int n) { return "STAMPTEXT p" + std::to_string(p) + "/" + std::to_string(n); },
                       opt);
}

// begins_with_input() - whether out's bytes begin with all of in's bytes.
bool begins_with_input(const std::string& in, const std::string& out) {
  std::string a = pgtest::slurp(in), b = pgtest::slurp(out);
  return !a.empty() && b.size() > a.size() && b.compare(0, a.size(), a) == 0;
}

// qpdf_check_ok() - qpdf --check finds nothing wrong (exit 0, no warnings).
bool qpdf_check_ok(const std::string& pdf) {
  int st = 0;
  std::string o = pgtest::run("qpdf --check '" + pdf + "' 2>&1", &st);
  if (st != 0) ADD_FAILURE() << "qpdf --check " << pdf << ": " << o;
  return st == 0;
}

// hand_pdf() - a PDF from object bodies (numbered from 1) with a classic xref
// table; `trailer` is added to the trailer dictionary (which has /Size /Root 1 0 R).
std::string hand_pdf(const std::vector<std::string>& objs, const std::string& trailer = "", const std::string& prefix = "") {
  std::string out = prefix + "%PDF-1.4\n";
  std::vector<size_t> off;
  for (size_t i = 0; i < objs.size(); i++) {
    off.push_back(out.size() - prefix.size());
    out += std::to_string(i + 1) + " 0 obj\n" + objs[i] + "\nendobj\n";
  }
  size_t x = out.size() - prefix.size();
  out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
  char line[32];
  for (size_t o : off) {
    snprintf(line, sizeof line, "%010zu 00000 n \n", o);
    out += line;
  }
  out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R " + trailer + " >>\nstartxref\n" +
         std::to_string(x) + "\n%%EOF\n";
  return out;
}

// one_page_objs() - catalog, page tree with the given kids and count, one page, its content.
std::vector<std::string> page_objs(const std::string& kids, int count) {
  std::string c = "BT /F1 12 Tf 72 700 Td (Hello hand) Tj ET";
  return {"<< /Type /Catalog /Pages 2 0 R >>",
          "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(count) + " >>",
          "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
          "<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream",
          "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"};
}

}  // namespace

TEST(StampIncremental, OrdinaryFilesKeepTheirBytesAndGainAnUpdate) {
  for (auto [name, n] : std::vector<std::pair<std::string, int>>{{"simple.pdf", 1},        {"rotated.pdf", 4},
                                                                 {"cropbox-offset.pdf", 2}, {"landscape.pdf", 1},
                                                                 {"mixed-sizes.pdf", 3},    {"inherited.pdf", 2},
                                                                 {"contents-array.pdf", 1}, {"unbalanced-q.pdf", 2},
                                                                 {"objstm.pdf", 5},         {"pages-1000.pdf", 1000}}) {
    TempDir d;
    std::string in = pgtest::pdfgen_dir() + "/" + name, out = d / "inc.pdf", full = d / "full.pdf";
    auto r = stamp_with(in, out, {});
    EXPECT_TRUE(r.incremental) << name << ": " << r.full_rewrite_reason;
    EXPECT_TRUE(r.full_rewrite_reason.empty()) << name;
    EXPECT_EQ(r.pages, n) << name;
    EXPECT_TRUE(begins_with_input(in, out)) << name;
    EXPECT_TRUE(qpdf_check_ok(out)) << name;
    check_all_pages(out, n);
    bool clean_input = name != "unbalanced-q.pdf";  // Poppler complains about its own content
    if (n < 100 && clean_input) {
      EXPECT_TRUE(renders_cleanly(out, d)) << name;
    }
    // The same file through the full rewrite: a new file, the same stamps.
    pg::StampOptions no_inc;
    no_inc.allow_incremental = false;
    auto f = stamp_with(in, full, {}, no_inc);
    EXPECT_FALSE(f.incremental);
    EXPECT_FALSE(begins_with_input(in, full)) << name;
    EXPECT_TRUE(qpdf_check_ok(full)) << name;
    check_all_pages(full, n);
    if (n < 100 && clean_input) {
      EXPECT_TRUE(renders_cleanly(full, d)) << name;
    }
  }
}

TEST(StampIncremental, XrefStreamInputGetsAnXrefStreamUpdate) {
  TempDir d;
  std::string in = pgtest::pdfgen_dir() + "/objstm.pdf", out = d / "o.pdf";
  auto r = stamp_with(in, out, {});
  ASSERT_TRUE(r.incremental);
  std::string tail = pgtest::slurp(out).substr(pgtest::slurp(in).size());
  EXPECT_NE(tail.find("/Type /XRef"), std::string::npos);
  EXPECT_EQ(tail.find("\nxref\n"), std::string::npos);
  // A classic table for a file whose last section is a table.
  std::string in2 = pgtest::pdfgen_dir() + "/simple.pdf", out2 = d / "o2.pdf";
  ASSERT_TRUE(stamp_with(in2, out2, {}).incremental);
  std::string tail2 = pgtest::slurp(out2).substr(pgtest::slurp(in2).size());
  EXPECT_NE(tail2.find("xref\n"), std::string::npos);
  EXPECT_NE(tail2.find("/Prev "), std::string::npos);
}

TEST(StampIncremental, AFileWithSparseObjectNumbersGetsAValidXrefSection) {
  // The page and its content are objects 90000 and 90001, the rest 1 to 3:
  // the update's new objects are numbered from 90002, and its xref section
  // (too sparse to be laid out by number) has one subsection for the page and
  // one for them.
  std::string c = "BT /F1 12 Tf 72 700 Td (Hello sparse) Tj ET";
  std::vector<std::pair<int, std::string>> objs = {
      {1, "<< /Type /Catalog /Pages 2 0 R >>"},
      {2, "<< /Type /Pages /Kids [90000 0 R] /Count 1 >>"},
      {3, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"},
      {90000, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
              "/Contents 90001 0 R >>"},
      {90001, "<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream"}};
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> off;
  for (auto& [n, body] : objs) {
    off.push_back(pdf.size());
    pdf += std::to_string(n) + " 0 obj\n" + body + "\nendobj\n";
  }
  size_t x = pdf.size();
  char line[32];
  pdf += "xref\n0 4\n0000000000 65535 f \n";
  for (int k = 0; k < 3; k++) snprintf(line, sizeof line, "%010zu 00000 n \n", off[k]), pdf += line;
  pdf += "90000 2\n";
  for (int k = 3; k < 5; k++) snprintf(line, sizeof line, "%010zu 00000 n \n", off[k]), pdf += line;
  pdf += "trailer\n<< /Size 90002 /Root 1 0 R >>\nstartxref\n" + std::to_string(x) + "\n%%EOF\n";
  TempDir d;
  std::string in = d / "sparse.pdf", out = d / "out.pdf";
  pgtest::write_text(in, pdf);
  auto r = stamp_with(in, out, {});
  ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
  std::string update = pgtest::slurp(out).substr(pdf.size());
  EXPECT_NE(update.find("xref\n90000 1\n"), std::string::npos) << update;  // the page
  EXPECT_NE(update.find("\n90002 4\n"), std::string::npos) << update;      // font, gs, form, stamp
  EXPECT_TRUE(qpdf_check_ok(out));
  check_all_pages(out, 1);
}

TEST(StampIncremental, UpdateBytesAreHandedToTheCaller) {
  TempDir d;
  std::string in = pgtest::pdfgen_dir() + "/simple.pdf", out = d / "never.pdf";
  pg::ChunkedBuffer update;
  pg::StampOptions opt;
  opt.update = &update;
  auto r = stamp_with(in, out, {}, opt);
  ASSERT_TRUE(r.incremental);
  EXPECT_FALSE(std::ifstream(out).good()) << "out written although the caller takes the update";
  pgtest::write_text(d / "joined.pdf", pgtest::slurp(in) + update.str());
  check_all_pages(d / "joined.pdf", 1);
  EXPECT_TRUE(qpdf_check_ok(d / "joined.pdf"));
}

TEST(StampIncremental, ALongDocumentsUpdateIsTheSameBytesEveryRun) {
  // 3000 pages, each with its own content stream, shared by two threads.
  const int n = 3000;
  std::vector<std::string> objs = {"<< /Type /Catalog /Pages 2 0 R >>", ""};
  std::string kids;
  for (int i = 0; i < n; i++) {
    int page = static_cast<int>(objs.size()) + 1;
    std::string c = "BT /F1 12 Tf 72 700 Td (page " + std::to_string(i + 1) + ") Tj ET";
    kids += std::to_string(page) + " 0 R ";
    objs.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents " + std::to_string(page + 1) + " 0 R >>");
    objs.push_back("<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream");
  }
  objs[1] = "<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(n) + " >>";
  TempDir d;
  std::string in = d / "pages.pdf";
  pgtest::write_text(in, hand_pdf(objs));
  pg::ChunkedBuffer first, second;
  pg::StampOptions opt;
  opt.update = &first;
  ASSERT_TRUE(stamp_with(in, d / "unused.pdf", {}, opt).incremental);
  opt.update = &second;
  auto r = stamp_with(in, d / "unused.pdf", {}, opt);
  ASSERT_TRUE(r.incremental);
  EXPECT_EQ(r.pages, n);
  EXPECT_EQ(r.threads, 2);
  EXPECT_GT(first.size(), 0u);
  EXPECT_TRUE(first.str() == second.str()) << "two runs wrote different updates";
  pgtest::write_text(d / "joined.pdf", pgtest::slurp(in) + second.str());
  EXPECT_TRUE(qpdf_check_ok(d / "joined.pdf"));
}

// TreeDoc - a hand-made PDF whose page tree a test lays out: the catalog (1),
// the root /Pages node (2) holding the MediaBox and font the pages inherit,
// the font (3), then nodes and pages in the order they are added.
struct TreeDoc {
  std::vector<std::string> objs = {"<< /Type /Catalog /Pages 2 0 R >>", "", pdf_font()};
  std::map<int, std::string> kids;  // node -> its kids, as references
  std::map<int, int> counts;        // node -> pages below it
  std::map<int, int> parents;
  int pages = 0;
  static std::string pdf_font() { return "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"; }
  // node() - a new /Pages node under parent; returns its number.
  int node(int parent) {
    objs.push_back("");
    int n = static_cast<int>(objs.size());
    kids[parent] += std::to_string(n) + " 0 R ";
    parents[n] = parent;
    return n;
  }
  // page() - a new page under parent reading "page N" (N counted in document
  // order of the calls); `extra` goes into its dictionary. Returns its number.
  int page(int parent, const std::string& extra = "") {
    int n = static_cast<int>(objs.size()) + 1;
    std::string c = "BT /F1 12 Tf 72 700 Td (docpage " + std::to_string(++pages) + ") Tj ET";
    objs.push_back("<< /Type /Page /Parent " + std::to_string(parent) + " 0 R /Contents " + std::to_string(n + 1) +
                   " 0 R " + extra + " >>");
    objs.push_back("<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream");
    kids[parent] += std::to_string(n) + " 0 R ";
    for (int a = parent;; a = parents[a]) {
      counts[a]++;
      if (a == 2) break;
    }
    return n;
  }
  // pdf() - the file's bytes.
  std::string pdf() {
    objs[1] = "<< /Type /Pages /Kids [" + kids[2] + "] /Count " + std::to_string(counts[2]) +
              " /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> >>";
    for (auto& [n, k] : kids)
      if (n != 2)
        objs[n - 1] = "<< /Type /Pages /Parent " + std::to_string(parents[n]) + " 0 R /Kids [" + k + "] /Count " +
                      std::to_string(counts[n]) + " >>";
    return hand_pdf(objs);
  }
};

// check_page_order() - page i of out shows "docpage i" and the stamp "p<i>/<n>".
void check_page_order(const std::string& out, int n) {
  check_all_pages(out, n);
  auto pages = pgtest::pdftotext_pages(out);
  ASSERT_EQ(static_cast<int>(pages.size()), n);
  for (int i = 0; i < n; i++)
    ASSERT_NE(pages[i].find("docpage " + std::to_string(i + 1) + "\n"), std::string::npos) << "page " << i + 1 << ": "
                                                                                          << pages[i];
}

TEST(StampIncremental, ALargeTreeIsStampedInTwoPartsInPageOrder) {
  // 301 pages: the root's kids are a node of 200 pages, one page, and a node of
  // 100 pages (nested once more), so the two halves of the root's kids differ
  // in size, and every page inherits its MediaBox and font from the root.
  TreeDoc t;
  int a = t.node(2);
  for (int i = 0; i < 200; i++) t.page(a);
  t.page(2);
  int c = t.node(2);
  for (int i = 0; i < 40; i++) t.page(c);
  int c2 = t.node(c);
  for (int i = 0; i < 60; i++) t.page(c2);
  TempDir d;
  std::string in = d / "tree.pdf", out = d / "out.pdf";
  pgtest::write_text(in, t.pdf());
  auto r = stamp_with(in, out, {});
  ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
  EXPECT_EQ(r.pages, 301);
  EXPECT_EQ(r.threads, 2);
  EXPECT_TRUE(begins_with_input(in, out));
  EXPECT_TRUE(qpdf_check_ok(out));
  check_page_order(out, 301);
}

TEST(StampIncremental, PageOneIsStampedWhereTheSecondThreadTookEveryPage) {
  // Where the first thread is slow to start (a loaded machine), the second
  // can take every unit, page 1's among them: page 1 must still carry its own
  // text, the characters it could not show must still be reported, and the
  // output must be the same bytes as where the two threads met elsewhere.
  TreeDoc t;
  int a = t.node(2);
  for (int i = 0; i < 150; i++) t.page(a);
  int b = t.node(2);
  for (int i = 0; i < 150; i++) t.page(b);
  TempDir d;
  std::string in = d / "tree.pdf";
  pgtest::write_text(in, t.pdf());
  auto text = [](int p, int n) {
    return "STAMPTEXT p" + std::to_string(p) + "/" + std::to_string(n) + (p == 1 ? " \xe4\xb8\xad" : "");
  };
  std::string out[2] = {d / "default.pdf", d / "second-took-all.pdf"};
  pg::StampResult r[2];
  for (int k = 0; k < 2; k++) {
    pg::StampOptions opt;
    opt.second_thread_takes_all = k == 1;
    r[k] = pg::stamp_pdf(in, out[k], {}, text, opt);
    ASSERT_TRUE(r[k].incremental) << r[k].full_rewrite_reason;
    EXPECT_EQ(r[k].threads, 2);
    ASSERT_EQ(r[k].replaced.size(), 1u) << k;
    EXPECT_EQ(r[k].replaced[0], U'\u4e2d');
    check_page_order(out[k], 300);
  }
  EXPECT_TRUE(pgtest::slurp(out[0]) == pgtest::slurp(out[1])) << "the output depends on where the threads met";
  EXPECT_TRUE(qpdf_check_ok(out[1]));
}

TEST(StampIncremental, APageInBothHalvesOfALargeTreeIsRewrittenWhole) {
  // The same page object listed under both of the root's kids: each thread
  // sees it once, so only the check across the two parts can find it.
  TreeDoc t;
  int a = t.node(2), b = t.node(2);
  int shared = 0;
  for (int i = 0; i < 150; i++) shared = t.page(a);
  for (int i = 0; i < 150; i++) t.page(b);
  t.kids[b] += std::to_string(shared) + " 0 R ";
  t.counts[b]++;
  t.counts[2]++;
  TempDir d;
  std::string in = d / "shared.pdf", out = d / "out.pdf";
  pgtest::write_text(in, t.pdf());
  pg::QueueSettings s;
  s.repair_damaged = true;  // the full rewrite takes qpdf's copy of the shared page
  auto r = stamp_with(in, out, s);
  EXPECT_FALSE(r.incremental);
  EXPECT_NE(r.full_rewrite_reason.find("share one page object"), std::string::npos) << r.full_rewrite_reason;
  EXPECT_EQ(r.pages, 301);
}

TEST(StampIncremental, AnErrorInTheSecondPartNamesTheDocumentPage) {
  // Page 290 (in the second half of the root's kids) has no valid MediaBox.
  TreeDoc t;
  int a = t.node(2), b = t.node(2);
  for (int i = 0; i < 150; i++) t.page(a);
  for (int i = 0; i < 150; i++) t.page(b, t.pages + 1 == 290 ? "/MediaBox [0 0 0]" : "");
  TempDir d;
  std::string in = d / "bad.pdf";
  pgtest::write_text(in, t.pdf());
  try {
    stamp_with(in, d / "out.pdf", {});
    FAIL() << "a page without a valid MediaBox was stamped";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("page 290 "), std::string::npos) << e.what();
  }
}

TEST(StampIncremental, AFlatTreeIsTakenPageByPageFromBothEndsAndTheOutputNeverVaries) {
  // 700 pages straight under the root: the two threads take them one at a
  // time, from the front and from the back, and meet wherever their speeds
  // have them meet. The pages come out in order, each numbered in its stamp,
  // and the update is the same bytes run after run.
  TreeDoc t;
  for (int i = 0; i < 700; i++) t.page(2);
  TempDir d;
  std::string in = d / "flat.pdf", out = d / "out.pdf";
  pgtest::write_text(in, t.pdf());
  std::string first;
  for (int run = 0; run < 5; run++) {
    pg::ChunkedBuffer update;
    pg::StampOptions opt;
    opt.update = &update;
    auto r = stamp_with(in, out, {}, opt);
    ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
    EXPECT_EQ(r.pages, 700);
    EXPECT_EQ(r.threads, 2);
    if (run == 0) first = update.str();
    ASSERT_TRUE(update.str() == first) << "run " << run << " wrote another update";
  }
  pgtest::write_text(out, pgtest::slurp(in) + first);
  EXPECT_TRUE(qpdf_check_ok(out));
  check_page_order(out, 700);
}

TEST(StampIncremental, ATreeUnderOneNodeIsOpenedUntilItCanBeShared) {
  // The root's only kid is a node whose only kid is a node of 40 pages and
  // 10 nodes of 30 pages: the threads share it once it is opened two levels
  // down. A tree of fewer than 256 pages is stamped on one thread.
  TreeDoc t;
  int top = t.node(2), mid = t.node(top);
  for (int i = 0; i < 40; i++) t.page(mid);
  for (int n = 0; n < 10; n++) {
    int leafs = t.node(mid);
    for (int i = 0; i < 30; i++) t.page(leafs);
  }
  TempDir d;
  std::string in = d / "deep.pdf", out = d / "out.pdf";
  pgtest::write_text(in, t.pdf());
  auto r = stamp_with(in, out, {});
  ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
  EXPECT_EQ(r.pages, 340);
  EXPECT_EQ(r.threads, 2);
  EXPECT_TRUE(qpdf_check_ok(out));
  check_page_order(out, 340);

  TreeDoc small;
  for (int i = 0; i < 255; i++) small.page(2);
  pgtest::write_text(d / "small.pdf", small.pdf());
  r = stamp_with(d / "small.pdf", out, {});
  ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
  EXPECT_EQ(r.threads, 1);
  check_page_order(out, 255);
}

// threads_now() - how many threads this process has.
size_t threads_now() {
  size_t n = 0;
  for (auto& e : std::filesystem::directory_iterator("/proc/self/task")) n += e.is_directory() ? 1 : 0;
  return n;
}

TEST(StampIncremental, OnlyALongDocumentGetsASecondParse) {
  // The second parse (and its thread) is begun once the page count is read,
  // and only for a document long enough to be shared: while page 1's text is
  // asked for, a 255-page file of 50 KB has no other thread running, a
  // 256-page one has the second parse's.
  TempDir d;
  for (int pages : {255, 256}) {
    TreeDoc t;
    for (int i = 0; i < pages; i++) t.page(2);
    std::string in = d / "doc.pdf", out = d / "out.pdf";
    pgtest::write_text(in, t.pdf());
    ASSERT_GT(pgtest::slurp(in).size(), 32u << 10);
    size_t before = threads_now(), during = 0;
    auto r = pg::stamp_pdf(in, out, {}, [&](int p, int n) {
      if (p == 1) during = threads_now();
      return "STAMPTEXT p" + std::to_string(p) + "/" + std::to_string(n);
    });
    ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
    EXPECT_EQ(r.threads, pages == 256 ? 2 : 1);
    EXPECT_EQ(during, before + (pages == 256 ? 1 : 0)) << pages << " pages";
    EXPECT_EQ(threads_now(), before);
  }
}

TEST(StampIncremental, ANodeListedTwiceInALargeTreeIsRewrittenWhole) {
  // The root lists the same node of 150 pages twice (and counts 300 pages):
  // opening the tree to share it finds the node a second time, and the full
  // rewrite (qpdf) refuses the loop: nothing is stamped twice or printed.
  TreeDoc t;
  int a = t.node(2);
  for (int i = 0; i < 150; i++) t.page(a);
  t.kids[2] += std::to_string(a) + " 0 R ";
  t.counts[2] += 150;
  TempDir d;
  std::string in = d / "twice.pdf", out = d / "out.pdf";
  pgtest::write_text(in, t.pdf());
  pg::QueueSettings s;
  s.repair_damaged = true;
  try {
    stamp_with(in, out, s);
    FAIL() << "a node listed twice was stamped";
  } catch (const pg::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Loop detected"), std::string::npos) << e.what();
  }
}

TEST(StampIncremental, AWrongCountInALargeTreeIsRewrittenWhole) {
  // The second thread numbers its pages down from the root's /Count: a /Count
  // too high or too low must not leave pages misnumbered or objects reused.
  for (int delta : {+40, -40, -200}) {
    TreeDoc t;
    int a = t.node(2), b = t.node(2);
    for (int i = 0; i < 150; i++) t.page(a);
    for (int i = 0; i < 150; i++) t.page(b);
    t.counts[2] += delta;
    TempDir d;
    std::string in = d / "count.pdf", out = d / "out.pdf";
    pgtest::write_text(in, t.pdf());
    pg::QueueSettings s;
    s.repair_damaged = true;  // qpdf warns about the count in the full rewrite
    auto r = stamp_with(in, out, s);
    EXPECT_FALSE(r.incremental) << "delta " << delta;
    EXPECT_NE(r.full_rewrite_reason.find("/Count does not match"), std::string::npos) << r.full_rewrite_reason;
    EXPECT_EQ(r.pages, 300) << "delta " << delta;
  }
}

TEST(StampIncremental, MaxPagesHoldsInTheSecondPart) {
  TreeDoc t;
  int a = t.node(2), b = t.node(2);
  for (int i = 0; i < 150; i++) t.page(a);
  for (int i = 0; i < 250; i++) t.page(b);
  TempDir d;
  std::string in = d / "many.pdf";
  pgtest::write_text(in, t.pdf());
  pg::QueueSettings s;
  s.max_pages = 200;  // the second half alone is past it
  EXPECT_THROW(stamp_with(in, d / "out.pdf", s), pg::Error);
  s.max_pages = 400;
  EXPECT_TRUE(stamp_with(in, d / "out.pdf", s).incremental);
}

TEST(StampIncremental, FallbackCasesRewriteTheWholeFile) {
  struct Case {
    std::string name, file_text, why;
    bool repair;
    int pages;
  };
  std::string simple = pgtest::slurp(pgtest::pdfgen_dir() + "/simple.pdf");
  std::vector<Case> cases = {
      {"encrypted", "", "encrypted", false, 2},
      {"junk-before-header", "junk line\n" + simple, "%PDF-", false, 1},
      {"count-mismatch", hand_pdf(page_objs("3 0 R", 2)), "/Count", false, 1},
      {"shared-page-object", hand_pdf(page_objs("3 0 R 3 0 R", 2)), "share one page object", true, 2},
      {"damaged-xref", "", "warn", true, 1},
      {"hybrid", "", "hybrid", false, 1},
      {"parent-not-a-dictionary", "", "/Parent is not an indirect dictionary", true, 1},
  };
  {
    // Inherited attributes are looked up along /Parent: one that names a
    // stream is left to qpdf's full rewrite.
    auto objs = page_objs("3 0 R", 1);
    objs[2].replace(objs[2].find("/Parent 2 0 R"), 13, "/Parent 4 0 R");
    cases[6].file_text = hand_pdf(objs);
  }
  // A hybrid-reference file: a classic table whose trailer also names an xref stream.
  {
    // Built twice: the second time with the xref stream's real offset (same length).
    std::string text;
    size_t off6 = 0;
    for (int pass = 0; pass < 2; pass++) {
      auto objs = page_objs("3 0 R", 1);
      std::string entry = std::string("\x01", 1) + static_cast<char>((off6 >> 24) & 0xff) + static_cast<char>((off6 >> 16) & 0xff) +
                          static_cast<char>((off6 >> 8) & 0xff) + static_cast<char>(off6 & 0xff) + std::string(2, '\0');
      objs.push_back("<< /Type /XRef /Size 7 /W [1 4 2] /Index [6 1] /Length 7 >>\nstream\n" + entry + "\nendstream");
      char ref[32];
      snprintf(ref, sizeof ref, "/XRefStm %010zu", off6);
      text = hand_pdf(objs, ref);
      off6 = text.find("6 0 obj");
    }
    cases[5].file_text = text;
  }
  {
    // Wrong xref offsets: qpdf repairs the file (RepairDamagedPDF Yes) with a warning.
    std::string s = hand_pdf(page_objs("3 0 R", 1));
    size_t p = s.find("0000000009 00000 n");
    ASSERT_NE(p, std::string::npos);
    s.replace(p, 10, "0000000003");
    cases[4].file_text = s;
  }
  for (auto& c : cases) {
    TempDir d;
    std::string in = c.file_text.empty() ? pgtest::pdfgen_dir() + "/encrypted-empty-user.pdf" : d / (c.name + ".pdf");
    if (!c.file_text.empty()) pgtest::write_text(in, c.file_text);
    pg::QueueSettings s;
    s.repair_damaged = c.repair;
    std::string out = d / "out.pdf";
    pg::StampResult r;
    try {
      r = stamp_with(in, out, s);
    } catch (const pg::Error& e) {
      ADD_FAILURE() << c.name << ": " << e.what();
      continue;
    }
    EXPECT_FALSE(r.incremental) << c.name;
    EXPECT_NE(r.full_rewrite_reason.find(c.why), std::string::npos) << c.name << ": " << r.full_rewrite_reason;
    EXPECT_FALSE(begins_with_input(in, out)) << c.name;
    EXPECT_TRUE(qpdf_check_ok(out)) << c.name;
    check_all_pages(out, c.pages);
    EXPECT_TRUE(renders_cleanly(out, d)) << c.name;
  }
}

TEST(StampIncremental, APageTreeWhoseParentChainLoopsIsRewrittenWhole) {
  TempDir d;
  auto objs = page_objs("3 0 R", 1);
  objs[1] = "<< /Type /Pages /Parent 2 0 R /Kids [3 0 R] /Count 1 >>";
  std::string in = d / "loop.pdf", out = d / "out.pdf";
  pgtest::write_text(in, hand_pdf(objs));
  pg::QueueSettings s;
  EXPECT_THROW(stamp_with(in, out, s), pg::Error);  // qpdf calls it damaged
  s.repair_damaged = true;
  auto r = stamp_with(in, out, s);
  EXPECT_FALSE(r.incremental);
  EXPECT_NE(r.full_rewrite_reason.find("/Parent chain"), std::string::npos) << r.full_rewrite_reason;
  check_all_pages(out, 1);
  EXPECT_TRUE(renders_cleanly(out, d));
}

TEST(StampIncremental, TheUpdateIsCertainOnceRightAfterPageOnesTextAndNeverInAFullRewrite) {
  struct Case {
    std::string file;
    bool hide_titles;
    int pages;
  };
  for (const Case& c : {Case{"rotated.pdf", false, 4}, Case{"pages-1000.pdf", false, 1000}, Case{"rotated.pdf", true, 4}}) {
    TempDir d;
    pg::QueueSettings s;
    s.hide_titles = c.hide_titles;  // a full rewrite
    std::mutex m;
    std::vector<std::string> calls;  // in order, from any thread
    pg::StampOptions opt;
    opt.on_update_certain = [&](int pages) {
      std::lock_guard<std::mutex> lock(m);
      calls.push_back("certain " + std::to_string(pages));
    };
    auto text = [&](int p, int n) {
      std::lock_guard<std::mutex> lock(m);
      calls.push_back("text " + std::to_string(p));
      return "STAMP " + std::to_string(p) + "/" + std::to_string(n);
    };
    auto r = pg::stamp_pdf(pgtest::pdfgen_dir() + "/" + c.file, d / "out.pdf", s, text, opt);
    EXPECT_EQ(r.pages, c.pages) << c.file;
    EXPECT_EQ(r.incremental, !c.hide_titles) << c.file;
    EXPECT_EQ(std::count(calls.begin(), calls.end(), "certain " + std::to_string(c.pages)), r.incremental ? 1 : 0)
        << c.file;
    ASSERT_GE(calls.size(), 2u) << c.file;
    EXPECT_EQ(calls[0], "text 1") << c.file;
    if (r.incremental) {
      EXPECT_EQ(calls[1], "certain " + std::to_string(c.pages)) << c.file;
    }
  }
}

TEST(StampIncremental, DamagedFilesStillFailClosedWithoutRepair) {
  TempDir d;
  std::string in = d / "shared.pdf";
  pgtest::write_text(in, hand_pdf(page_objs("3 0 R 3 0 R", 2)));
  EXPECT_THROW(stamp_with(in, d / "out.pdf", {}), pg::Error);
}

TEST(StampIncremental, HiddenTitlesTakeTheFullRewrite) {
  TempDir d;
  pg::QueueSettings s;
  s.hide_titles = true;
  std::string in = pgtest::pdfgen_dir() + "/latin1-title.pdf", out = d / "out.pdf";
  auto r = stamp_with(in, out, s);
  EXPECT_FALSE(r.incremental);
  EXPECT_NE(r.full_rewrite_reason.find("title"), std::string::npos) << r.full_rewrite_reason;
  EXPECT_EQ(pgtest::slurp(out).find("sum"), std::string::npos);  // "Résumé" is gone from the bytes
  EXPECT_TRUE(qpdf_check_ok(out));
}

TEST(StampIncremental, LinearizedInputIsUpdatedAndStillReadable) {
  TempDir d;
  std::string in = d / "lin.pdf", out = d / "out.pdf";
  int st = 0;
  pgtest::run("qpdf --linearize '" + pgtest::pdfgen_dir() + "/rotated.pdf' '" + in + "'", &st);
  ASSERT_EQ(st, 0);
  auto r = stamp_with(in, out, {});
  EXPECT_TRUE(r.incremental) << r.full_rewrite_reason;
  EXPECT_TRUE(begins_with_input(in, out));
  EXPECT_TRUE(qpdf_check_ok(out));
  check_all_pages(out, 4);
  EXPECT_TRUE(renders_cleanly(out, d));
}

TEST(StampIncremental, TrailerInfoIsCarriedIntoTheUpdate) {
  // Indirect /Info (fixture) and a direct /Info dictionary in the trailer both
  // stay visible through the new trailer.
  TempDir d;
  std::string in = d / "direct-info.pdf", out = d / "out.pdf";
  pgtest::write_text(in, hand_pdf(page_objs("3 0 R", 1), "/Info << /Title (Hand Made Title) >>"));
  ASSERT_NE(pgtest::run("pdfinfo '" + in + "'").find("Hand Made Title"), std::string::npos);
  auto r = stamp_with(in, out, {});
  ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
  EXPECT_NE(pgtest::run("pdfinfo '" + out + "'").find("Hand Made Title"), std::string::npos);
  TempDir d2;
  std::string kept = d2 / "kept.pdf";
  ASSERT_TRUE(stamp_with(pgtest::pdfgen_dir() + "/latin1-title.pdf", kept, {}).incremental);
  EXPECT_NE(pgtest::run("pdfinfo '" + kept + "'").find("R\xc3\xa9sum\xc3\xa9"), std::string::npos);
}

TEST(StampIncremental, PagesSharingContentKeepTheirOwnBoxes) {
  // Two pages draw the same content stream; the first page is small. The form
  // made for it must not be reused with its small BBox on the large page.
  TempDir d;
  std::string c = "BT /F1 12 Tf 72 700 Td (High text) Tj ET BT /F1 12 Tf 20 20 Td (Low text) Tj ET";
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 /Resources 7 0 R >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 300] /Contents 4 0 R >>",
      "<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
      "<< /Font << /F1 5 0 R >> >>"};  // shared, indirect resources
  std::string in = d / "shared-content.pdf", out = d / "out.pdf";
  pgtest::write_text(in, hand_pdf(objs));
  auto r = stamp_with(in, out, {});
  ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
  check_all_pages(out, 2);
  EXPECT_TRUE(qpdf_check_ok(out));
  // Rendered (pdftotext ignores clipping): the large page shows the high line.
  int st = 0;
  pgtest::run("pdftoppm -r 36 -gray '" + out + "' '" + (d / "s") + "' 2>/dev/null", &st);
  ASSERT_EQ(st, 0);
  EXPECT_TRUE(dark_in_band(d / "s-2.pgm", 0.08, 0.14)) << "content clipped by another page's box";
}

TEST(StampIncremental, PagesReadPlainComeOutAsWhenQpdfReadsThem) {
  // Each fixture stamped with its plain pages and content streams read
  // straight from the file, and again with qpdf reading them all: the same
  // pages of the same sizes, with the same words in the same places.
  TempDir d;
  struct Case {
    const char* file;
    bool plain;  // whether its pages are in the plain subset
  };
  for (auto c : {Case{"simple.pdf", true}, Case{"rotated.pdf", true}, Case{"cropbox-offset.pdf", true},
                 Case{"landscape.pdf", true}, Case{"mixed-sizes.pdf", true}, Case{"unbalanced-q.pdf", true},
                 Case{"inherited.pdf", true}, Case{"contents-array.pdf", false}, Case{"objstm.pdf", true},
                 Case{"latin1-title.pdf", true}, Case{"pages-1000.pdf", true}}) {
    std::string in = pgtest::pdfgen_dir() + "/" + c.file;
    std::vector<std::pair<double, double>> sizes[2];
    std::vector<std::vector<Word>> words[2];
    int pages = 0;
    for (int plain = 0; plain < 2; plain++) {
      pg::StampOptions opt;
      opt.read_plain_objects = plain == 1;
      std::string out = d / (std::to_string(plain) + c.file);
      auto r = stamp_with(in, out, {}, opt);
      ASSERT_TRUE(r.incremental) << c.file << ": " << r.full_rewrite_reason;
      EXPECT_EQ(r.plain_pages, plain && c.plain ? r.pages : 0) << c.file;
      EXPECT_TRUE(qpdf_check_ok(out)) << c.file;
      words[plain] = page_words(out, sizes[plain]);
      pages = r.pages;
    }
    ASSERT_EQ(static_cast<int>(words[1].size()), pages) << c.file;
    EXPECT_EQ(sizes[0], sizes[1]) << c.file;
    ASSERT_EQ(words[0].size(), words[1].size()) << c.file;
    for (size_t p = 0; p < words[0].size(); p++) {
      ASSERT_EQ(words[0][p].size(), words[1][p].size()) << c.file << " page " << p + 1;
      for (size_t w = 0; w < words[0][p].size(); w++) {
        const Word &a = words[0][p][w], &b = words[1][p][w];
        EXPECT_EQ(a.text, b.text) << c.file << " page " << p + 1;
        EXPECT_NEAR(a.x0, b.x0, 0.01) << c.file << " page " << p + 1 << " " << a.text;
        EXPECT_NEAR(a.y0, b.y0, 0.01) << c.file << " page " << p + 1 << " " << a.text;
      }
    }
  }
}

TEST(StampIncremental, ResourcesByReferenceAreReadPlainAsQpdfReadsThem) {
  // Three pages whose /Resources is a reference: to a dictionary, to an
  // object that is missing (the page then inherits its node's), and to a
  // stream (no resources). Read plain or by qpdf, each form gets the same
  // /Resources and the pages show the same words.
  TempDir d;
  std::string c = "BT /F1 12 Tf 72 700 Td (Hello hand) Tj ET";
  std::vector<std::string> objs = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R 4 0 R 5 0 R] /Count 3 /Resources << /Font << /F1 7 0 R >> >> >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 8 0 R /Contents 6 0 R >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 99 0 R /Contents 6 0 R >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources 6 0 R /Contents 6 0 R >>",
      "<< /Length " + std::to_string(c.size()) + " >>\nstream\n" + c + "\nendstream",
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
      "<< /Font << /F1 7 0 R >> >>"};
  std::string in = d / "refs.pdf";
  pgtest::write_text(in, hand_pdf(objs));
  std::string updates[2];
  std::vector<std::vector<Word>> words[2];
  for (int plain = 0; plain < 2; plain++) {
    pg::StampOptions opt;
    opt.read_plain_objects = plain == 1;
    std::string out = d / ("out" + std::to_string(plain) + ".pdf");
    auto r = stamp_with(in, out, {}, opt);
    ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
    EXPECT_EQ(r.plain_pages, plain ? 3 : 0);
    updates[plain] = pgtest::slurp(out).substr(pgtest::slurp(in).size());
    std::vector<std::pair<double, double>> sizes;
    words[plain] = page_words(out, sizes);
    EXPECT_TRUE(qpdf_check_ok(out));  // (page 3's text has no font: not rendered)
  }
  for (auto& u : updates) {
    EXPECT_NE(u.find("/Resources 8 0 R"), std::string::npos) << u;
    EXPECT_NE(u.find("/Resources << /Font << /F1 7 0 R >> >>"), std::string::npos) << u;
    EXPECT_NE(u.find("/Resources << >>"), std::string::npos) << u;
  }
  ASSERT_EQ(words[0].size(), 3u);
  ASSERT_EQ(words[1].size(), 3u);
  for (size_t p = 0; p < 3; p++) {
    ASSERT_EQ(words[0][p].size(), words[1][p].size()) << "page " << p + 1;
    for (size_t w = 0; w < words[0][p].size(); w++) EXPECT_EQ(words[0][p][w].text, words[1][p][w].text);
  }
  // Page 1 and 2 show the content's words; page 3 (no font) not as text.
  auto has_hello = [](const std::vector<Word>& ws) {
    return std::any_of(ws.begin(), ws.end(), [](const Word& w) { return w.text == "Hello"; });
  };
  EXPECT_TRUE(has_hello(words[1][0]));
  EXPECT_TRUE(has_hello(words[1][1]));
}

TEST(StampIncremental, ResourcesAreCopiedAsReferencesWithoutReadingWhatTheyName) {
  // The page's resources name an image the content never draws, whose object is
  // unreadable. qpdf's unparse() would read it (to leave out null values) and
  // warn, sending the file to the full rewrite or refusing it; each page's
  // resources are copied as written instead, references and all, so a large
  // document's images are not read at all.
  TempDir d;
  auto objs = page_objs("3 0 R", 1);
  objs[2] = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> "
            "/XObject << /Im1 6 0 R /Gone 9 0 R >> >> /Contents 4 0 R >>";
  objs.push_back("this is not an object at all");
  std::string in = d / "unread.pdf", out = d / "out.pdf";
  pgtest::write_text(in, hand_pdf(objs));
  // Read plain (as written) and by qpdf (its entries in its order).
  for (bool plain : {true, false}) {
    pg::StampOptions opt;
    opt.read_plain_objects = plain;
    auto r = stamp_with(in, out, {}, opt);
    ASSERT_TRUE(r.incremental) << r.full_rewrite_reason;
    std::string update = pgtest::slurp(out).substr(pgtest::slurp(in).size());
    EXPECT_NE(update.find(plain ? "/XObject << /Im1 6 0 R /Gone 9 0 R >>" : "/XObject << /Gone 9 0 R /Im1 6 0 R >>"),
              std::string::npos)
        << update;
    check_all_pages(out, 1);
    EXPECT_TRUE(renders_cleanly(out, d));
  }
}
