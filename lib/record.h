// record.h - the canonical, length-prefixed record a job's signature MAC covers.
#pragma once

#include <array>
#include <string>

#include "keys.h"

namespace pg {

// Record versions: 1 carried the document's SHA-256; 2 (written now) carries
// its document digest (docdigest.h), which large documents hash on every core.
constexpr int kRecordVersion = 2;

// SignedRecord - what a watermark signature says about one printed document.
struct SignedRecord {
  int version = kRecordVersion;
  std::string key_id;
  std::string job_uuid;
  long long job_id = 0;
  std::string owner;
  std::string queue;
  std::string host;      // job-originating-host-name
  std::string time_utc;  // YYYY-MM-DDTHH:MM:SSZ, when the document was stamped
  long long pages = 0;
  std::array<unsigned char, 32> doc_digest{};  // version 1: SHA-256; 2: document digest
  bool title_hidden = false;
  std::string title;  // the title, or hex HMAC of it when hidden
};

// encode_record() - canonical bytes: a label, then every field as 4-byte big-endian
// length + bytes, in a fixed order.
std::string encode_record(const SignedRecord& r);

// decode_record() - inverse of encode_record(); false on any malformation.
bool decode_record(const std::string& bytes, SignedRecord& r);

// record_digest_name() - what the record's document digest is, for display:
// "SHA-256" (version 1) or "digest" (printguard digest, version 2).
std::string record_digest_name(const SignedRecord& r);

// title_hash() - keyed hash (hex) standing in for a hidden title.
std::string title_hash(const Key& key, const std::string& title);

// sign_record() - HMAC-SHA-256 of the canonical record under key.
Mac sign_record(const Key& key, const SignedRecord& r);

}  // namespace pg
