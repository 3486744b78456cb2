// printguard-watermark - CUPS filter: stamp a watermark and signature on every page.
#include <csignal>
#include <malloc.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "watermark.h"

// main() - CUPS filter entry point: job user title copies options [file].
int main(int argc, char** argv) {
  // The heaps grow 8 MB at a time (untouched pages cost nothing): glibc's
  // default grows a thread's heap with one mprotect() per few pages, and a
  // long document's qpdf objects need thousands of them.
  mallopt(M_TOP_PAD, 8 << 20);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stderr, nullptr, _IONBF, 0);
  std::vector<std::string> args(argv, argv + argc);
  return pg::run_watermark_filter(args, STDIN_FILENO, STDOUT_FILENO);
}
