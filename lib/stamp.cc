// stamp.cc - PDF stamping with qpdf.
#include "stamp.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <set>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <qpdf/InputSource.hh>
#include <qpdf/Pl_Flate.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/Pl_Buffer.hh>
#include <qpdf/QPDFWriter.hh>

#include "pdftext.h"
#include "rawpdf.h"
#include "util.h"

namespace pg {

namespace {

constexpr double kMargin = 18;  // points from the visible edge for header/footer

// to_box() - the four numbers of a rectangle as a normalised Box; false if
// they are not a usable one.
bool to_box(const double (&v)[4], Box& b) {
  for (double x : v)
    if (!std::isfinite(x) || std::fabs(x) > 1e6) return false;
  b = {std::min(v[0], v[2]), std::min(v[1], v[3]), std::max(v[0], v[2]), std::max(v[1], v[3])};
  return b.x1 - b.x0 >= 1 && b.y1 - b.y0 >= 1;
}

// to_box() - a rectangle array as a normalised Box; false if it is not one.
bool to_box(QPDFObjectHandle a, Box& b) {
  if (!a.isArray() || a.getArrayNItems() != 4) return false;
  double v[4];
  for (int i = 0; i < 4; i++) {
    auto o = a.getArrayItem(i);
    if (!o.isNumber()) return false;
    v[i] = o.getNumericValue();
  }
  return to_box(v, b);
}

// InputFile - an open regular file read with pread (never mapped: qpdf reads
// small pieces all over a file, and mapped pages would count as ours in RSS).
class InputFile {
 public:
  explicit InputFile(const std::string& path) : path_(path) {
    fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) throw Error("cannot open " + path + ": " + strerror(errno));
    struct stat st;
    if (fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
      close(fd_);
      throw Error("cannot read " + path + ": not a regular file");
    }
    size_ = static_cast<long long>(st.st_size);
  }
  ~InputFile() { close(fd_); }
  InputFile(const InputFile&) = delete;
  InputFile& operator=(const InputFile&) = delete;
  int fd() const { return fd_; }
  long long size() const { return size_; }
  const std::string& path() const { return path_; }
  // read_at() - up to len bytes at off (fewer at the end of the file); throws Error.
  std::string read_at(long long off, size_t len) const {
    std::string r(len, '\0');
    size_t got = 0;
    while (got < len) {
      ssize_t n = pread(fd_, r.data() + got, len - got, static_cast<off_t>(off) + static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error("cannot read " + path_ + ": " + strerror(errno));
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    r.resize(got);
    return r;
  }

 private:
  std::string path_;
  int fd_ = -1;
  long long size_ = 0;
};

// PreadSource - a qpdf InputSource over pread() with a cache of a few blocks:
// no system call per seek (FILE* input lseeks dozens of times per page), nor
// per object when the reads alternate between the page objects and their
// content streams, which a file may keep in different places.
class PreadSource : public InputSource {
 public:
  PreadSource(const InputFile& f) : name_(f.path()), size_(f.size()), fd_(dup(f.fd())), cache_(fd_, f.size()) {
    if (fd_ < 0) throw Error("cannot read " + f.path() + ": " + strerror(errno));
  }
  ~PreadSource() override { close(fd_); }
  qpdf_offset_t findAndSkipNextEOL() override {
    // The offset of the next end of line; the position moves past all of its
    // CR/LF. Scanned a cached block at a time (qpdf asks once a table entry).
    qpdf_offset_t result = size_;
    bool in_eol = false;
    while (pos_ < size_) {
      const BlockCache::Block* b = cache_.load(pos_, name_);
      if (!b) break;
      const char* base = b->data.data();
      const char* p = base + (pos_ - b->start);
      const char* end = base + b->data.size();
      if (!in_eol) {
        while (p < end && *p != '\r' && *p != '\n') p++;
        if (p < end) {
          result = b->start + (p - base);
          in_eol = true;
        }
      }
      if (in_eol) {
        while (p < end && (*p == '\r' || *p == '\n')) p++;
        pos_ = b->start + (p - base);
        if (p < end) return result;
      } else {
        pos_ = b->start + (end - base);
      }
    }
    pos_ = std::min(pos_, size_);
    return result;
  }
  std::string const& getName() const override { return name_; }
  qpdf_offset_t tell() override { return pos_; }
  void seek(qpdf_offset_t offset, int whence) override {
    qpdf_offset_t base = whence == SEEK_SET ? 0 : whence == SEEK_CUR ? pos_ : size_;
    if (whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END)
      throw std::logic_error("PreadSource::seek: bad whence");
    if (offset < 0 && base < -offset) throw std::runtime_error(name_ + ": seek before the beginning of the file");
    pos_ = base + offset;
  }
  void rewind() override { pos_ = 0; }
  size_t read(char* out, size_t length) override {
    last_offset = pos_;
    size_t n = pos_ < size_ ? cache_.copy(pos_, std::min(length, static_cast<size_t>(size_ - pos_)), out, name_) : 0;
    pos_ += static_cast<qpdf_offset_t>(n);
    return n;
  }
  void unreadCh(char) override {
    if (pos_ > 0) pos_--;
  }

 private:
  std::string name_;
  qpdf_offset_t size_ = 0, pos_ = 0;
  int fd_ = -1;
  BlockCache cache_;
};

// damaged_error() - the error for a PDF qpdf warned about while RepairDamagedPDF is No.
Error damaged_error(QPDF& pdf) {
  auto w = pdf.getWarnings();
  return Error("the PDF is damaged (" + (w.empty() ? std::string("qpdf warning") : std::string(w.front().what())) +
               "); refusing it (set RepairDamagedPDF Yes to print repaired files)");
}

// open_pdf() - process a mapped file with the filter's warning policy; throws Error.
void open_pdf(QPDF& pdf, const InputFile& f, bool repair) {
  pdf.setSuppressWarnings(true);
  pdf.setAttemptRecovery(repair);
  try {
    pdf.processInputSource(std::make_shared<PreadSource>(f), "");
  } catch (const QPDFExc& e) {
    std::string m = e.what();
    if (e.getErrorCode() == qpdf_e_password)
      throw Error("the PDF is encrypted and needs a password to open; printguard cannot stamp it");
    throw Error("the document is not a readable PDF: " + m);
  } catch (const std::exception& e) {
    throw Error(std::string("the document is not a readable PDF: ") + e.what());
  }
  if (!repair && pdf.anyWarnings()) throw damaged_error(pdf);
}

// m_mul() - the product of two PDF matrices [a b c d e f].
struct M {
  double a, b, c, d, e, f;
};

// cm() - the six numbers of a matrix, space separated, for cm and Tm operators.
std::string cm(const M& m) {
  std::string r;
  r.reserve(64);
  for (double v : {m.a, m.b, m.c, m.d, m.e, m.f}) {
    if (!r.empty()) r += ' ';
    append_number(r, v);
  }
  return r;
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

// StampFrame - a page's visible box as the reader sees it (upright, origin
// lower left): its size, and the matrix from there to user space.
struct StampFrame {
  double W, H;
  M to_user;
};

// stamp_frame() - the StampFrame of visible box `box` on a page of /Rotate `rotate`.
StampFrame stamp_frame(const Box& box, int rotate) {
  rotate = ((rotate % 360) + 360) % 360;
  double bw = box.x1 - box.x0, bh = box.y1 - box.y0;
  bool swap = rotate == 90 || rotate == 270;
  StampFrame f{swap ? bh : bw, swap ? bw : bh, {1, 0, 0, 1, box.x0, box.y0}};
  if (rotate == 90) f.to_user = {0, 1, -1, 0, box.x1, box.y0};
  if (rotate == 180) f.to_user = {-1, 0, 0, -1, box.x1, box.y1};
  if (rotate == 270) f.to_user = {0, -1, 1, 0, box.x0, box.y1};
  return f;
}

// append_stamp_head() - what the stamp's text objects are drawn in: display
// space, the graphics state and the gray; opens the q and the BT.
void append_stamp_head(std::string& c, const StampFrame& f, const QueueSettings& s) {
  c += "q\n";
  c += cm(f.to_user);
  c += " cm\n/PGgs gs\n";
  append_number(c, s.gray);
  c += " g\nBT\n";
}

// append_stamp_lines() - each line set where the placement puts it, then the
// ET and Q that close append_stamp_head()'s.
void append_stamp_lines(std::string& c, const StampFrame& f, const QueueSettings& s,
                        const std::vector<std::string>& lines) {
  const double W = f.W, H = f.H;
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
    c += "/PGfont ";
    append_number(c, size);
    c += " Tf\n";
    c += cm({ca, sa, -sa, ca, x, y});
    c += " Tm\n";
    c += pdf_literal(lines[k]);
    c += " Tj\n";
  }
  c += "ET\nQ\n";
}

}  // namespace

std::string stamp_content(const Box& box, int rotate, const QueueSettings& s, const std::vector<std::string>& lines) {
  StampFrame f = stamp_frame(box, rotate);
  std::string c;
  append_stamp_head(c, f, s);
  append_stamp_lines(c, f, s, lines);
  return c;
}

namespace {

// PageGeometry - what the stamp needs to know about a page's boxes.
struct PageGeometry {
  Box media, crop;
  int rotate = 0;
};

// geometry_from() - geometry_of() from the values already read: the boxes
// (null where not a valid one) and the /Rotate integer (0 where none).
PageGeometry geometry_from(const Box* media_box, const Box* crop_box, long long rotate, int i) {
  PageGeometry g;
  if (!media_box) throw Error("page " + std::to_string(i) + " has no valid MediaBox");
  g.media = *media_box;
  Box& crop = g.crop;
  const Box& media = g.media;
  crop = crop_box ? *crop_box : media;
  // The visible area is the CropBox clipped to the MediaBox.
  crop = {std::max(crop.x0, media.x0), std::max(crop.y0, media.y0), std::min(crop.x1, media.x1),
          std::min(crop.y1, media.y1)};
  if (crop.x1 - crop.x0 < 1 || crop.y1 - crop.y0 < 1) crop = media;
  g.rotate = static_cast<int>(((rotate % 360) + 360) % 360);
  if (g.rotate % 90) g.rotate = 0;
  return g;
}

// geometry_of() - MediaBox, visible box (CropBox clipped to MediaBox) and a
// right-angle /Rotate of page i (1-based), from the page's (inherited) values;
// throws Error.
PageGeometry geometry_of(QPDFObjectHandle media_box, QPDFObjectHandle crop_box, QPDFObjectHandle rotate, int i) {
  Box media, crop;
  bool has_media = to_box(media_box, media), has_crop = to_box(crop_box, crop);
  long long r = rotate.isInteger() ? rotate.getIntValue() : 0;
  return geometry_from(has_media ? &media : nullptr, has_crop ? &crop : nullptr, r, i);
}

// page_geometry() - geometry_of() page i, inherited values included (qpdf's lookup).
PageGeometry page_geometry(QPDFPageObjectHelper& page, int i) {
  return geometry_of(page.getMediaBox(), page.getCropBox(), page.getAttribute("/Rotate", false), i);
}

// page_lines() - the stamp text of page i split into WinAnsi lines; the
// characters replaced on page 1 are added to res.replaced.
std::vector<std::string> page_lines(const std::string& text, int i, StampResult& res) {
  std::vector<std::string> lines;
  size_t p = 0;
  while (true) {
    size_t nl = text.find('\n', p);
    auto enc = encode_winansi(text.substr(p, nl == std::string::npos ? std::string::npos : nl - p));
    lines.push_back(enc.bytes);
    if (i == 1) res.replaced.insert(res.replaced.end(), enc.replaced.begin(), enc.replaced.end());
    if (nl == std::string::npos) break;
    p = nl + 1;
  }
  return lines;
}

// PageStamp - each page's stamp content ("q /PGpage Do Q" and the text over
// it), reusing the previous page's when the text and the visible box are the
// same: the usual case (a template without ${page}, pages of one size), where
// encoding and laying out the text again would cost more than the page itself.
class PageStamp {
 public:
  PageStamp(const QueueSettings& s, StampResult& res) : s_(s), res_(res) {}
  // content() - the content stream of page i, whose stamp text is `text`.
  const std::string& content(const std::string& text, const PageGeometry& g, int i) {
    bool new_text = i == 1 || text != text_;
    if (new_text) {
      lines_ = page_lines(text, i, res_);
      text_ = text;
    }
    const Box& b = g.crop;
    bool new_box = head_.empty() || b.x0 != box_.x0 || b.y0 != box_.y0 || b.x1 != box_.x1 || b.y1 != box_.y1 ||
                   g.rotate != rotate_;
    if (new_box) {
      frame_ = stamp_frame(b, g.rotate);
      head_ = "q /PGpage Do Q\n";
      append_stamp_head(head_, frame_, s_);
      box_ = b;
      rotate_ = g.rotate;
    }
    if (new_text || new_box) {
      content_ = head_;
      append_stamp_lines(content_, frame_, s_, lines_);
    }
    return content_;
  }

 private:
  const QueueSettings& s_;
  StampResult& res_;
  std::string text_, head_, content_;  // head_: the content up to the lines, for box_ and rotate_
  std::vector<std::string> lines_;
  StampFrame frame_{};
  Box box_;
  int rotate_ = 0;
};

// check_page_count() - throws Error past MaxPages or for a document without pages.
void check_page_count(size_t n, const QueueSettings& s) {
  if (n == 0) throw Error("the PDF has no pages");
  if (static_cast<long long>(n) > s.max_pages)
    throw Error("the PDF has " + std::to_string(n) + " pages, more than MaxPages " + std::to_string(s.max_pages));
}

// font_dict(), gs_dict() - the stamp's font and graphics state (PDF syntax).
const char* font_dict() { return "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"; }
std::string gs_dict(const QueueSettings& s) {
  return "<< /Type /ExtGState /ca " + format_number(s.opacity) + " /CA " + format_number(s.opacity) + " >>";
}

// stamp_full() - the full rewrite: every page's content becomes a form XObject
// under the stamp, metadata dropped if titles are hidden, the whole file written
// anew by QPDFWriter (decrypted).
StampResult stamp_full(QPDF& pdf, const std::string& out, const QueueSettings& s,
                       const std::function<std::string(int, int)>& text_for_page) {
  StampResult res;
  try {
    QPDFPageDocumentHelper dh(pdf);
    dh.pushInheritedAttributesToPage();
    auto pages = dh.getAllPages();
    check_page_count(pages.size(), s);
    res.pages = static_cast<int>(pages.size());

    auto font = pdf.makeIndirectObject(QPDFObjectHandle::parse(font_dict()));
    auto gs = pdf.makeIndirectObject(QPDFObjectHandle::parse(gs_dict(s)));

    PageStamp stamper(s, res);
    int i = 0;
    for (auto& page : pages) {
      i++;
      auto po = page.getObjectHandle();
      PageGeometry g = page_geometry(page, i);
      // The original content becomes a form XObject: whatever graphics state it
      // leaves behind (unbalanced q/Q, cm, clip) ends with the XObject.
      auto fx = page_as_form(pdf, page, g.media, s.max_content_bytes);
      const std::string& content = stamper.content(text_for_page(i, res.pages), g, i);
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
    if (!s.repair_damaged) throw damaged_error(pdf);
    for (auto& x : pdf.getWarnings()) res.warnings.push_back(x.what());
  }
  return res;
}

// Entries - a dictionary's entries as qpdf keeps them (names decoded, with the slash).
using Entries = std::map<std::string, QPDFObjectHandle>;

void unparse_shallow(QPDFObjectHandle o, std::string& out);

// append_name() - the name k, as qpdf keeps it, in PDF syntax: as it is when it
// has only regular characters (the usual case), else as qpdf writes it.
void append_name(const std::string& k, std::string& out) {
  bool plain = k.size() > 1 && k[0] == '/';
  for (size_t i = 1; plain && i < k.size(); i++) {
    unsigned char c = static_cast<unsigned char>(k[i]);
    plain = c > 32 && c < 127 && !strchr("#()<>[]{}/%", c);
  }
  if (plain)
    out += k;
  else
    out += QPDFObjectHandle::newName(k).unparse();
}

// append_entries() - the entries as unparse_shallow() writes them, each after
// a space, leaving out the keys in `except`.
void append_entries(Entries& entries, std::string& out, std::initializer_list<const char*> except = {}) {
  for (auto& [k, v] : entries) {
    if (std::find_if(except.begin(), except.end(), [&k = k](const char* e) { return k == e; }) != except.end())
      continue;
    if (!v.isIndirect() && v.isNull()) continue;  // a direct null is an absent key
    out += ' ';
    append_name(k, out);
    out += ' ';
    unparse_shallow(v, out);
  }
}

// unparse_shallow() - o in PDF syntax with indirect references written as they
// are: qpdf's unparse() reads every object a dictionary refers to (to leave out
// nulls), which for a page's resources means every image it draws.
void unparse_shallow(QPDFObjectHandle o, std::string& out) {
  if (o.isIndirect()) {
    out += std::to_string(o.getObjectID());
    out += ' ';
    out += std::to_string(o.getGeneration());
    out += " R";
    return;
  }
  switch (o.getTypeCode()) {
    case ::ot_integer:
      out += std::to_string(o.getIntValue());
      break;
    case ::ot_name:
      append_name(o.getName(), out);
      break;
    case ::ot_dictionary: {
      Entries entries = o.getDictAsMap();
      out += "<<";
      append_entries(entries, out);
      out += " >>";
      break;
    }
    case ::ot_array:
      out += "[";
      for (int i = 0, n = o.getArrayNItems(); i < n; i++) {
        out += ' ';
        unparse_shallow(o.getArrayItem(i), out);
      }
      out += " ]";
      break;
    default:
      out += o.unparse();
  }
}

// shallow() - unparse_shallow() as a string.
std::string shallow(QPDFObjectHandle o) {
  std::string out;
  unparse_shallow(o, out);
  return out;
}

// FullRewrite - thrown inside the incremental path when an explicit check finds a
// file it must not update in place; carries the reason.
struct FullRewrite {
  std::string why;
};

// last_startxref() - the offset named by the file's last `startxref`; -1 if none.
long long last_startxref(const InputFile& f) {
  long long from = f.size() > 1024 ? f.size() - 1024 : 0;
  std::string tail = f.read_at(from, static_cast<size_t>(f.size() - from));
  size_t at = tail.rfind("startxref");
  if (at == std::string::npos) return -1;
  size_t p = at + 9;
  while (p < tail.size() && strchr(" \t\r\n\f", tail[p]) && tail[p]) p++;
  long long v = 0;
  size_t digits = 0;
  while (p < tail.size() && tail[p] >= '0' && tail[p] <= '9' && digits < 15) v = v * 10 + (tail[p++] - '0'), digits++;
  return digits ? v : -1;
}

// ObjWriter - the bytes of an incremental update and the offsets of its objects.
class ObjWriter {
 public:
  ObjWriter(ChunkedBuffer& buf, size_t base) : buf_(buf), base_(base) {}
  // begin() - start object num gen at the current offset.
  void begin(int num, int gen) {
    offsets_.push_back({num, gen, offset()});
    buf_ += std::to_string(num) + " " + std::to_string(gen) + " obj\n";
  }
  // object() - a whole non-stream object.
  void object(int num, int gen, const std::string& body) {
    begin(num, gen);
    buf_ += body;
    buf_ += "\nendobj\n";
  }
  // stream() - a stream object: dict (without /Length, closing >> excluded) and data.
  void stream(int num, const std::string& dict_head, const char* data, size_t len) {
    begin(num, 0);
    buf_ += dict_head;
    buf_ += " /Length " + std::to_string(len) + " >>\nstream\n";
    buf_.append(data, len);
    buf_ += "\nendstream\nendobj\n";
  }
  long long offset() const { return static_cast<long long>(base_ + buf_.size()); }
  struct Entry {
    int num, gen;
    long long off;
  };
  std::vector<Entry>& entries() { return offsets_; }

 private:
  ChunkedBuffer& buf_;
  size_t base_;
  std::vector<Entry> offsets_;
};

// put_digits() - v in decimal, zero-padded to exactly width digits, at p
// (the caller keeps v below 10^width).
void put_digits(char* p, int width, unsigned long long v) {
  for (int i = width - 1; i >= 0; i--, v /= 10) p[i] = static_cast<char>('0' + v % 10);
}

// subsections() - sorted entries grouped into runs of consecutive object numbers.
std::vector<std::pair<size_t, size_t>> subsections(std::vector<ObjWriter::Entry>& e) {
  int lowest = 0, highest = 0;
  for (auto& x : e) lowest = std::min(lowest, x.num), highest = std::max(highest, x.num);
  if (lowest >= 0 && static_cast<size_t>(highest) < 4 * e.size() + 1024) {
    // Numbers this dense (the usual case): each entry goes to its number's place.
    std::vector<int> at(static_cast<size_t>(highest) + 1, -1);
    for (size_t i = 0; i < e.size(); i++) {
      int& slot = at[static_cast<size_t>(e[i].num)];
      if (slot >= 0) throw FullRewrite{"an object would be written twice"};
      slot = static_cast<int>(i);
    }
    std::vector<ObjWriter::Entry> sorted;
    sorted.reserve(e.size());
    for (int i : at)
      if (i >= 0) sorted.push_back(e[static_cast<size_t>(i)]);
    e = std::move(sorted);
  } else {
    std::sort(e.begin(), e.end(), [](const auto& a, const auto& b) { return a.num < b.num; });
  }
  std::vector<std::pair<size_t, size_t>> runs;  // [first index, count]
  for (size_t i = 0; i < e.size(); i++) {
    if (i > 0 && e[i].num == e[i - 1].num) throw FullRewrite{"an object would be written twice"};
    if (!runs.empty() && e[i].num == e[i - 1].num + 1)
      runs.back().second++;
    else
      runs.push_back({i, 1});
  }
  return runs;
}

// PendingStamp - a page whose stamp content stream is still to be written.
struct PendingStamp {
  int page, content_num;
  PageGeometry geometry;
};

// Inherited - the attributes a page may inherit from its page-tree node:
// MediaBox, CropBox, Rotate, Resources (a null object where there is none).
struct Inherited {
  QPDFObjectHandle media, crop, rotate, resources;
};

// Kind - what a page's entry is for the form: missing (or null), a
// dictionary (or a reference to one), or anything else.
enum class Kind { none, dictionary, other };

// PageRef - a page of the tree: its object, and if `plain`, the object as the
// RawReader read it (else qpdf reads it).
struct PageRef {
  QPDFObjectHandle handle;
  bool plain = false;
  RawObject raw;
};

// PagePart - one thread's share of the pages for stamp_incremental(): the parse
// it reads them from, its pages, and what it wrote for them.
struct PagePart {
  QPDF* pdf = nullptr;
  std::unique_ptr<RawReader> raw;  // reads the pages and content streams in the plain subset, if set
  std::string data;                // a content stream's data, read by raw
  std::map<QPDFObjGen, Kind> kinds;  // what value_kind() found each object to be
  std::vector<PageRef> pages;      // in document order within each page-tree node taken
  int plain_pages = 0;             // how many of them stamp_plain_page() did
  std::set<QPDFObjGen> nodes;  // every page-tree node and page met
  ChunkedBuffer buf;           // its pages' objects, offsets relative to the buffer
  std::vector<ObjWriter::Entry> entries;
  std::vector<PendingStamp> stamps;
  ChunkedBuffer stamp_buf;  // the stamps' content streams, likewise
  std::vector<ObjWriter::Entry> stamp_entries;
  std::map<std::pair<QPDFObjGen, std::string>, int> forms;  // (content, form dict) -> form shared by pages
  std::map<QPDFObjGen, Inherited> inherited;  // page-tree node -> what its pages inherit (inherited_from())
  QPDFObjectHandle null = QPDFObjectHandle::newNull();  // the value of an absent key
  Inherited none{null, null, null, null};               // what a page without a /Parent inherits
  // Taken - what was written for one unit of the page tree (tree_units()): its
  // index, and where its bytes and entries begin and end in buf and entries.
  struct Taken {
    int unit;
    size_t bytes_from, bytes_to, entries_from, entries_to;
  };
  std::vector<Taken> taken;
};

// in_unit_order() - rewrite part's buf and entries so that the units' objects
// follow each other in document order, whatever order they were taken in.
void in_unit_order(PagePart& part) {
  auto taken = part.taken;
  std::sort(taken.begin(), taken.end(), [](const PagePart::Taken& a, const PagePart::Taken& b) { return a.unit < b.unit; });
  ChunkedBuffer buf;
  std::vector<ObjWriter::Entry> entries;
  entries.reserve(part.entries.size());
  for (auto& t : taken) {
    long long shift = static_cast<long long>(buf.size()) - static_cast<long long>(t.bytes_from);
    buf.append_range(part.buf, t.bytes_from, t.bytes_to);
    for (size_t e = t.entries_from; e < t.entries_to; e++)
      entries.push_back({part.entries[e].num, part.entries[e].gen, part.entries[e].off + shift});
  }
  part.buf = std::move(buf);
  part.entries = std::move(entries);
}

// value_or() - entries' value for key k, unless it is absent or null: then `otherwise`.
QPDFObjectHandle value_or(Entries& entries, const std::string& k, const QPDFObjectHandle& otherwise) {
  auto it = entries.find(k);
  return it == entries.end() || it->second.isNull() ? otherwise : it->second;
}

const Inherited& inherited_from(PagePart& part, QPDFObjectHandle node, int depth);

// inherited_via_parent() - what the /Parent among `entries` (a page's or a
// node's) passes down; part.none where there is none. depth: the entries' own.
const Inherited& inherited_via_parent(PagePart& part, Entries& entries, int depth = 0) {
  auto parent = value_or(entries, "/Parent", part.null);
  return parent.isNull() ? part.none : inherited_from(part, parent, depth + 1);
}

// inherited_from() - what the pages under page-tree node `node` inherit: its
// own MediaBox, CropBox, Rotate and Resources, else what its /Parent passes
// down (as qpdf looks them up); cached in part per node. Throws FullRewrite
// where the /Parent chain is not one of indirect dictionaries, or loops.
const Inherited& inherited_from(PagePart& part, QPDFObjectHandle node, int depth) {
  if (!node.isIndirect() || !node.isDictionary()) throw FullRewrite{"a /Parent is not an indirect dictionary"};
  auto og = node.getObjGen();
  auto known = part.inherited.find(og);
  if (known != part.inherited.end()) return known->second;
  if (depth >= 64) throw FullRewrite{"a /Parent chain is more than 64 nodes long or loops"};
  Entries entries = node.getDictAsMap();
  const Inherited& up = inherited_via_parent(part, entries, depth);
  Inherited here{value_or(entries, "/MediaBox", up.media), value_or(entries, "/CropBox", up.crop),
                 value_or(entries, "/Rotate", up.rotate), value_or(entries, "/Resources", up.resources)};
  return part.inherited.emplace(og, std::move(here)).first->second;
}

// collect_pages() - append the pages under node (depth levels below the root)
// to part.pages in document order; only a plain tree is accepted: every node an
// indirect dictionary of /Type /Pages (with /Kids) or /Page, none met twice.
// Throws FullRewrite for anything else, Error past MaxPages.
void collect_pages(QPDFObjectHandle node, int depth, PagePart& part, const QueueSettings& s) {
  if (!node.isIndirect()) throw FullRewrite{"a page-tree node is not an indirect dictionary"};
  PageRef page;
  page.handle = node;
  // A page in the plain subset is read straight from the file, the others by qpdf.
  page.plain = part.raw && part.raw->read(node.getObjGen(), page.raw) && !page.raw.stream &&
               page.raw.value.kind == RawValue::Dict && has_name(page.raw, "/Type", "/Page");
  if (!page.plain && !node.isDictionary()) throw FullRewrite{"a page-tree node is not an indirect dictionary"};
  if (!part.nodes.insert(node.getObjGen()).second) throw FullRewrite{"several pages share one page object"};
  if (page.plain || node.getKey("/Type").isNameAndEquals("/Page")) {
    part.pages.push_back(std::move(page));
    if (static_cast<long long>(part.pages.size()) > s.max_pages)
      throw Error("the PDF has more pages than MaxPages " + std::to_string(s.max_pages));
    return;
  }
  auto type = node.getKey("/Type");
  auto kids = node.getKey("/Kids");
  if (!type.isNameAndEquals("/Pages") || !kids.isArray())
    throw FullRewrite{"a page-tree node is neither /Type /Pages with /Kids nor /Type /Page"};
  if (depth >= 64) throw FullRewrite{"the page tree is more than 64 levels deep"};
  for (auto& kid : kids.aitems()) collect_pages(kid, depth + 1, part, s);
}

// form_head() - the dictionary of a page's form XObject so far: /BBox (its
// MediaBox), /Resources and, unless `group` is empty, /Group (PDF syntax).
std::string form_head(const PageGeometry& g, const std::string& resources, const std::string& group) {
  std::string head = "<< /Type /XObject /Subtype /Form /BBox [" + format_number(g.media.x0) + " " +
                     format_number(g.media.y0) + " " + format_number(g.media.x1) + " " + format_number(g.media.y1) +
                     "] /Resources " + resources;
  if (!group.empty()) head += " /Group " + group;
  return head;
}

// write_page_again() - page i's stamp numbered (from next) for write_stamps()
// to write later, then its page object og again: `dict` (its other entries,
// after "<<") with the stamp as content over form form_num, and resources.
void write_page_again(PagePart& part, ObjWriter& w, QPDFObjGen og, int i, int& next, const PageGeometry& g,
                      std::string& dict, int form_num, const std::string& fixed_res) {
  int content_num = next++;
  part.stamps.push_back({i, content_num, g});
  dict += " /Contents " + std::to_string(content_num) + " 0 R /Resources << /XObject << /PGpage " +
          std::to_string(form_num) + " 0 R >>" + fixed_res + " >>";
  w.object(og.getObj(), og.getGen(), dict);
}

// value_kind() - the Kind of raw value v (null if absent); an object it
// refers to is read plain where it can be, else by qpdf (once: part.kinds).
Kind value_kind(PagePart& part, const RawValue* v) {
  if (absent(v)) return Kind::none;
  if (v->kind == RawValue::Dict) return Kind::dictionary;
  if (v->kind != RawValue::Ref) return Kind::other;
  QPDFObjGen og(static_cast<int>(v->num), v->gen);
  auto known = part.kinds.find(og);
  if (known != part.kinds.end()) return known->second;
  RawObject o;
  Kind k;
  if (part.raw->read(og, o)) {
    k = o.value.kind == RawValue::Null ? Kind::none
        : !o.stream && o.value.kind == RawValue::Dict ? Kind::dictionary : Kind::other;
  } else {
    auto h = part.pdf->getObject(og);
    k = h.isNull() ? Kind::none : h.isDictionary() ? Kind::dictionary : Kind::other;
  }
  part.kinds.emplace(og, k);
  return k;
}

// plain_box() - a raw rectangle: a direct array of four direct numbers that
// make a usable Box (in b), or any other value that does not (none); false
// where qpdf must read it (references, items that are not numbers).
bool plain_box(const RawObject& o, const RawValue& v, Box& b, bool& none) {
  none = true;
  if (v.kind == RawValue::Ref) return false;
  if (v.kind != RawValue::Array) return true;
  std::vector<double> n;
  if (!raw_numbers(o, v, n)) return false;
  if (n.size() == 4) {
    double a[4] = {n[0], n[1], n[2], n[3]};
    none = !to_box(a, b);
  }
  return true;
}

// stamp_plain_page() - stamp_part_pages()'s work for page i, object og, as
// the raw reader read it (po): its form and new page object, written with w
// and numbered from next on. False, with nothing written or counted, where a
// value it needs is not in the plain subset: qpdf then reads the page.
bool stamp_plain_page(PagePart& part, const RawObject& po, QPDFObjGen og, int i, int& next, ObjWriter& w,
                      const std::string& fixed_res) {
  // One content stream, itself plain.
  const RawValue* contents = po.find("/Contents");
  if (!contents || contents->kind != RawValue::Ref) return false;
  QPDFObjGen content_og(static_cast<int>(contents->num), contents->gen);
  RawObject content;
  if (!part.raw->read(content_og, content) || !content.stream) return false;
  for (const char* k : {"/F", "/FFilter", "/FDecodeParms"})
    if (!absent(content.find(k))) return false;  // an external file: qpdf's path refuses it
  // What the page inherits, from its /Parent (a node qpdf reads, once).
  const Inherited* up = &part.none;
  const RawValue* parent = po.find("/Parent");
  if (!absent(parent)) {
    if (parent->kind != RawValue::Ref) return false;
    auto node = part.pdf->getObject(static_cast<int>(parent->num), parent->gen);
    if (!node.isNull()) up = &inherited_from(part, node, 1);
  }
  // Its boxes and rotation, its own or inherited.
  Box media, crop;
  bool no_media = true, no_crop = true;
  const RawValue* v = po.find("/MediaBox");
  if (absent(v))
    no_media = !to_box(up->media, media);
  else if (!plain_box(po, *v, media, no_media))
    return false;
  v = po.find("/CropBox");
  if (absent(v))
    no_crop = !to_box(up->crop, crop);
  else if (!plain_box(po, *v, crop, no_crop))
    return false;
  long long rotate = 0;
  v = po.find("/Rotate");
  if (absent(v)) {
    QPDFObjectHandle inherited = up->rotate;
    if (inherited.isInteger()) rotate = inherited.getIntValue();
  } else if (v->kind == RawValue::Ref) {
    return false;
  } else if (v->kind == RawValue::Int) {
    rotate = v->num;
  }
  // The resources, a dictionary or a reference to one (as written), else
  // inherited; and the /Group likewise.
  std::string resources;
  v = po.find("/Resources");
  Kind kind = value_kind(part, v);
  if (kind == Kind::dictionary) {
    resources = po.view(*v);
  } else if (kind == Kind::other) {
    resources = "<< >>";
  } else {
    QPDFObjectHandle r = up->resources;
    resources = r.isDictionary() ? shallow(r) : "<< >>";
  }
  std::string group;
  v = po.find("/Group");
  if (value_kind(part, v) == Kind::dictionary) group = po.view(*v);
  PageGeometry g = geometry_from(no_media ? nullptr : &media, no_crop ? nullptr : &crop, rotate, i);

  // The form, as stamp_part_pages() makes it: shared by the pages with the same
  // content stream and form dictionary.
  std::string head = form_head(g, resources, group);
  auto key = std::make_pair(content_og, head);
  auto it = part.forms.find(key);
  int form_num;
  if (it != part.forms.end()) {
    form_num = it->second;
  } else {
    for (const char* k : {"/Filter", "/DecodeParms"}) {
      const RawValue* f = content.find(k);
      if (absent(f)) continue;
      head += ' ';
      head += k;
      head += ' ';
      head += content.view(*f);
    }
    if (!part.raw->read_data(content, part.data)) return false;
    form_num = next++;
    w.stream(form_num, head, part.data.data(), part.data.size());
    part.forms[key] = form_num;
  }
  // The page's entries as they are, but its content and resources.
  std::string dict = "<<";
  for (auto& e : po.entries) {
    std::string_view k = po.key(e);
    if (k == "/Contents" || k == "/Resources" || e.value.kind == RawValue::Null) continue;
    dict += ' ';
    dict += k;
    dict += ' ';
    dict += po.view(e.value);
  }
  write_page_again(part, w, og, i, next, g, dict, form_num, fixed_res);
  return true;
}

// stamp_part_pages() - for each page of part from pages[from] on, which is
// document page first_page: the form XObject holding its original content and
// the new version of its page object, written to part.buf with object numbers
// from `next` on (at most two a page); the stamps are left in part.stamps.
void stamp_part_pages(PagePart& part, size_t from, int first_page, int next,
                      const std::map<QPDFObjGen, QPDFXRefEntry>& xref, const QueueSettings& s,
                      const std::string& fixed_res) {
  ObjWriter w(part.buf, 0);
  auto& forms = part.forms;
  int i = first_page - 1;
  for (size_t at = from; at < part.pages.size(); at++) {
    auto& page = part.pages[at];
    i++;
    if (page.plain && stamp_plain_page(part, page.raw, page.handle.getObjGen(), i, next, w, fixed_res)) {
      part.plain_pages++;
      continue;
    }
    auto po = page.handle;
    QPDFObjGen og = po.getObjGen();
    if (!po.isIndirect() || !xref.count(og)) throw FullRewrite{"page " + std::to_string(i) + " is not an object of the file"};
    // One copy of the page's entries: each lookup below is then free.
    Entries entries = po.getDictAsMap();
    const Inherited& up = inherited_via_parent(part, entries);
    PageGeometry g = geometry_of(value_or(entries, "/MediaBox", up.media), value_or(entries, "/CropBox", up.crop),
                                 value_or(entries, "/Rotate", up.rotate), i);
    auto resources = value_or(entries, "/Resources", up.resources);
    auto contents = value_or(entries, "/Contents", part.null);

    // The form XObject holding the original content (and its resources). Pages
    // with the same content stream and the same form dictionary share one form.
    auto group = value_or(entries, "/Group", part.null);
    std::string head = form_head(g, resources.isDictionary() ? shallow(resources) : std::string("<< >>"),
                                 group.isDictionary() ? shallow(group) : std::string());
    int form_num = 0;
    auto key = std::make_pair(contents.isStream() ? contents.getObjGen() : QPDFObjGen(), head);
    auto it = contents.isStream() ? forms.find(key) : forms.end();
    if (it != forms.end()) {
      form_num = it->second;
    } else {
      form_num = next++;
      if (contents.isStream()) {
        // One stream: its encoded bytes are copied as they are, never decoded here.
        auto d = contents.getDict();
        for (const char* k : {"/F", "/FFilter", "/FDecodeParms"})
          if (d.hasKey(k)) throw FullRewrite{"page " + std::to_string(i) + " content is an external file stream"};
        for (const char* k : {"/Filter", "/DecodeParms"})
          if (d.hasKey(k)) head += std::string(" ") + k + " " + shallow(d.getKey(k));
        auto raw = contents.getRawStreamData();
        w.stream(form_num, head, reinterpret_cast<const char*>(raw->getBuffer()), raw->getSize());
        forms[key] = form_num;
      } else {
        // Several streams (or none): decoded within MaxPageContent, joined, recompressed.
        Pl_Buffer buf("page contents");
        if (contents.isArray() && contents.getArrayNItems() > 0) {
          Pl_Flate flate("compress page contents", &buf, Pl_Flate::a_deflate);
          Pl_Limit limit(&flate, s.max_content_bytes);
          QPDFPageObjectHelper(po).pipeContents(&limit);
          limit.finish();
          head += " /Filter /FlateDecode";
        } else {
          buf.finish();
        }
        auto b = buf.getBufferSharedPointer();
        w.stream(form_num, head, reinterpret_cast<const char*>(b->getBuffer()), b->getSize());
      }
    }

    std::string dict = "<<";
    append_entries(entries, dict, {"/Contents", "/Resources"});
    write_page_again(part, w, og, i, next, g, dict, form_num, fixed_res);
  }
  part.entries.insert(part.entries.end(), w.entries().begin(), w.entries().end());
}

// kSplitPages - from this many pages on, stamp_incremental() shares the pages
// with another thread, which reads them from a parse of its own.
constexpr long long kSplitPages = 256;

// kUnits - a shared page tree is cut into at least this many pieces where it
// has them (tree_units()), for the threads to take one at a time.
constexpr size_t kUnits = 32;

// TreeUnit - a page-tree node or page whose pages one thread takes together,
// and how many levels below the root it is.
struct TreeUnit {
  QPDFObjectHandle node;
  int depth;
};

// tree_units() - the kids of the root node `tree`, in order, with the /Pages
// nodes among them replaced by their kids, one level at a time, until there
// are kUnits of them or no node is left to open (8 levels down at most). The
// nodes opened are added to `opened`; one met twice throws FullRewrite.
std::vector<TreeUnit> tree_units(QPDFObjectHandle tree, std::set<QPDFObjGen>& opened) {
  std::vector<TreeUnit> units;
  for (auto& kid : tree.getKey("/Kids").aitems()) units.push_back({kid, 1});
  for (int level = 1; units.size() < kUnits && level < 8; level++) {
    std::vector<TreeUnit> deeper;
    bool any = false;
    for (auto& u : units) {
      QPDFObjectHandle kids;
      if (u.depth == level && u.node.isIndirect() && u.node.isDictionary() &&
          u.node.getKey("/Type").isNameAndEquals("/Pages") && (kids = u.node.getKey("/Kids")).isArray()) {
        if (!opened.insert(u.node.getObjGen()).second) throw FullRewrite{"several pages share one page object"};
        for (auto& kid : kids.aitems()) deeper.push_back({kid, level + 1});
        any = true;
      } else {
        deeper.push_back(u);
      }
    }
    units = std::move(deeper);
    if (!any) break;
  }
  return units;
}

// SecondParse - a second parse of the input, on a thread of its own while the
// caller goes on with the first (a QPDF object is not to be shared between
// threads). The thread then runs the task handed to it by run(), if any.
class SecondParse {
 public:
  // Start the thread; throws std::system_error if none is to be had.
  SecondParse(const InputFile& f, const QueueSettings& s) {
    auto tasks = task_.get_future();
    thread_ = std::thread([this, &f, &s, tasks = std::move(tasks)]() mutable {
      try {
        open_pdf(*pdf_, f, s.repair_damaged);
      } catch (...) {
        parse_error_ = std::current_exception();
      }
      auto task = tasks.get();
      if (!task) return;
      try {
        task(*this);
      } catch (...) {
        task_error_ = std::current_exception();
      }
    });
  }
  ~SecondParse() { join(); }
  SecondParse(const SecondParse&) = delete;
  SecondParse& operator=(const SecondParse&) = delete;

  // run() - have the thread run task once the parse is done (at most one task).
  void run(std::function<void(SecondParse&)> task) {
    given_ = true;
    task_.set_value(std::move(task));
  }
  // pdf() - for the task: the parsed document; throws the parse's error.
  QPDF& pdf() {
    if (parse_error_) std::rethrow_exception(parse_error_);
    return *pdf_;
  }
  // join() - wait for the thread to end (telling it there is no task if none was given).
  void join() {
    if (!given_) run(nullptr);
    if (thread_.joinable()) thread_.join();
  }
  // finish() - join(), then throw what the task threw.
  void finish() {
    join();
    if (task_error_) std::rethrow_exception(task_error_);
  }
  // release() - join(), then hand over the parsed document (to keep it past the program's end).
  QPDF* release() {
    join();
    return pdf_.release();
  }

 private:
  std::unique_ptr<QPDF> pdf_ = std::make_unique<QPDF>();
  std::promise<std::function<void(SecondParse&)>> task_;
  bool given_ = false;
  std::exception_ptr parse_error_, task_error_;
  std::thread thread_;  // last: started once the members above exist
};

// write_stamps() - the stamp content stream of each of part's pages, in page
// order, to its stamp buffer, with text_for_page(page, pages) (page 1:
// first_text, given).
void write_stamps(PagePart& part, PageStamp& stamper, const std::function<std::string(int, int)>& text_for_page,
                  int pages, const std::string& first_text) {
  ObjWriter w(part.stamp_buf, 0);
  std::sort(part.stamps.begin(), part.stamps.end(),
            [](const PendingStamp& a, const PendingStamp& b) { return a.page < b.page; });
  for (auto& st : part.stamps) {
    std::string text = st.page == 1 ? first_text : text_for_page(st.page, pages);
    const std::string& content = stamper.content(text, st.geometry, st.page);
    w.stream(st.content_num, "<<", content.data(), content.size());
  }
  part.stamp_entries = std::move(w.entries());
}

// stamp_incremental() - stamp by appending to the unchanged input: per page a new
// version of the page object whose content is the stamp drawn over a form XObject
// holding the original content, then a cross-reference section chained by /Prev.
// A document of kSplitPages pages or more is stamped on two threads when
// `second` is given: a second parse is begun into it as soon as the page count
// is read, and its thread takes pages from the end of the tree.
// opt: keep_parsed_document leaves what it built unfreed; read_plain_objects
// has pages and content streams in the plain subset read by a RawReader, the
// others by qpdf; on_update_certain and second_thread_takes_all as StampOptions says.
// Throws FullRewrite when an explicit check fails, Error on a real failure.
StampResult stamp_incremental(QPDF& pdf, const InputFile& f, const QueueSettings& s,
                              const std::function<std::string(int, int)>& text_for_page, const StampOptions& opt,
                              std::unique_ptr<SecondParse>* second_parse, ChunkedBuffer& upd) {
  StampResult res;
  if (s.hide_titles) throw FullRewrite{"titles are hidden, so the title metadata must be removed from the file"};
  if (pdf.isEncrypted()) throw FullRewrite{"the PDF is encrypted (the output is written decrypted)"};
  if (pdf.anyWarnings()) throw FullRewrite{"qpdf repaired the file or warned about it"};
  if (f.read_at(0, 5) != "%PDF-") throw FullRewrite{"the file does not begin with %PDF- (offsets would be ambiguous)"};
  long long prev = last_startxref(f);
  if (prev <= 0 || prev >= f.size()) throw FullRewrite{"no usable startxref at the end of the file"};
  std::string at = f.read_at(prev, 64);
  size_t p = 0;
  while (p < at.size() && strchr(" \t\r\n\f", at[p]) && at[p]) p++;
  bool table = at.compare(p, 4, "xref") == 0;
  if (!table && !(p < at.size() && at[p] >= '1' && at[p] <= '9'))
    throw FullRewrite{"startxref does not point to a cross-reference section"};
  auto trailer = pdf.getTrailer();
  if (trailer.hasKey("/XRefStm")) throw FullRewrite{"hybrid-reference file (/XRefStm)"};
  auto root = trailer.getKey("/Root");
  if (!root.isIndirect() || !root.isDictionary()) throw FullRewrite{"the trailer's /Root is not an indirect dictionary"};
  if (!table && !trailer.getKey("/Type").isNameAndEquals("/XRef"))
    throw FullRewrite{"the last cross-reference stream is not where qpdf read it"};
  auto tree = root.getKey("/Pages");
  auto count = tree.getKey("/Count");
  if (!count.isInteger() || count.getIntValue() <= 0) throw FullRewrite{"the page tree has no usable /Count"};
  const long long declared = count.getIntValue();
  // A long document's second parse, begun now to overlap what follows.
  SecondParse* second = nullptr;
  if (second_parse && declared >= kSplitPages && declared < (1 << 22)) {
    try {
      *second_parse = std::make_unique<SecondParse>(f, s);
      second = second_parse->get();
    } catch (const std::system_error&) {
      // No thread to be had: the document is stamped on this one.
    }
  }

  // What the threads build and read; given up whole, unfreed, where the
  // caller keeps the parsed document (its thousands of small pieces take longer
  // to free than to stamp a short document).
  struct Work {
    std::map<QPDFObjGen, QPDFXRefEntry> xref;
    std::set<QPDFObjGen> opened;  // the page-tree nodes opened to cut the tree into units
    std::vector<TreeUnit> units;
    PagePart parts[2];
  };
  auto work = std::make_unique<Work>();
  auto& xref = work->xref;
  xref = pdf.getXRefTable();
  int next = 1;
  for (auto& [og, entry] : xref) next = std::max(next, og.getObj() + 1);
  auto size_key = trailer.getKey("/Size");
  if (size_key.isInteger() && size_key.getIntValue() > next && size_key.getIntValue() < 8388607)
    next = static_cast<int>(size_key.getIntValue());

  ObjWriter w(upd, static_cast<size_t>(f.size()));
  std::string last = f.read_at(f.size() - 1, 1);
  if (last != "\n" && last != "\r") upd += "\n";
  const int font_num = next++, gs_num = next++;
  w.object(font_num, 0, font_dict());
  w.object(gs_num, 0, gs_dict(s));
  const std::string fixed_res = " /Font << /PGfont " + std::to_string(font_num) + " 0 R >> /ExtGState << /PGgs " +
                                std::to_string(gs_num) + " 0 R >> >>";

  auto& opened = work->opened;
  auto& units = work->units;
  bool split = second && tree.isIndirect() &&
               tree.getKey("/Type").isNameAndEquals("/Pages") && tree.getKey("/Kids").isArray();
  if (split) {
    opened.insert(tree.getObjGen());
    units = tree_units(tree, opened);
    split = units.size() >= 2;
  }
  const int base = next;  // the new objects of the pages are numbered from here, two a page

  // Split, the tree's units are taken one at a time, from the front by this
  // thread and from the back by the second parse's, until the two meet. Each
  // numbers its pages as it goes: this one from 1, the other down from /Count
  // (checked once both are done), so neither waits for the other. The second
  // tells its page count when it is done; this one then asks for page 1's text
  // and tells it the total and that text (page 1 is in the second's part when
  // that thread took every unit first), and each writes its own part's stamps.
  // Declared in this order (and `work` above) so that, however this function
  // is left, what the task sets outlives it, and what it waits for is given up
  // (promise destroyed) before it is joined.
  auto& parts = work->parts;
  parts[0].pdf = &pdf;
  if (opt.read_plain_objects)
    for (auto& part : parts) part.raw = std::make_unique<RawReader>(f.fd(), f.size(), f.path(), xref);
  StampResult second_res;          // what the second part's stamps report (added to res)
  std::promise<int> second_count;  // set by the task
  std::future<int> second_count_f = second_count.get_future();
  struct Total {
    int pages;
    std::string first_text;  // page 1's stamp text
  };
  std::future<Total> total_f;  // waited for by the task
  // The units not taken yet, [front, back), as front << 32 | back (no lock:
  // the threads may take one every few microseconds).
  std::atomic<uint64_t> untaken{split ? static_cast<uint64_t>(units.size()) : 0};
  // claim() - the next unit for one end, or -1 when the two have met.
  auto claim = [&](bool from_front) {
    uint64_t was = untaken.load(std::memory_order_relaxed);
    for (;;) {
      uint64_t front = was >> 32, back = was & 0xffffffffu;
      if (front >= back) return -1;
      uint64_t now = from_front ? (front + 1) << 32 | back : front << 32 | (back - 1);
      if (untaken.compare_exchange_weak(was, now, std::memory_order_relaxed))
        return static_cast<int>(from_front ? front : back - 1);
    }
  };
  // take_unit() - collect and stamp the pages of unit k (its node read from
  // part's parse) into part, numbered from the front (after part's pages so far)
  // or from the back (before them, down from /Count).
  auto take_unit = [&](PagePart& part, QPDFObjectHandle node, int k, bool from_back) {
    size_t from = part.pages.size(), bytes = part.buf.size(), entries = part.entries.size();
    collect_pages(node, units[k].depth, part, s);
    long long first = from_back ? declared - static_cast<long long>(part.pages.size()) + 1
                                : static_cast<long long>(from) + 1;
    if (first <= 0) throw FullRewrite{"the page tree's /Count does not match its pages"};
    stamp_part_pages(part, from, static_cast<int>(first), base + 2 * static_cast<int>(first - 1), xref, s, fixed_res);
    part.taken.push_back({k, bytes, part.buf.size(), entries, part.entries.size()});
  };
  // Joins the task however this function is left; on a failure here, the task
  // is given no more units.
  struct Joiner {
    SecondParse* p = nullptr;
    std::atomic<uint64_t>& untaken;
    ~Joiner() {
      if (!p) return;
      untaken.store(0, std::memory_order_relaxed);
      p->join();
    }
  } joiner{nullptr, untaken};
  std::promise<Total> total_ready;
  if (split) {
    std::vector<QPDFObjGen> unit_ids;  // for the other parse
    for (auto& u : units) {
      if (!u.node.isIndirect()) throw FullRewrite{"a page-tree node is not an indirect dictionary"};
      unit_ids.push_back(u.node.getObjGen());
    }
    parts[0].nodes = opened;
    parts[1].nodes = opened;
    total_f = total_ready.get_future();
    second->run([&, unit_ids](SecondParse& sp) {
      bool counted = false;
      try {
        PagePart& part = parts[1];
        part.pdf = &sp.pdf();
        if (part.pdf->anyWarnings()) throw FullRewrite{"qpdf repaired the file or warned about it"};
        for (int k; (k = claim(false)) >= 0;) take_unit(part, part.pdf->getObject(unit_ids[k]), k, true);
        // Checked before counting: page 1's text (which signs) waits for the
        // count, and no qpdf object is read after it.
        if (part.pdf->anyWarnings()) throw FullRewrite{"qpdf warned while reading the pages"};
        second_count.set_value(static_cast<int>(part.pages.size()));
        counted = true;
        // While the first thread checks the count and signs: so that the output
        // does not depend on where the threads met.
        in_unit_order(part);
        Total total = total_f.get();  // throws if the first part failed
        PageStamp stamper(s, second_res);
        write_stamps(part, stamper, text_for_page, total.pages, total.first_text);
      } catch (...) {
        untaken.store(0, std::memory_order_relaxed);  // this thread takes no more units either
        if (!counted) second_count.set_exception(std::current_exception());
        throw;
      }
    });
    joiner.p = second;
    if (opt.second_thread_takes_all) second_count_f.wait();
    for (int k; (k = claim(true)) >= 0;) take_unit(parts[0], units[k].node, k, false);
  } else {
    collect_pages(tree, 0, parts[0], s);
    stamp_part_pages(parts[0], 0, 1, base, xref, s, fixed_res);
  }
  size_t total = parts[0].pages.size();
  if (split) {
    total += static_cast<size_t>(second_count_f.get());  // throws what the task threw before
    // The task is done with its nodes once it has counted.
    for (auto& og : parts[1].nodes)
      if (!opened.count(og) && parts[0].nodes.count(og)) throw FullRewrite{"several pages share one page object"};
  }
  check_page_count(total, s);
  if (declared != static_cast<long long>(total)) throw FullRewrite{"the page tree's /Count does not match its pages"};
  res.pages = static_cast<int>(total);
  res.threads = split ? 2 : 1;
  res.plain_pages = parts[0].plain_pages + parts[1].plain_pages;

  if (pdf.anyWarnings()) throw FullRewrite{"qpdf warned while reading the pages"};

  // The stamps: the original page as the form, then the text over it. Page 1's
  // text is asked for last, so that the work above overlaps whatever it waits
  // for (the document digest the signature covers); then each thread writes
  // its own part's stamps. From here on nothing reads the document and no
  // check can send it to the full rewrite (an xref offset past 10^10 aside).
  const std::string first_text = text_for_page(1, res.pages);
  if (opt.on_update_certain) opt.on_update_certain(res.pages);
  if (split) total_ready.set_value({res.pages, first_text});
  PageStamp stamper(s, res);
  write_stamps(parts[0], stamper, text_for_page, res.pages, first_text);
  if (split) {
    second->finish();
    res.replaced.insert(res.replaced.end(), second_res.replaced.begin(), second_res.replaced.end());
  }

  // The parts' objects: the pages in document order, then the stamps likewise.
  auto add = [&](ChunkedBuffer& buf, const std::vector<ObjWriter::Entry>& entries) {
    long long shift = w.offset();
    for (auto& e : entries) {
      w.entries().push_back({e.num, e.gen, e.off + shift});
      next = std::max(next, e.num + 1);
    }
    upd.splice(std::move(buf));
  };
  for (auto& part : parts) add(part.buf, part.entries);
  for (auto& part : parts) add(part.stamp_buf, part.stamp_entries);
  // The cross-reference section, of the same kind as the input's last one.
  std::string tail = " /Root " + root.unparse();
  auto info = trailer.getKey("/Info");
  if (info.isIndirect() || info.isDictionary()) tail += " /Info " + info.unparse();  // a direct one is copied
  auto id = trailer.getKey("/ID");
  if (id.isArray() && id.getArrayNItems() == 2 && id.getArrayItem(0).isString() && id.getArrayItem(1).isString())
    tail += " /ID " + id.unparse();
  tail += " /Prev " + std::to_string(prev);
  long long xref_off = w.offset();
  if (table) {
    auto& e = w.entries();
    auto runs = subsections(e);
    upd += "xref\n";
    for (auto& [first, n] : runs) {
      upd += std::to_string(e[first].num) + " " + std::to_string(n) + "\n";
      // n entries of 20 bytes: "oooooooooo ggggg n\r\n" (offset, generation)
      std::string lines(20 * n, ' ');
      for (size_t k = 0; k < n; k++) {
        char* line = &lines[20 * k];
        if (e[first + k].off > 9999999999LL || e[first + k].gen < 0 || e[first + k].gen > 99999)
          throw FullRewrite{"an offset or generation does not fit a cross-reference table"};
        put_digits(line, 10, static_cast<unsigned long long>(e[first + k].off));
        put_digits(line + 11, 5, static_cast<unsigned long long>(e[first + k].gen));
        memcpy(line + 17, "n\r\n", 3);
      }
      upd += lines;
    }
    upd += "trailer\n<< /Size " + std::to_string(next) + tail + " >>\n";
  } else {
    int xnum = next++;
    w.entries().push_back({xnum, 0, xref_off});
    auto& e = w.entries();
    auto runs = subsections(e);
    int ow = 1;
    while (ow < 8 && (xref_off >> (8 * ow)) > 0) ow++;
    std::string data, index;
    for (auto& [first, n] : runs) {
      index += (index.empty() ? "" : " ") + std::to_string(e[first].num) + " " + std::to_string(n);
      for (size_t k = first; k < first + n; k++) {
        data += '\1';
        for (int b = ow - 1; b >= 0; b--) data += static_cast<char>((e[k].off >> (8 * b)) & 0xff);
        data += static_cast<char>((e[k].gen >> 8) & 0xff);
        data += static_cast<char>(e[k].gen & 0xff);
      }
    }
    w.stream(xnum,
             "<< /Type /XRef /Size " + std::to_string(next) + " /Index [" + index + "] /W [1 " + std::to_string(ow) +
                 " 2]" + tail,
             data.data(), data.size());
  }
  upd += "startxref\n" + std::to_string(xref_off) + "\n%%EOF\n";
  res.incremental = true;
  // Reachable from a global, so leak checkers do not count it as lost.
  static Work* kept = nullptr;
  if (opt.keep_parsed_document && !kept) kept = work.release();
  return res;
}

// write_output() - write the input's bytes followed by update to path.
void write_output(const std::string& path, const InputFile& f, const ChunkedBuffer& update) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) throw Error("cannot write " + path + ": " + strerror(errno));
  bool ok = true;
  for (long long off = 0; ok && off < f.size(); off += 1 << 20) {
    std::string chunk = f.read_at(off, 1 << 20);
    ok = !chunk.empty() && write_all(fd, chunk.data(), chunk.size());
  }
  ok = ok && update.write_to(fd);
  if (close(fd) != 0) ok = false;
  if (!ok) throw Error("cannot write " + path + ": " + strerror(errno));
}

}  // namespace

int count_pdf_pages(const std::string& path, bool repair_damaged) {
  InputFile f(path);
  QPDF pdf;
  open_pdf(pdf, f, repair_damaged);
  try {
    return static_cast<int>(QPDFPageDocumentHelper(pdf).getAllPages().size());
  } catch (const std::exception& e) {
    throw Error(std::string("the PDF's page tree is broken: ") + e.what());
  }
}

StampResult stamp_pdf(const std::string& in, const std::string& out, const QueueSettings& s,
                      const std::function<std::string(int, int)>& text_for_page, const StampOptions& opt) {
  InputFile f(in);
  std::string why = "incremental update not allowed by the caller";
  if (opt.allow_incremental) {
    // A long document gets a second parse, begun by stamp_incremental().
    std::unique_ptr<SecondParse> second;
    auto parsed = std::make_unique<QPDF>();
    QPDF& pdf = *parsed;
    open_pdf(pdf, f, s.repair_damaged);
    ChunkedBuffer update;
    try {
      StampResult r = stamp_incremental(pdf, f, s, text_for_page, opt, &second, update);
      if (opt.update)
        *opt.update = std::move(update);
      else
        write_output(out, f, update);
      // Reachable from a global, so leak checkers do not count it as lost.
      static QPDF* kept[2] = {nullptr, nullptr};
      if (opt.keep_parsed_document && !kept[0]) kept[0] = parsed.release(), kept[1] = second ? second->release() : nullptr;
      return r;
    } catch (const FullRewrite& fr) {
      why = fr.why;
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {
      throw Error(std::string("cannot stamp the PDF: ") + e.what());
    }
  }
  // A fresh QPDF: the incremental attempt may have resolved or copied objects.
  QPDF pdf;
  open_pdf(pdf, f, s.repair_damaged);
  StampResult r = stamp_full(pdf, out, s, text_for_page);
  r.full_rewrite_reason = why;
  return r;
}

}  // namespace pg
