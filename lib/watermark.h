// watermark.h - the printguard-watermark CUPS filter as a library function.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "config.h"
#include "jobargs.h"

namespace pg {

// apply_user_options() - apply printguard-* job options the queue allows; the
// others are ignored with a warning. Returns the messages to log.
std::vector<std::string> apply_user_options(QueueSettings& s, const std::map<std::string, std::string>& options);

// format_job_date() - strftime in the configured time zone (empty = local).
std::string format_job_date(long long t, const std::string& fmt, const std::string& tz);

// run_watermark_filter() - the whole filter: read the PDF (file or in_fd), stamp,
// sign, audit, and only then write the result to out_fd. Returns the exit status.
int run_watermark_filter(const std::vector<std::string>& argv, int in_fd, int out_fd);

}  // namespace pg
