// printguard-watermark - CUPS filter: stamp a watermark and signature on every page.
#include <csignal>
#include <unistd.h>

#include <string>
#include <vector>

#include "watermark.h"

// main() - CUPS filter entry point: job user title copies options [file].
int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stderr, nullptr, _IONBF, 0);
  std::vector<std::string> args(argv, argv + argc);
  return pg::run_watermark_filter(args, STDIN_FILENO, STDOUT_FILENO);
}
