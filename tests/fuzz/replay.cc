// replay.cc - run a fuzz target's LLVMFuzzerTestOneInput over saved inputs without
// libFuzzer (any compiler): `replay DIR|FILE...`. Exit 0 if every input ran
// cleanly, 1 if one threw anything but pg::Error, 2 on usage errors; a crash
// (abort, signal) names the input and ends the process with that signal.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <unistd.h>
#include <vector>

#include "util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

char g_current[4096] = "";  // the input being run, for the crash handler

// on_crash() - name the input that crashed, then die of the same signal.
void on_crash(int sig) {
  const char a[] = "replay: CRASH on ";
  (void)!write(STDERR_FILENO, a, sizeof a - 1);
  (void)!write(STDERR_FILENO, g_current, strlen(g_current));
  (void)!write(STDERR_FILENO, "\n", 1);
  signal(sig, SIG_DFL);
  raise(sig);
}

// collect() - the regular files named or held (not recursively) by the arguments, sorted.
bool collect(int argc, char** argv, std::vector<std::string>& files) {
  for (int i = 1; i < argc; i++) {
    std::error_code ec;
    fs::path p(argv[i]);
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> here;
      for (auto& e : fs::directory_iterator(p, ec))
        if (e.is_regular_file() && e.path().filename().string()[0] != '.') here.push_back(e.path().string());
      if (ec) {
        fprintf(stderr, "replay: cannot list %s: %s\n", argv[i], ec.message().c_str());
        return false;
      }
      std::sort(here.begin(), here.end());
      files.insert(files.end(), here.begin(), here.end());
    } else if (fs::is_regular_file(p, ec)) {
      files.push_back(p.string());
    } else {
      fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
      return false;
    }
  }
  return true;
}

// read_bytes() - a whole file; false if it cannot be read.
bool read_bytes(const std::string& path, std::vector<uint8_t>& out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return !f.bad();
}

}  // namespace

// main() - replay every input; count the ones that threw.
int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
    return 2;
  }
  std::vector<std::string> files;
  if (!collect(argc, argv, files)) return 2;
  for (int sig : {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGTRAP}) signal(sig, on_crash);
  int failed = 0;
  for (auto& path : files) {
    snprintf(g_current, sizeof g_current, "%s", path.c_str());
    std::vector<uint8_t> data;
    if (!read_bytes(path, data)) {
      fprintf(stderr, "replay: cannot read %s\n", path.c_str());
      failed++;
      continue;
    }
    try {
      // Like libFuzzer, never pass a null pointer, even for an empty input.
      static const uint8_t empty = 0;
      LLVMFuzzerTestOneInput(data.empty() ? &empty : data.data(), data.size());
    } catch (const pg::Error&) {
      // A clean error, merely one the target did not catch itself.
    } catch (const std::exception& e) {
      fprintf(stderr, "replay: FAIL %s: uncaught exception: %s\n", path.c_str(), e.what());
      failed++;
    } catch (...) {
      fprintf(stderr, "replay: FAIL %s: uncaught non-standard exception\n", path.c_str());
      failed++;
    }
  }
  printf("replay: %zu input(s), %d failure(s)\n", files.size(), failed);
  return failed ? 1 : 0;
}
