// stamp.cc - PDF stamping with qpdf.
#include "stamp.h"

#include <cmath>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/QPDFWriter.hh>

#include "pdftext.h"
#include "util.h"

namespace pg {

namespace {

constexpr double kMargin = 18;  // points from the visible edge for header/footer

// to_box() - a rectangle array as a normalised Box; false if it is not one.
bool to_box(QPDFObjectHandle a, Box& b) {
  if (!a.isArray() || a.getArrayNItems() != 4) return false;
  double v[4];
  for (int i = 0; i < 4; i++) {
    auto o = a.getArrayItem(i);
    if (!o.isNumber()) return false;
    v[i] = o.getNumericValue();
    if (!std::isfinite(v[i]) || std::fabs(v[i]) > 1e6) return false;
  }
  b = {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
  return b.x1 - b.x0 >= 1 && b.y1 - b.y0 >= 1;
}

// open_pdf() - process a file with the filter's warning policy; throws Error.
void open_pdf(QPDF& pdf, const std::string& path, bool repair) {
  pdf.setSuppressWarnings(true);
  pdf.setAttemptRecovery(repair);
  try {
    pdf.processFile(path.c_str(), "");
  } catch (const QPDFExc& e) {
    std::string m = e.what();
    if (e.getErrorCode() == qpdf_e_password)
      throw Error("the PDF is encrypted and needs a password to open; printguard cannot stamp it");
    throw Error("the document is not a readable PDF: " + m);
  } catch (const std::exception& e) {
    throw Error(std::string("the document is not a readable PDF: ") + e.what());
  }
  if (!repair && pdf.anyWarnings()) {
    auto w = pdf.getWarnings();
    throw Error("the PDF is damaged (" + (w.empty() ? std::string("qpdf warning") : std::string(w.front().what())) +
                "); refusing it (set RepairDamagedPDF Yes to print repaired files)");
  }
}

// m_mul() - the product of two PDF matrices [a b c d e f].
struct M {
  double a, b, c, d, e, f;
};

std::string cm(const M& m) {
  return format_number(m.a) + " " + format_number(m.b) + " " + format_number(m.c) + " " + format_number(m.d) + " " +
         format_number(m.e) + " " + format_number(m.f);
}

// Pl_Limit - passes data on, but throws Error past a byte limit (decompression bombs).
class Pl_Limit : public Pipeline {
 public:
  Pl_Limit(Pipeline* to, long long limit) : Pipeline("printguard limit", to), limit_(limit) {}
  void write(unsigned char const* data, size_t len) override {
    seen_ += static_cast<long long>(len);
    if (seen_ > limit_)
      throw Error("a page's content decodes to more than " + std::to_string(limit_) + " bytes (MaxPageContent)");
    getNext()->write(data, len);
  }
  void finish() override { getNext()->finish(); }

 private:
  long long limit_, seen_ = 0;
};

// page_as_form() - a new form XObject holding the page's current content and
// resources. A single content stream is copied with its raw (still encoded) data;
// several are concatenated.
QPDFObjectHandle page_as_form(QPDF& pdf, QPDFPageObjectHelper& page, const Box& media, long long max_content) {
  auto po = page.getObjectHandle();
  auto contents = po.getKey("/Contents");
  QPDFObjectHandle fx;
  if (contents.isStream()) {
    fx = contents.copyStream();
  } else {
    Pl_Buffer buf("page contents");
    Pl_Limit limit(&buf, max_content);
    page.pipeContents(&limit);
    buf.finish();
    auto b = buf.getBufferSharedPointer();
    fx = QPDFObjectHandle::newStream(&pdf, std::string(reinterpret_cast<const char*>(b->getBuffer()), b->getSize()));
  }
  auto d = fx.getDict();
  d.replaceKey("/Type", QPDFObjectHandle::newName("/XObject"));
  d.replaceKey("/Subtype", QPDFObjectHandle::newName("/Form"));
  d.replaceKey("/BBox", QPDFObjectHandle::newArray(QPDFObjectHandle::Rectangle(media.x0, media.y0, media.x1, media.y1)));
  d.removeKey("/Matrix");
  auto res = po.getKey("/Resources");
  d.replaceKey("/Resources", res.isDictionary() ? res : QPDFObjectHandle::newDictionary());
  auto group = po.getKey("/Group");
  if (group.isDictionary()) d.replaceKey("/Group", group);
  return fx;
}

}  // namespace

std::string stamp_content(const Box& box, int rotate, const QueueSettings& s, const std::vector<std::string>& lines) {
  rotate = ((rotate % 360) + 360) % 360;
  double bw = box.x1 - box.x0, bh = box.y1 - box.y0;
  bool swap = rotate == 90 || rotate == 270;
  double W = swap ? bh : bw, H = swap ? bw : bh;
  // Display space (upright as the page is shown, origin lower left) to user space.
  M to_user{1, 0, 0, 1, box.x0, box.y0};
  if (rotate == 90) to_user = {0, 1, -1, 0, box.x1, box.y0};
  if (rotate == 180) to_user = {-1, 0, 0, -1, box.x1, box.y1};
  if (rotate == 270) to_user = {0, -1, 1, 0, box.x0, box.y1};

  std::string c = "q\n" + cm(to_user) + " cm\n/PGgs gs\n" + format_number(s.gray) + " g\nBT\n";
  size_t n = lines.size();
  double fs = s.font_size;
  if (s.placement == Placement::Diagonal && !s.font_size_set) fs = 40;
  for (size_t k = 0; k < n; k++) {
    double size = fs;
    double width = helvetica_width(lines[k], size);
    double leading = fs * 1.25;
    double angle = 0, x = 0, y = 0;
    if (s.placement == Placement::Header || s.placement == Placement::Footer) {
      double avail = W - 2 * kMargin;
      if (width > avail && width > 0) {
        size = size * avail / width;
        width = avail;
      }
      x = (W - width) / 2;
      if (s.placement == Placement::Header)
        y = H - kMargin - fs * 0.75 - static_cast<double>(k) * leading;
      else
        y = kMargin + fs * 0.25 + static_cast<double>(n - 1 - k) * leading;
    } else if (s.placement == Placement::Diagonal) {
      angle = std::atan2(H, W);
      double avail = std::hypot(W, H) * 0.85;
      if (width > avail && width > 0) {
        size = size * avail / width;
        width = avail;
      }
      double off = (static_cast<double>(n - 1) / 2 - static_cast<double>(k)) * leading;
      double dx = std::cos(angle), dy = std::sin(angle), nx = -dy, ny = dx;
      double cx = W / 2 + nx * off, cy = H / 2 + ny * off;
      x = cx - dx * width / 2 - nx * size * 0.35;
      y = cy - dy * width / 2 - ny * size * 0.35;
    } else {
      angle = s.rotation * M_PI / 180.0;
      double nx = -std::sin(angle), ny = std::cos(angle);
      x = s.pos_x - nx * static_cast<double>(k) * leading;
      y = s.pos_y - ny * static_cast<double>(k) * leading;
    }
    double ca = std::cos(angle), sa = std::sin(angle);
    c += "/PGfont " + format_number(size) + " Tf\n" + cm({ca, sa, -sa, ca, x, y}) + " Tm\n" + pdf_literal(lines[k]) + " Tj\n";
  }
  c += "ET\nQ\n";
  return c;
}

int count_pdf_pages(const std::string& path, bool repair_damaged) {
  QPDF pdf;
  open_pdf(pdf, path, repair_damaged);
  try {
    return static_cast<int>(QPDFPageDocumentHelper(pdf).getAllPages().size());
  } catch (const std::exception& e) {
    throw Error(std::string("the PDF's page tree is broken: ") + e.what());
  }
}

StampResult stamp_pdf(const std::string& in, const std::string& out, const QueueSettings& s,
                      const std::function<std::string(int, int)>& text_for_page) {
  StampResult res;
  QPDF pdf;
  open_pdf(pdf, in, s.repair_damaged);
  try {
    QPDFPageDocumentHelper dh(pdf);
    dh.pushInheritedAttributesToPage();
    auto pages = dh.getAllPages();
    if (pages.empty()) throw Error("the PDF has no pages");
    if (static_cast<long long>(pages.size()) > s.max_pages)
      throw Error("the PDF has " + std::to_string(pages.size()) + " pages, more than MaxPages " + std::to_string(s.max_pages));
    res.pages = static_cast<int>(pages.size());

    auto font = pdf.makeIndirectObject(QPDFObjectHandle::parse(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"));
    auto gs = pdf.makeIndirectObject(QPDFObjectHandle::parse(
        "<< /Type /ExtGState /ca " + format_number(s.opacity) + " /CA " + format_number(s.opacity) + " >>"));

    int i = 0;
    for (auto& page : pages) {
      i++;
      auto po = page.getObjectHandle();
      Box media, crop;
      if (!to_box(page.getMediaBox(), media)) throw Error("page " + std::to_string(i) + " has no valid MediaBox");
      if (!to_box(page.getCropBox(), crop)) crop = media;
      // The visible area is the CropBox clipped to the MediaBox.
      crop = {std::max(crop.x0, media.x0), std::max(crop.y0, media.y0), std::min(crop.x1, media.x1),
              std::min(crop.y1, media.y1)};
      if (crop.x1 - crop.x0 < 1 || crop.y1 - crop.y0 < 1) crop = media;
      int rotate = 0;
      auto r = po.getKey("/Rotate");
      if (r.isInteger()) rotate = static_cast<int>(((r.getIntValue() % 360) + 360) % 360);
      if (rotate % 90) rotate = 0;

      // The original content becomes a form XObject: whatever graphics state it
      // leaves behind (unbalanced q/Q, cm, clip) ends with the XObject.
      auto fx = page_as_form(pdf, page, media, s.max_content_bytes);

      std::vector<std::string> lines;
      std::string text = text_for_page(i, res.pages);
      size_t p = 0;
      while (true) {
        size_t nl = text.find('\n', p);
        auto enc = encode_winansi(text.substr(p, nl == std::string::npos ? std::string::npos : nl - p));
        lines.push_back(enc.bytes);
        if (i == 1) res.replaced.insert(res.replaced.end(), enc.replaced.begin(), enc.replaced.end());
        if (nl == std::string::npos) break;
        p = nl + 1;
      }
      std::string content = "q /PGpage Do Q\n" + stamp_content(crop, rotate, s, lines);
      auto resources = QPDFObjectHandle::newDictionary();
      auto xo = QPDFObjectHandle::newDictionary();
      xo.replaceKey("/PGpage", fx);
      auto fonts = QPDFObjectHandle::newDictionary();
      fonts.replaceKey("/PGfont", font);
      auto gss = QPDFObjectHandle::newDictionary();
      gss.replaceKey("/PGgs", gs);
      resources.replaceKey("/XObject", xo);
      resources.replaceKey("/Font", fonts);
      resources.replaceKey("/ExtGState", gss);
      po.replaceKey("/Contents", QPDFObjectHandle::newStream(&pdf, content));
      po.replaceKey("/Resources", resources);
    }

    if (s.hide_titles) {
      // The document's own title must not reach the printer's panel or disk:
      // drop Info /Title (and /Subject, /Keywords) and the XMP metadata (dc:title).
      auto info = pdf.getTrailer().getKey("/Info");
      if (info.isDictionary())
        for (const char* k : {"/Title", "/Subject", "/Keywords"}) info.removeKey(k);
      pdf.getRoot().removeKey("/Metadata");
    }

    QPDFWriter w(pdf, out.c_str());
    w.setPreserveEncryption(false);
    w.write();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(std::string("cannot stamp the PDF: ") + e.what());
  }
  if (pdf.anyWarnings()) {
    auto ws = pdf.getWarnings();
    if (!s.repair_damaged)
      throw Error("the PDF is damaged (" + (ws.empty() ? std::string("qpdf warning") : std::string(ws.front().what())) +
                  "); refusing it (set RepairDamagedPDF Yes to print repaired files)");
    for (auto& x : ws) res.warnings.push_back(x.what());
  }
  return res;
}

}  // namespace pg
