// fuzz_rawpdf.cc - fuzz target: the raw reader against qpdf on untrusted PDFs.
// Invariant: every object the raw reader reads is what qpdf reads there (the
// same value; for a stream the same dictionary and data), and a top-level
// object it reads gives qpdf nothing to warn about; checked until qpdf warns.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <string>
#include <unistd.h>

#include <qpdf/Buffer.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include "rawpdf.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_rawpdf: invariant violated: %s\n", what.c_str());
  abort();
}

std::string g_dir;  // this process's temporary directory, once made

// remove_dir() - at exit: delete the per-process directory and its input file.
void remove_dir() {
  unlink((g_dir + "/in.pdf").c_str());
  rmdir(g_dir.c_str());
}

// work_dir() - a private temporary directory for this process, made on first use.
const std::string& work_dir() {
  if (g_dir.empty()) {
    const char* t = getenv("TMPDIR");
    std::string d = std::string(t && *t ? t : "/tmp") + "/pg-fuzz-rawpdf-XXXXXX";
    if (!mkdtemp(d.data())) {
      perror("fuzz_rawpdf: mkdtemp");
      abort();
    }
    g_dir = d;
    atexit(remove_dir);
  }
  return g_dir;
}

// as_qpdf_reads() - the raw text parsed by qpdf (in an array: qpdf reads a
// reference only inside another object), unparsed.
std::string as_qpdf_reads(QPDF& pdf, const std::string& text) {
  return QPDFObjectHandle::parse(&pdf, "[" + text + "]").getArrayItem(0).unparseResolved();
}

// check_object() - the invariant for object og, read raw as o.
void check_object(QPDF& pdf, pg::RawReader& raw, QPDFObjGen og, const pg::RawObject& o, bool top_level) {
  bool warned_before = pdf.anyWarnings();
  auto q = pdf.getObject(og);
  q.getTypeCode();  // qpdf reads the object (and only it) here
  if (top_level && !warned_before && pdf.anyWarnings())
    fail(og.unparse(' ') + ": read raw, but qpdf warns about it");
  if (o.stream) {
    if (!q.isStream())
      fail(og.unparse(' ') + ": a stream read raw is not one to qpdf (" + q.getTypeName() +
           (pdf.anyWarnings() ? ", which warned: " + std::string(pdf.getWarnings().front().what()) : "") + ")");
    std::string mine = as_qpdf_reads(pdf, o.text), theirs = q.getDict().unparseResolved();
    if (mine != theirs) fail(og.unparse(' ') + ": stream dictionary " + mine + " vs qpdf's " + theirs);
    std::string data;
    if (!raw.read_data(o, data)) fail(og.unparse(' ') + ": stream data not read");
    auto b = q.getRawStreamData();
    if (data != std::string(reinterpret_cast<const char*>(b->getBuffer()), b->getSize()))
      fail(og.unparse(' ') + ": stream data differs from qpdf's");
  } else {
    std::string mine = as_qpdf_reads(pdf, o.text), theirs = q.unparseResolved();
    if (mine != theirs) fail(og.unparse(' ') + ": " + mine + " vs qpdf's " + theirs);
  }
}

}  // namespace

// LLVMFuzzerTestOneInput() - open the input with qpdf, read each object raw, compare.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // bound the cost
  const std::string in = work_dir() + "/in.pdf";
  FILE* f = fopen(in.c_str(), "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror("fuzz_rawpdf: cannot write the input");
    abort();
  }
  QPDF pdf;
  pdf.setSuppressWarnings(true);
  pdf.setAttemptRecovery(false);
  std::map<QPDFObjGen, QPDFXRefEntry> xref;
  try {
    pdf.processFile(in.c_str());
    xref = pdf.getXRefTable();
  } catch (const std::exception&) {
    return 0;  // qpdf cannot open it: the filter refuses it before reading anything raw
  }
  if (pdf.anyWarnings() || pdf.isEncrypted()) return 0;  // the filter rewrites such files whole
  int fd = open(in.c_str(), O_RDONLY);
  if (fd < 0) abort();
  pg::RawReader raw(fd, static_cast<long long>(size), in, xref);
  size_t n = 0;
  for (auto& [og, entry] : xref) {
    // Once qpdf has warned (reading an object, or one another refers to), it
    // may have rebuilt its table and read objects elsewhere; the filter then
    // rewrites the file whole, so the comparison ends there.
    if (++n > 2000 || pdf.anyWarnings()) break;
    pg::RawObject o;
    bool read;
    try {
      read = raw.read(og, o);
    } catch (const std::runtime_error&) {
      continue;  // a read error
    }
    if (!read) continue;
    try {
      check_object(pdf, raw, og, o, entry.getType() == 1);
    } catch (const std::exception& e) {
      fail(og.unparse(' ') + ": read raw, but qpdf throws: " + e.what());
    }
  }
  close(fd);
  return 0;
}
