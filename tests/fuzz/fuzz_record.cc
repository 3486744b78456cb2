// fuzz_record.cc - fuzz target: signed-record bytes (pg::decode_record / pg::encode_record).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "record.h"
#include "util.h"

// LLVMFuzzerTestOneInput() - decode the input; whatever decodes must re-encode to the same bytes.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    pg::SignedRecord r;
    if (!pg::decode_record(bytes, r)) return 0;
    std::string again = pg::encode_record(r);
    if (again != bytes) {
      fprintf(stderr, "fuzz_record: decode_record() accepted bytes that encode_record() does not produce\n  in:  %s\n  out: %s\n",
              pg::printable(bytes).c_str(), pg::printable(again).c_str());
      abort();
    }
  } catch (const pg::Error&) {
  }
  return 0;
}
