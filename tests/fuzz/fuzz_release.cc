// fuzz_release.cc - fuzz target: release-record bytes (pg::decode_release / pg::encode_release).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "release.h"
#include "util.h"

// LLVMFuzzerTestOneInput() - decode the input; whatever decodes must re-encode to the same bytes.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    pg::Release r;
    if (!pg::decode_release(bytes, r)) return 0;
    std::string again = pg::encode_release(r);
    if (again != bytes) {
      fprintf(stderr, "fuzz_release: decode_release() accepted bytes that encode_release() does not produce\n  in:  %s\n  out: %s\n",
              pg::printable(bytes).c_str(), pg::printable(again).c_str());
      abort();
    }
  } catch (const pg::Error&) {
  }
  return 0;
}
