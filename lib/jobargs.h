// jobargs.h - the job a CUPS filter or backend is run for (argv + $PRINTER); kept
// apart from the watermark code so the backend does not link the PDF library.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pg {

// JobInfo - what CUPS tells a filter about the job (argv and environment).
struct JobInfo {
  long long job_id = 0;
  std::string user, title, queue, uuid, host;
  std::map<std::string, std::string> options;
  std::string input;  // file argument; empty for stdin
};

// parse_cups_options() - the job options argument split into (name, value) pairs
// exactly as cupsParseOptions() does (quotes, backslashes, collections, "noname"),
// so the filter need not load libcups and its dependencies at start-up.
std::vector<std::pair<std::string, std::string>> parse_cups_options(const std::string& arg);

// parse_job_args() - the CUPS filter/backend argv (job user title copies options
// [file]) plus $PRINTER; throws Error on a malformed command line.
JobInfo parse_job_args(const std::vector<std::string>& argv);

}  // namespace pg
