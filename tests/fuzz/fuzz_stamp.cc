// fuzz_stamp.cc - fuzz target: stamping untrusted PDFs (pg::stamp_pdf with default settings).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "config.h"
#include "stamp.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_stamp: invariant violated: %s\n", what.c_str());
  abort();
}

std::string g_dir;  // this process's temporary directory, once made

// remove_dir() - at exit: delete the per-process directory and what is left in it.
void remove_dir() {
  unlink((g_dir + "/in.pdf").c_str());
  unlink((g_dir + "/out.pdf").c_str());
  rmdir(g_dir.c_str());
}

// work_dir() - a private temporary directory for this process, made on first use.
const std::string& work_dir() {
  if (g_dir.empty()) {
    const char* t = getenv("TMPDIR");
    std::string d = std::string(t && *t ? t : "/tmp") + "/pg-fuzz-stamp-XXXXXX";
    if (!mkdtemp(d.data())) {
      perror("fuzz_stamp: mkdtemp");
      abort();
    }
    g_dir = d;
    atexit(remove_dir);
  }
  return g_dir;
}

}  // namespace

// LLVMFuzzerTestOneInput() - stamp the input as a PDF; a rejected PDF is a pg::Error.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > (1u << 20)) return 0;  // bound the cost: qpdf work grows with the file
  const std::string in = work_dir() + "/in.pdf", out = work_dir() + "/out.pdf";
  FILE* f = fopen(in.c_str(), "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror("fuzz_stamp: cannot write the input");
    abort();
  }
  try {
    pg::QueueSettings s;
    auto r = pg::stamp_pdf(in, out, s, [](int page, int pages) {
      return "fuzz page " + std::to_string(page) + "/" + std::to_string(pages) + " \xc3\xa9t\xc3\xa9 (x) \\\nline two \xe2\x82\xac";
    });
    if (r.pages < 1) fail("stamp_pdf() succeeded on a PDF without pages");
    // What we write must open again, cleanly, with the same pages.
    int again = 0;
    try {
      again = pg::count_pdf_pages(out, false);
    } catch (const pg::Error& e) {
      fail(std::string("stamped output does not reopen: ") + e.what());
    }
    if (again != r.pages) fail("stamped output has " + std::to_string(again) + " pages, input " + std::to_string(r.pages));
  } catch (const pg::Error&) {
  }
  unlink(in.c_str());
  unlink(out.c_str());
  return 0;
}
