// jobargs.cc - parsing the argv CUPS gives filters and backends, without libcups
// (the filter starts faster when it does not load libcups and its dependencies).
#include "jobargs.h"

#include <cctype>
#include <cstdlib>

#include "util.h"

namespace pg {

namespace {

// cups_space() - the white space cupsParseOptions() separates options with.
bool cups_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

// same_name() - option names compare case-insensitively (ASCII), as in CUPS.
bool same_name(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); i++)
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// add_option() - add or replace (keeping the first spelling of the name) an option.
void add_option(std::vector<std::pair<std::string, std::string>>& opts, const std::string& name, const std::string& value) {
  if (name.empty()) return;
  // CUPS keeps only one of these two synonyms: the later one.
  for (const char* pair : {"cupsPrintQuality", "print-quality"}) {
    std::string other = std::string(pair) == "print-quality" ? "cupsPrintQuality" : "print-quality";
    if (same_name(name, pair))
      for (size_t i = 0; i < opts.size(); i++)
        if (same_name(opts[i].first, other)) {
          opts.erase(opts.begin() + static_cast<long>(i));
          break;
        }
  }
  for (auto& o : opts)
    if (same_name(o.first, name)) {
      o.second = value;
      return;
    }
  opts.emplace_back(name, value);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_cups_options(const std::string& arg) {
  std::vector<std::pair<std::string, std::string>> opts;
  std::string s = arg.substr(0, arg.find('\0'));
  size_t i = 0, end = s.size();
  if (s.size() >= 2 && s[0] == '{' && s.back() == '}') {  // "{name=value ...}"
    i = 1;
    end--;
  }
  while (i < end && cups_space(s[i])) i++;
  while (i < end) {
    size_t start = i;
    while (i < end && !cups_space(s[i]) && s[i] != '=') i++;
    if (i == start) break;
    std::string name = s.substr(start, i - start);
    while (i < end && cups_space(s[i])) i++;
    if (i >= end || s[i] != '=') {
      // A bare name is a boolean: "name" is true, "noname" is false.
      if (name.size() >= 2 && tolower(static_cast<unsigned char>(name[0])) == 'n' &&
          tolower(static_cast<unsigned char>(name[1])) == 'o')
        add_option(opts, name.substr(2), "false");
      else
        add_option(opts, name, "true");
      continue;
    }
    i++;
    std::string v;
    while (i < end && !cups_space(s[i])) {
      char c = s[i];
      if (c == ',') {
        v += c;
        i++;
      } else if (c == '\'' || c == '"') {
        // Quoted: white space kept, backslash escapes, quotes dropped.
        i++;
        while (i < end && s[i] != c) {
          if (s[i] == '\\' && i + 1 < end) i++;
          v += s[i++];
        }
        if (i < end) i++;
      } else if (c == '{') {
        // A collection: kept with its braces up to the matching one.
        int depth = 0;
        for (; i < end; i++) {
          if (s[i] == '{') {
            depth++;
          } else if (s[i] == '}') {
            if (--depth == 0) {
              v += s[i++];
              break;
            }
          } else if (s[i] == '\\' && i + 1 < end) {
            i++;
          }
          v += s[i];
        }
      } else {
        while (i < end && !cups_space(s[i])) {
          if (s[i] == '\\' && i + 1 < end) i++;
          v += s[i++];
        }
      }
    }
    if (i < end) i++;
    while (i < end && cups_space(s[i])) i++;
    add_option(opts, name, v);
  }
  return opts;
}

JobInfo parse_job_args(const std::vector<std::string>& argv) {
  if (argv.size() < 6 || argv.size() > 7)
    throw Error("usage: " + (argv.empty() ? std::string("printguard-watermark") : argv[0]) +
                " job-id user title copies options [file]");
  JobInfo j;
  j.job_id = parse_int(argv[1], 0, 2147483647, "job id");
  j.user = argv[2];
  j.title = argv[3];
  parse_int(argv[4], 1, 1000000, "copies");
  for (auto& [name, value] : parse_cups_options(argv[5])) j.options[name] = value;
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
