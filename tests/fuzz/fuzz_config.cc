// fuzz_config.cc - fuzz target: printguard.conf text (pg::parse_config_text).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config.h"
#include "template.h"
#include "util.h"

namespace {

// fail() - report a broken invariant and abort so the fuzzer keeps the input.
[[noreturn]] void fail(const std::string& what) {
  fprintf(stderr, "fuzz_config: invariant violated: %s\n", what.c_str());
  abort();
}

// check_queue() - an accepted configuration only holds values its parser allows.
void check_queue(const pg::QueueSettings& s, const std::string& where) {
  try {
    pg::validate_template(s.tmpl);
  } catch (const pg::Error& e) {
    fail(where + ": accepted template does not validate: " + e.what());
  }
  if (s.tmpl.size() > 4096) fail(where + ": template longer than 4096 bytes");
  if (!(s.font_size >= 2 && s.font_size <= 200)) fail(where + ": FontSize out of range");
  if (!(s.gray >= 0 && s.gray <= 1)) fail(where + ": Gray out of range");
  if (!(s.opacity >= 0.05 && s.opacity <= 1)) fail(where + ": Opacity out of range");
  if (!(s.rotation >= -360 && s.rotation <= 360)) fail(where + ": Rotation out of range");
  if (s.date_format.empty() || s.date_format.size() > 200) fail(where + ": DateFormat length");
  if (s.held_retention < 1) fail(where + ": HeldJobRetention not positive");
}

}  // namespace

// LLVMFuzzerTestOneInput() - parse the input as printguard.conf; pg::Error is a clean rejection.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  pg::Config c;
  try {
    c = pg::parse_config_text(text, "fuzz");
  } catch (const pg::Error&) {
    return 0;
  }
  check_queue(c.defaults, "defaults");
  for (auto& [name, s] : c.queues) {
    if (name != pg::lower(name)) fail("queue key is not lower case");
    check_queue(s, "queue " + name);
  }
  if (c.key_dir.empty() || c.key_dir[0] != '/') fail("KeyDir not absolute");
  if (c.audit_db.empty() || c.audit_db[0] != '/') fail("AuditDB not absolute");
  if (c.spool_dir.empty() || c.spool_dir[0] != '/') fail("SpoolDir not absolute");
  return 0;
}
