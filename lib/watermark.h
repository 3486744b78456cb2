// watermark.h - the printguard-watermark CUPS filter as a library function.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config.h"

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

// apply_user_options() - apply printguard-* job options the queue allows; the
// others are ignored with a warning. Returns the messages to log.
std::vector<std::string> apply_user_options(QueueSettings& s, const std::map<std::string, std::string>& options);

// format_job_date() - strftime in the configured time zone (empty = local).
std::string format_job_date(long long t, const std::string& fmt, const std::string& tz);

// run_watermark_filter() - the whole filter: read the PDF (file or in_fd), stamp,
// sign, audit, and only then write the result to out_fd. Returns the exit status.
int run_watermark_filter(const std::vector<std::string>& argv, int in_fd, int out_fd);

}  // namespace pg
