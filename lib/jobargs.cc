// jobargs.cc - parsing the argv CUPS gives filters and backends.
#include "jobargs.h"

#include <cstdlib>
#include <cups/cups.h>

#include "util.h"

namespace pg {

JobInfo parse_job_args(const std::vector<std::string>& argv) {
  if (argv.size() < 6 || argv.size() > 7)
    throw Error("usage: " + (argv.empty() ? std::string("printguard-watermark") : argv[0]) +
                " job-id user title copies options [file]");
  JobInfo j;
  j.job_id = parse_int(argv[1], 0, 2147483647, "job id");
  j.user = argv[2];
  j.title = argv[3];
  parse_int(argv[4], 1, 1000000, "copies");
  cups_option_t* opts = nullptr;
  int n = cupsParseOptions(argv[5].c_str(), 0, &opts);
  for (int i = 0; i < n; i++) j.options[opts[i].name] = opts[i].value ? opts[i].value : "";
  cupsFreeOptions(n, opts);
  if (argv.size() == 7) j.input = argv[6];
  const char* printer = getenv("PRINTER");
  j.queue = printer ? printer : "";
  auto it = j.options.find("job-uuid");
  if (it != j.options.end()) j.uuid = it->second;
  it = j.options.find("job-originating-host-name");
  if (it != j.options.end()) j.host = it->second;
  return j;
}

}  // namespace pg
