// printguard-watermark - CUPS filter: stamp a watermark and signature on every page.
#include <csignal>
#include <unistd.h>

#include <string>
#include <vector>

#include "util.h"
#include "watermark.h"

// main() - CUPS filter entry point: job user title copies options [file].
int main(int argc, char** argv) {
  pg::heap_in_huge_pages(256u << 20);  // large documents: a third less time (bench/)
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stderr, nullptr, _IONBF, 0);
  std::vector<std::string> args(argv, argv + argc);
  return pg::run_watermark_filter(args, STDIN_FILENO, STDOUT_FILENO);
}
