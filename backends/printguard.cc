// printguard - CUPS backend: hold every job until its owner releases it, and never
// send to a printer in an error state. Device URI: printguard:<real device URI>.
#include <csignal>
#include <cstdio>

#include <string>
#include <vector>

#include "backend.h"

// main() - CUPS backend entry point: no arguments = discovery; else job user title copies options [file].
int main(int argc, char** argv) {
  setvbuf(stderr, nullptr, _IONBF, 0);
  signal(SIGPIPE, SIG_IGN);
  std::vector<std::string> args(argv, argv + argc);
  return pg::run_backend(args);
}
