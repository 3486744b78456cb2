// filterrun.cc - run the watermark filter function in-process for tests, with
// stdout and stderr captured through files.
#include <csignal>
#include <fcntl.h>

#include <thread>

#include "testutil.h"
#include "watermark.h"

namespace pgtest {

FilterRun run_filter(const std::string& conf, const std::string& queue, const std::vector<std::string>& args,
                     const std::string& input_file, bool via_stdin) {
  FilterRun r;
  TempDir d;
  setenv("PRINTGUARD_CONF", conf.c_str(), 1);
  setenv("PRINTER", queue.c_str(), 1);
  setenv("TMPDIR", d.path().c_str(), 1);
  std::vector<std::string> argv = args;
  if (!via_stdin && !input_file.empty()) argv.push_back(input_file);
  int out = open((d / "out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = open((d / "err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int saved_err = dup(2);
  dup2(err, 2);
  int in_fd = 0;
  std::thread feeder;
  int p[2] = {-1, -1};
  if (via_stdin) {
    signal(SIGPIPE, SIG_IGN);
    if (pipe(p) != 0) abort();
    in_fd = p[0];
    std::string data = slurp(input_file);
    feeder = std::thread([data, w = p[1]] {
      write_all_ignore(w, data);
      close(w);
    });
  }
  r.status = pg::run_watermark_filter(argv, in_fd, out);
  // Close our read end first: a filter that stopped reading must not leave the
  // feeder blocked on a full pipe (it gets EPIPE, as cupsd's upstream filter would).
  if (p[0] >= 0) close(p[0]);
  if (feeder.joinable()) feeder.join();
  dup2(saved_err, 2);
  close(saved_err);
  close(err);
  close(out);
  r.out = slurp(d / "out");
  r.err = slurp(d / "err");
  // The filter must leave nothing behind in its TMPDIR.
  std::string left = run("ls -A '" + d.path() + "' | grep -v -x -e out -e err");
  if (!left.empty()) ADD_FAILURE() << "temporary files left behind: " << left;
  unsetenv("TMPDIR");
  return r;
}

}  // namespace pgtest
