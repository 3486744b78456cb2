// stamp.h - stamp text on every page of a PDF with qpdf, robust against rotated
// pages, offset boxes and content that leaves the graphics state unbalanced.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "config.h"
#include "util.h"

namespace pg {

// StampResult - what stamp_pdf() did.
struct StampResult {
  int pages = 0;
  std::vector<char32_t> replaced;  // characters the font could not show
  std::vector<std::string> warnings;  // qpdf warnings accepted (RepairDamagedPDF Yes)
  bool incremental = false;  // output = the input's bytes unchanged + an appended update
  std::string full_rewrite_reason;  // why the whole file was rewritten (empty if incremental)
  int threads = 1;  // how many threads read and stamped the pages
  int plain_pages = 0;  // pages the incremental path read straight from the file (StampOptions::read_plain_objects)
};

// StampOptions - how stamp_pdf() may write its output.
struct StampOptions {
  // Try the incremental update first (falls back to a full rewrite by explicit checks).
  bool allow_incremental = true;
  // If set and the incremental path is taken, *update receives the appended bytes
  // and `out` is not written: the output is the input file followed by *update.
  ChunkedBuffer* update = nullptr;
  // For a program that exits right after (the filter): keep the parsed document
  // instead of freeing its objects one by one, which costs more than stamping
  // a short document. At most one document is kept per process.
  bool keep_parsed_document = false;
  // If set, called (on the calling thread) by the incremental path right after
  // page 1's text, with the page count, once no check of the document is left
  // that could make it fall back to the full rewrite: what remains is laying
  // out the update's bytes. Not called by the full rewrite.
  std::function<void(int pages)> on_update_certain;
  // The incremental path reads the page objects and content streams written
  // in the plain subset of PDF syntax straight from the file (RawReader, about
  // a tenth of qpdf's work for each), and asks qpdf for all others. Off: qpdf
  // reads them all (to compare the two).
  bool read_plain_objects = true;
  // For tests: where a long document's pages are shared between two threads,
  // this one takes none until the other has taken all it can, so the other's
  // part holds page 1 (where the two meet otherwise depends on scheduling).
  bool second_thread_takes_all = false;
};

// count_pdf_pages() - open the PDF as stamp_pdf() would and count pages; throws Error.
int count_pdf_pages(const std::string& path, bool repair_damaged);

// stamp_pdf() - read `in`, stamp page i (1-based) with text_for_page(i, pages)
// (UTF-8, '\n' separates lines) as `s` says, and write the result to `out`.
// Ordinary files get an incremental update (input bytes kept, new page objects
// appended); repaired, encrypted or unusual files and hidden titles get a full
// rewrite. text_for_page is asked for page 1 first, on the calling thread;
// after that call has returned, the other pages' texts may be asked for on two
// threads at once (a long document's stamps are written on both), and any page's
// again after a failed attempt at the incremental update.
// Throws Error (nothing usable written) on any failure.
StampResult stamp_pdf(const std::string& in, const std::string& out, const QueueSettings& s,
                      const std::function<std::string(int page, int pages)>& text_for_page,
                      const StampOptions& opt = {});

// Box - a rectangle in PDF user space.
struct Box {
  double x0 = 0, y0 = 0, x1 = 612, y1 = 792;
};

// stamp_content() - the content-stream operators that draw lines on a page whose
// visible box is `box` and whose /Rotate is `rotate`, using resources /PGfont and /PGgs.
std::string stamp_content(const Box& box, int rotate, const QueueSettings& s, const std::vector<std::string>& winansi_lines);

}  // namespace pg
