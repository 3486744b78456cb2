// testutil.h - helpers shared by the unit tests: temp dirs, keys, configs, commands.
#pragma once

#include <gtest/gtest.h>
#include <algorithm>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "keys.h"
#include "util.h"

namespace pgtest {

// TempDir - a fresh directory removed (recursively) at scope exit.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/pgtest-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    path_ = tmpl;
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// write_text() - create or replace a file with text and mode.
inline void write_text(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  chmod(path.c_str(), mode);
}

// slurp() - a whole file as a string ("" if missing).
inline std::string slurp(const std::string& path) {
  try {
    return pg::read_file(path, 1u << 30);
  } catch (const pg::Error&) {
    return "";
  }
}

// run() - run a shell command (test-controlled strings only), returning its stdout.
inline std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

// write_all_ignore() - write data to fd, ignoring errors (the reader may stop early).
inline void write_all_ignore(int fd, const std::string& data) { (void)pg::write_all(fd, data.data(), data.size()); }

// make_site() - a key dir with a current key, and a config file pointing at it and
// at an audit store in dir; returns the config path. Extra lines are appended.
inline std::string make_site(const TempDir& dir, const std::string& extra = "", const std::string& key_id = "TST1") {
  pg::crypto_init();
  pg::KeyStore(dir / "keys").generate(key_id, true);
  std::string conf = dir / "printguard.conf";
  write_text(conf, "KeyDir " + (dir / "keys") + "\nAuditDB " + (dir / "audit.db") + "\nSyslog No\nTimeZone UTC\n" + extra);
  return conf;
}

// pdfgen_dir() - generate the test PDFs once per test binary; returns their dir.
inline std::string pdfgen_dir() {
  static TempDir* dir = nullptr;
  if (!dir) {
    dir = new TempDir;
    const char* gen = getenv("PG_PDFGEN");
    std::string g = gen ? gen : "tests/pdfgen";
    int st = 0;
    run("'" + g + "' '" + dir->path() + "' >/dev/null 2>&1", &st);
    if (st != 0) ADD_FAILURE() << "pdfgen failed: " << g;
  }
  return dir->path();
}

// pdftotext_pages() - text of each page, via poppler's pdftotext.
inline std::vector<std::string> pdftotext_pages(const std::string& pdf) {
  std::string all = run("pdftotext -enc UTF-8 '" + pdf + "' - 2>/dev/null");
  std::vector<std::string> pages;
  size_t p = 0;
  while (true) {
    size_t ff = all.find('\f', p);
    if (ff == std::string::npos) break;
    pages.push_back(all.substr(p, ff - p));
    p = ff + 1;
  }
  return pages;
}

}  // namespace pgtest

namespace pgtest {

// FilterRun - the result of running the filter function in-process.
struct FilterRun {
  int status = -1;
  std::string out, err;
};

// run_filter() - run pg::run_watermark_filter with PRINTGUARD_CONF=conf and
// PRINTER=queue; input is the file argument, or fed through a pipe when via_stdin.
FilterRun run_filter(const std::string& conf, const std::string& queue, const std::vector<std::string>& args,
                     const std::string& input_file, bool via_stdin = false);

}  // namespace pgtest
