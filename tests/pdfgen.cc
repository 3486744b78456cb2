// pdfgen - write the PDF fixtures used by the printguard test suite.
//
// Usage:
//   pdfgen OUTDIR
//       Write every named fixture (simple.pdf, rotated.pdf, ...) into OUTDIR.
//   pdfgen OUTDIR --pages N [NAME.pdf] [--image | --prose] [--objstm]
//       Write only one N-page document (default name pages-N.pdf) whose pages
//       show one line of text; --image adds a ~150 KB image XObject to every
//       page, --prose fills every page with 48 lines of text (about 1.7 KB of
//       compressed content per page, like a printed report), --objstm writes
//       the file with object streams.  Meant for benchmarks.
//
// Only libqpdf is used.  Output is byte-for-byte deterministic: QPDFWriter's
// static /ID is used and, for the encrypted fixtures, qpdf's random data
// provider is replaced by a seeded PRNG (test use only - not secure).

// qpdf 11 headers emit "#warning POINTERHOLDER_TRANSITION is not defined"
// unless this is set before the first qpdf include; 4 = no PointerHolder.
#ifndef POINTERHOLDER_TRANSITION
# define POINTERHOLDER_TRANSITION 4
#endif

#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/QUtil.hh>
#include <qpdf/RandomDataProvider.hh>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using OH = QPDFObjectHandle;

namespace {

// Seeded splitmix64 generator; replaces qpdf's random source so that the
// salts and AES IVs of encrypted fixtures are reproducible.
class DeterministicRandom : public RandomDataProvider {
  public:
    // Restart the sequence from a seed derived from the given string.
    void
    reseed(std::string const& s)
    {
        state_ = 0xcbf29ce484222325ULL;
        for (unsigned char c: s) {
            state_ = (state_ ^ c) * 0x100000001b3ULL;
        }
    }

    // Fill data with len pseudo-random bytes (RandomDataProvider interface).
    void
    provideRandomData(unsigned char* data, size_t len) override
    {
        for (size_t i = 0; i < len; ++i) {
            data[i] = static_cast<unsigned char>(next() >> 56);
        }
    }

    // Return the next 64-bit value of the sequence.
    uint64_t
    next()
    {
        uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }

  private:
    uint64_t state_{0};
};

DeterministicRandom g_random;

enum class Crypt { none, empty_user, user_pw };

// Options for writePdf().
struct WriteOpts {
    bool objstm{false};
    Crypt crypt{Crypt::none};
};

// Build an array object [a b c d] of integers.
OH
box(int a, int b, int c, int d)
{
    return OH::newArray(
        {OH::newInteger(a), OH::newInteger(b), OH::newInteger(c), OH::newInteger(d)});
}

// Encode raw bytes as a PDF literal string token, escaping as needed.
std::string
pdfLiteral(std::string const& bytes)
{
    std::string out = "(";
    for (unsigned char c: bytes) {
        if (c == '(' || c == ')' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            char buf[8];
            std::snprintf(buf, sizeof(buf), "\\%03o", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + ")";
}

// Content-stream operators that show one line of text with font /F1.
std::string
textOps(int x, int y, int size, std::string const& winansi_text)
{
    return "BT\n/F1 " + std::to_string(size) + " Tf\n" + std::to_string(x) + " " +
        std::to_string(y) + " Td\n" + pdfLiteral(winansi_text) + " Tj\nET\n";
}

// Create the shared Helvetica (WinAnsiEncoding) font dictionary.
OH
makeFont(QPDF& pdf)
{
    return pdf.makeIndirectObject(OH::parse(
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
        " /Encoding /WinAnsiEncoding >>"));
}

// Create a direct resource dictionary that maps /F1 to the given font.
OH
makeResources(OH const& font)
{
    OH fonts = OH::newDictionary();
    fonts.replaceKey("/F1", font);
    OH res = OH::newDictionary();
    res.replaceKey("/Font", fonts);
    res.replaceKey("/ProcSet", OH::parse("[/PDF /Text]"));
    return res;
}

// Create a page dictionary (not yet in the page tree) with one content stream.
OH
makePage(QPDF& pdf, OH const& mediabox, OH const& resources, std::string const& content)
{
    OH page = OH::newDictionary();
    page.replaceKey("/Type", OH::newName("/Page"));
    page.replaceKey("/MediaBox", mediabox);
    page.replaceKey("/Resources", resources);
    page.replaceKey("/Contents", OH::newStream(&pdf, content));
    return page;
}

// Append a page dictionary to the end of the document's page tree.
void
appendPage(QPDF& pdf, OH const& page)
{
    QPDFPageDocumentHelper(pdf).addPage(QPDFPageObjectHelper(page), false);
}

// Configure a QPDFWriter (static ID, object streams, encryption) and write.
void
configureAndWrite(QPDFWriter& w, std::string const& seed, WriteOpts const& o)
{
    w.setStaticID(true);
    if (o.objstm) {
        w.setObjectStreamMode(qpdf_o_generate);
    }
    if (o.crypt != Crypt::none) {
        g_random.reseed(seed);
        char const* user = (o.crypt == Crypt::user_pw) ? "secret" : "";
        w.setR6EncryptionParameters(
            user,
            "owner",
            true,  // allow_accessibility
            true,  // allow_extract
            true,  // allow_assemble
            true,  // allow_annotate_and_form
            true,  // allow_form_filling
            true,  // allow_modify_other
            qpdf_r3p_full,
            true); // encrypt_metadata_aes
    }
    w.write();
}

// Write the document to a file.
void
writePdf(QPDF& pdf, fs::path const& path, WriteOpts const& o = {})
{
    std::string p = path.string();
    QPDFWriter w(pdf, p.c_str());
    configureAndWrite(w, path.filename().string(), o);
}

// Write the document to memory and return the bytes.
std::string
writePdfToString(QPDF& pdf, std::string const& seed, WriteOpts const& o = {})
{
    QPDFWriter w(pdf);
    w.setOutputMemory();
    configureAndWrite(w, seed, o);
    std::shared_ptr<Buffer> buf = w.getBufferSharedPointer();
    return std::string(reinterpret_cast<char const*>(buf->getBuffer()), buf->getSize());
}

// Write raw bytes to a file.
void
writeBytes(fs::path const& path, std::string const& bytes)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
        throw std::runtime_error("cannot write " + path.string());
    }
}

// Fill doc with a Letter page reading "Hello page 1" (shared by simple/truncated).
void
buildSimple(QPDF& pdf)
{
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    appendPage(
        pdf, makePage(pdf, box(0, 0, 612, 792), makeResources(font), textOps(72, 720, 24, "Hello page 1")));
}

// simple.pdf: one Letter page with "Hello page 1".
void
genSimple(fs::path const& dir)
{
    QPDF pdf;
    buildSimple(pdf);
    writePdf(pdf, dir / "simple.pdf");
}

// truncated.pdf: the bytes of simple.pdf cut in half.
void
genTruncated(fs::path const& dir)
{
    QPDF pdf;
    buildSimple(pdf);
    std::string bytes = writePdfToString(pdf, "simple.pdf");
    writeBytes(dir / "truncated.pdf", bytes.substr(0, bytes.size() / 2));
}

// rotated.pdf: four Letter pages with /Rotate 0, 90, 180, 270.
void
genRotated(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    for (int rot: {0, 90, 180, 270}) {
        OH page = makePage(
            pdf, box(0, 0, 612, 792), makeResources(font),
            textOps(72, 720, 24, "Rotated " + std::to_string(rot)));
        page.replaceKey("/Rotate", OH::newInteger(rot));
        appendPage(pdf, page);
    }
    writePdf(pdf, dir / "rotated.pdf");
}

// cropbox-offset.pdf: two pages whose MediaBox and CropBox do not start at 0,0.
void
genCropboxOffset(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    for (int i = 1; i <= 2; ++i) {
        OH page = makePage(
            pdf, box(100, 200, 712, 992), makeResources(font),
            textOps(180, 880, 24, "Cropbox offset " + std::to_string(i)));
        page.replaceKey("/CropBox", box(150, 250, 662, 942));
        appendPage(pdf, page);
    }
    writePdf(pdf, dir / "cropbox-offset.pdf");
}

// landscape.pdf: one 842x595 page.
void
genLandscape(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    appendPage(
        pdf, makePage(pdf, box(0, 0, 842, 595), makeResources(font), textOps(72, 500, 24, "Landscape")));
    writePdf(pdf, dir / "landscape.pdf");
}

// mixed-sizes.pdf: A4 portrait, Letter portrait, A3 landscape.
void
genMixedSizes(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    struct Sz {
        int w, h;
        char const* label;
    };
    for (Sz s: {Sz{595, 842, "A4 portrait"}, Sz{612, 792, "Letter portrait"}, Sz{1191, 842, "A3 landscape"}}) {
        appendPage(
            pdf, makePage(pdf, box(0, 0, s.w, s.h), makeResources(font), textOps(72, s.h - 72, 24, s.label)));
    }
    writePdf(pdf, dir / "mixed-sizes.pdf");
}

// unbalanced-q.pdf: page 1 leaves q/cm/clip open, page 2 has surplus Q.
void
genUnbalancedQ(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    // Page 1: text first (so it is visible), then 3 unmatched q, a scaling
    // cm and a 1x1 clip that are all still in effect at the end of the page.
    std::string c1 = "q\nq\n" + textOps(72, 700, 36, "Unbalanced") +
        "q\n3 0 0 3 0 0 cm\n0 0 1 1 re W n\n";
    // Page 2: three Q but only one q.  The surplus Q come after the text:
    // poppler stops interpreting a content stream at the first Q that has
    // nothing to pop ("Restoring state when no valid states to pop"), so
    // anything drawn after them (e.g. an unisolated watermark) is lost.
    std::string c2 = "q\n" + textOps(72, 700, 36, "Unbalanced") + "Q\nQ\nQ\n";
    appendPage(pdf, makePage(pdf, box(0, 0, 612, 792), makeResources(font), c1));
    appendPage(pdf, makePage(pdf, box(0, 0, 612, 792), makeResources(font), c2));
    writePdf(pdf, dir / "unbalanced-q.pdf");
}

// inherited.pdf: MediaBox, Rotate and Resources only on the /Pages node.
void
genInherited(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    // Build the tree by hand: QPDFPageDocumentHelper::addPage would push the
    // inherited attributes down to the pages first.
    OH pages = pdf.getRoot().getKey("/Pages");
    pages.replaceKey("/MediaBox", box(0, 0, 612, 792));
    pages.replaceKey("/Rotate", OH::newInteger(90));
    pages.replaceKey("/Resources", makeResources(font));
    OH kids = OH::newArray();
    for (int i = 1; i <= 2; ++i) {
        OH page = OH::newDictionary();
        page.replaceKey("/Type", OH::newName("/Page"));
        page.replaceKey("/Parent", pages);
        page.replaceKey(
            "/Contents", OH::newStream(&pdf, textOps(72, 720, 24, "Inherited " + std::to_string(i))));
        kids.appendItem(pdf.makeIndirectObject(page));
    }
    pages.replaceKey("/Kids", kids);
    pages.replaceKey("/Count", OH::newInteger(kids.getArrayNItems()));
    writePdf(pdf, dir / "inherited.pdf");
}

// contents-array.pdf: one page whose /Contents is an array of 3 streams.
void
genContentsArray(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    OH page = makePage(pdf, box(0, 0, 612, 792), makeResources(font), "");
    // The split is at token boundaries but inside BT/ET, which is legal.
    page.replaceKey(
        "/Contents",
        OH::newArray(
            {OH::newStream(&pdf, "q\nBT\n/F1 24 Tf\n72 720 Td\n"),
             OH::newStream(&pdf, "(Contents array) Tj\n0 -30 Td\n(second line) Tj\n"),
             OH::newStream(&pdf, "ET\nQ\n")}));
    appendPage(pdf, page);
    writePdf(pdf, dir / "contents-array.pdf");
}

// What the pages of a generated N-page document hold besides "Page N".
enum class PageBody { line, image, prose };

// 48 lines of about 80 characters of pseudo-random words, 11 pt, below the
// "Page N" heading of a Letter page (one text object, ' between lines).
std::string
proseOps(DeterministicRandom& rng)
{
    static char const* const words[] = {
        "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
        "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
        "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has",
        "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "printer",
        "quarterly", "revenue", "contract", "department", "meeting", "schedule", "budget",
        "customer", "invoice", "account", "delivery", "agreement", "project", "report",
        "employee", "salary", "review", "policy", "statement", "balance", "forecast",
        "market", "product", "service", "support", "request", "approval", "training",
        "committee", "director", "management", "procedure", "document", "reference",
        "section", "paragraph", "appendix", "summary", "analysis", "results", "figure",
        "table", "total", "percent", "million", "January", "February", "March", "April"};
    std::string ops = "BT\n/F1 11 Tf\n13 TL\n72 690 Td\n";
    for (int line = 0; line < 48; ++line) {
        std::string text;
        while (text.size() < 76) {
            if (!text.empty()) {
                text += ' ';
            }
            text += words[rng.next() % (sizeof(words) / sizeof(words[0]))];
        }
        ops += pdfLiteral(text) + (line == 0 ? " Tj\n" : " '\n");
    }
    return ops + "ET\n";
}

// Build an N-page document ("Page N" on each page, then the body).
void
buildPages(QPDF& pdf, int n, PageBody body)
{
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    OH shared_res = pdf.makeIndirectObject(makeResources(font));
    DeterministicRandom rng;
    for (int i = 1; i <= n; ++i) {
        std::string content = textOps(72, 720, 24, "Page " + std::to_string(i));
        OH res = shared_res;
        if (body == PageBody::prose) {
            rng.reseed("prose" + std::to_string(i));
            content += proseOps(rng);
        }
        if (body == PageBody::image) {
            // 224x224 RGB: gradient plus 6 bits of noise per byte, so the
            // Flate-compressed stream is ~150 KB and differs on every page.
            int const w = 224, h = 224;
            rng.reseed("image" + std::to_string(i));
            std::string data(static_cast<size_t>(w) * h * 3, '\0');
            size_t k = 0;
            for (int y = 0; y < h; ++y) {
                for (int x = 0; x < w; ++x) {
                    uint64_t r = rng.next();
                    data[k++] = static_cast<char>((x & 0xc0) | (r & 0x3f));
                    data[k++] = static_cast<char>((y & 0xc0) | ((r >> 8) & 0x3f));
                    data[k++] = static_cast<char>((((x ^ y) + i) & 0xc0) | ((r >> 16) & 0x3f));
                }
            }
            OH img = OH::newStream(&pdf, data);
            OH d = img.getDict();
            d.replaceKey("/Type", OH::newName("/XObject"));
            d.replaceKey("/Subtype", OH::newName("/Image"));
            d.replaceKey("/Width", OH::newInteger(w));
            d.replaceKey("/Height", OH::newInteger(h));
            d.replaceKey("/ColorSpace", OH::newName("/DeviceRGB"));
            d.replaceKey("/BitsPerComponent", OH::newInteger(8));
            res = makeResources(font);
            OH xobj = OH::newDictionary();
            xobj.replaceKey("/Im1", img);
            res.replaceKey("/XObject", xobj);
            res.replaceKey("/ProcSet", OH::parse("[/PDF /Text /ImageC]"));
            content += "q\n300 0 0 300 72 300 cm\n/Im1 Do\nQ\n";
        }
        appendPage(pdf, makePage(pdf, box(0, 0, 612, 792), res, content));
    }
}

// Write an N-page document to path (used for pages-1000.pdf and --pages).
void
genPages(fs::path const& path, int n, PageBody body, bool objstm)
{
    QPDF pdf;
    buildPages(pdf, n, body);
    WriteOpts o;
    o.objstm = objstm;
    writePdf(pdf, path, o);
}

// objstm.pdf: five pages written with object streams.
void
genObjstm(fs::path const& dir)
{
    genPages(dir / "objstm.pdf", 5, PageBody::line, true);
}

// Build a plain N-page document whose pages read "<label> N".
void
buildLabelled(QPDF& pdf, int n, std::string const& label)
{
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    for (int i = 1; i <= n; ++i) {
        appendPage(
            pdf,
            makePage(
                pdf, box(0, 0, 612, 792), makeResources(font),
                textOps(72, 720, 24, label + " " + std::to_string(i))));
    }
}

// encrypted-empty-user.pdf: 2 pages, AES-256 (R6), user "", owner "owner".
void
genEncryptedEmptyUser(fs::path const& dir)
{
    QPDF pdf;
    buildLabelled(pdf, 2, "Encrypted page");
    WriteOpts o;
    o.crypt = Crypt::empty_user;
    writePdf(pdf, dir / "encrypted-empty-user.pdf", o);
}

// encrypted-user-pw.pdf: 1 page, AES-256 (R6), user "secret", owner "owner".
void
genEncryptedUserPw(fs::path const& dir)
{
    QPDF pdf;
    buildLabelled(pdf, 1, "Secret page");
    WriteOpts o;
    o.crypt = Crypt::user_pw;
    writePdf(pdf, dir / "encrypted-user-pw.pdf", o);
}

// no-pages.pdf: a catalog whose /Pages has /Count 0 and empty /Kids.
void
genNoPages(fs::path const& dir)
{
    QPDF pdf;
    pdf.emptyPDF();
    writePdf(pdf, dir / "no-pages.pdf");
}

// empty.pdf (0 bytes) and notpdf.pdf (plain text).
void
genTrivialBad(fs::path const& dir)
{
    writeBytes(dir / "empty.pdf", "");
    writeBytes(dir / "notpdf.pdf", "This is a plain text file, not a PDF.\nprintguard test fixture.\n");
}

// broken-objects.pdf: valid header, xref and trailer, but the /Pages node,
// the page object and the content stream are garbage and the catalog and
// Kids hold dangling references (9 0 R), so no page can be found.
void
genBrokenObjects(fs::path const& dir)
{
    std::vector<std::string> objs = {
        "1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Outlines 9 0 R >>\nendobj\n",
        "2 0 obj\n]]] @@@ /Type /Pages /Kids [3 0 R 9 0 R] /Count 2 >>\nendobj\n",
        "3 0 obj\n@@@ ]]] >> garbage-not-a-page <</Type /Page /Contents 4 0 R\nendobj\n",
        "4 0 obj\n<< /Length 4000 >>\nstream\n\x01\x02 %%% ) ( garbage >> ]\nendstream\nendobj\n",
    };
    std::string out = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n";
    std::vector<size_t> offsets;
    for (auto const& o: objs) {
        offsets.push_back(out.size());
        out += o;
    }
    size_t xref = out.size();
    out += "xref\n0 " + std::to_string(objs.size() + 1) + "\n0000000000 65535 f \n";
    for (size_t off: offsets) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%010zu 00000 n \n", off);
        out += buf;
    }
    out += "trailer\n<< /Size " + std::to_string(objs.size() + 1) + " /Root 1 0 R >>\nstartxref\n" +
        std::to_string(xref) + "\n%%EOF\n";
    writeBytes(dir / "broken-objects.pdf", out);
}

// latin1-title.pdf: Info /Title "Résumé ça" (PDFDocEncoding) plus XMP dc:title.
void
genLatin1Title(fs::path const& dir)
{
    std::string const title_utf8 = "R\xc3\xa9sum\xc3\xa9 \xc3\xa7"
                                   "a";
    std::string const title_winansi = "R\xe9sum\xe9 \xe7"
                                      "a";
    QPDF pdf;
    pdf.emptyPDF();
    OH font = makeFont(pdf);
    appendPage(
        pdf, makePage(pdf, box(0, 0, 612, 792), makeResources(font), textOps(72, 720, 24, title_winansi)));

    OH info = OH::newDictionary();
    info.replaceKey("/Title", OH::newUnicodeString(title_utf8));
    info.replaceKey("/Producer", OH::newString("printguard pdfgen"));
    pdf.getTrailer().replaceKey("/Info", pdf.makeIndirectObject(info));

    std::string xmp =
        "<?xpacket begin=\"\xef\xbb\xbf\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
        "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n"
        " <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n"
        "  <rdf:Description rdf:about=\"\"\n"
        "    xmlns:dc=\"http://purl.org/dc/elements/1.1/\"\n"
        "    xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\">\n"
        "   <dc:format>application/pdf</dc:format>\n"
        "   <dc:title>\n"
        "    <rdf:Alt>\n"
        "     <rdf:li xml:lang=\"x-default\">" +
        title_utf8 +
        "</rdf:li>\n"
        "    </rdf:Alt>\n"
        "   </dc:title>\n"
        "   <pdf:Producer>printguard pdfgen</pdf:Producer>\n"
        "  </rdf:Description>\n"
        " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        "<?xpacket end=\"w\"?>";
    OH meta = OH::newStream(&pdf, xmp);
    meta.getDict().replaceKey("/Type", OH::newName("/Metadata"));
    meta.getDict().replaceKey("/Subtype", OH::newName("/XML"));
    pdf.getRoot().replaceKey("/Metadata", meta);
    writePdf(pdf, dir / "latin1-title.pdf");
}

// Generate every named fixture into dir.
void
genAll(fs::path const& dir)
{
    genSimple(dir);
    genTruncated(dir);
    genRotated(dir);
    genCropboxOffset(dir);
    genLandscape(dir);
    genMixedSizes(dir);
    genUnbalancedQ(dir);
    genInherited(dir);
    genContentsArray(dir);
    genObjstm(dir);
    genEncryptedEmptyUser(dir);
    genEncryptedUserPw(dir);
    genPages(dir / "pages-1000.pdf", 1000, PageBody::line, false);
    genTrivialBad(dir);
    genBrokenObjects(dir);
    genNoPages(dir);
    genLatin1Title(dir);
}

// Print usage to stderr and return the exit status for bad usage.
int
usage(char const* argv0)
{
    std::cerr << "usage: " << argv0 << " OUTDIR\n"
              << "       " << argv0 << " OUTDIR --pages N [NAME.pdf] [--image | --prose] [--objstm]\n";
    return 2;
}

} // namespace

// Parse the command line and generate the requested fixtures.
int
main(int argc, char* argv[])
{
    if (argc < 2 || argv[1][0] == '-') {
        return usage(argv[0]);
    }
    fs::path outdir = argv[1];
    long pages = -1;
    PageBody body = PageBody::line;
    bool objstm = false;
    std::string name;
    for (int i = 2; i < argc; ++i) {
        std::string a = argv[i];
        if (a == "--pages" && i + 1 < argc) {
            char* end = nullptr;
            pages = std::strtol(argv[++i], &end, 10);
            if (*end != '\0' || pages < 1 || pages > 10000000) {
                std::cerr << argv[0] << ": bad page count " << argv[i] << "\n";
                return 2;
            }
        } else if ((a == "--image" || a == "--prose") && body == PageBody::line) {
            body = a == "--image" ? PageBody::image : PageBody::prose;
        } else if (a == "--objstm") {
            objstm = true;
        } else if (!a.empty() && a[0] != '-' && name.empty()) {
            name = a;
        } else {
            return usage(argv[0]);
        }
    }
    if (pages < 0 && (body != PageBody::line || objstm || !name.empty())) {
        return usage(argv[0]);
    }

    QUtil::setRandomDataProvider(&g_random);
    try {
        fs::create_directories(outdir);
        if (pages > 0) {
            if (name.empty()) {
                name = "pages-" + std::to_string(pages) + ".pdf";
            }
            genPages(outdir / name, static_cast<int>(pages), body, objstm);
        } else {
            genAll(outdir);
        }
    } catch (std::exception& e) {
        std::cerr << argv[0] << ": " << e.what() << "\n";
        return 1;
    }
    return 0;
}
