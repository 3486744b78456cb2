// fuzz_options.cc - fuzz target: the CUPS job-options argument (pg::parse_job_args,
// pg::apply_user_options, pg::neutral_job_args).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include <cups/cups.h>

#include "backend.h"
#include "config.h"
#include "template.h"
#include "util.h"
#include "watermark.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_options: invariant violated: %s\n", what.c_str());
  abort();
}

// parse_options() - the options string as the real backend will see it (cupsParseOptions).
std::map<std::string, std::string> parse_options(const std::string& s) {
  cups_option_t* opts = nullptr;
  int n = cupsParseOptions(s.c_str(), 0, &opts);
  std::map<std::string, std::string> m;
  for (int i = 0; i < n; i++) m[opts[i].name] = opts[i].value ? opts[i].value : "";
  cupsFreeOptions(n, opts);
  return m;
}

// check_settings() - user options may never push a setting out of its documented range.
void check_settings(const pg::QueueSettings& s) {
  try {
    pg::validate_template(s.tmpl);
  } catch (const pg::Error& e) {
    fail(std::string("template set by a job option does not validate: ") + e.what());
  }
  if (!(s.font_size >= 2 && s.font_size <= 200)) fail("font-size out of range");
  if (!(s.gray >= 0 && s.gray <= 1)) fail("gray out of range");
  if (!(s.opacity >= 0.05 && s.opacity <= 1)) fail("opacity out of range");
  if (!(s.rotation >= -360 && s.rotation <= 360)) fail("rotation out of range");
}

}  // namespace

// LLVMFuzzerTestOneInput() - the input is argv[5] of a filter/backend command line.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> argv = {"f", "1", "u", "t", "1", std::string(reinterpret_cast<const char*>(data), size)};
  try {
    pg::JobInfo job = pg::parse_job_args(argv);
    for (pg::WatermarkMode mode : {pg::WatermarkMode::Required, pg::WatermarkMode::On}) {
      pg::QueueSettings s;
      s.mode = mode;
      for (auto& n : pg::user_option_names()) s.user_options.insert(n);
      pg::apply_user_options(s, job.options);
      check_settings(s);
      if (mode == pg::WatermarkMode::Required && s.mode != pg::WatermarkMode::Required)
        fail("a job option turned a required watermark off");
    }
  } catch (const pg::Error&) {
  }

  // HideTitles: the real backend must see the same options minus the document names.
  try {
    auto neutral = pg::neutral_job_args(argv);
    if (neutral.size() != argv.size()) fail("neutral_job_args() changed the argument count");
    if (neutral[3] != "Job 1") fail("neutral_job_args() kept the title");
    auto want = parse_options(argv[5]);
    for (const char* n : {"document-name-supplied", "job-name", "document-name"}) want.erase(n);
    auto got = parse_options(neutral[5]);
    if (got != want) {
      std::string msg = "options change on the way to the real backend:\n  argv[5]:    " + pg::printable(argv[5]) +
                        "\n  neutral[5]: " + pg::printable(neutral[5]);
      for (auto& [k, v] : want) {
        auto it = got.find(k);
        if (it == got.end()) msg += "\n  lost " + pg::printable(k) + "=" + pg::printable(v);
        else if (it->second != v) msg += "\n  " + pg::printable(k) + ": " + pg::printable(v) + " -> " + pg::printable(it->second);
      }
      for (auto& [k, v] : got)
        if (!want.count(k)) msg += "\n  added " + pg::printable(k) + "=" + pg::printable(v);
      fail(msg);
    }
  } catch (const pg::Error&) {
  }
  return 0;
}
