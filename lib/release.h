// release.h - release records: the single-use, short-lived, keyed permission for
// the printguard backend to send exactly one job to exactly one queue.
#pragma once

#include <string>

#include "keys.h"

namespace pg {

// Release - what a release station grants after authenticating the job's owner.
struct Release {
  int version = 1;
  std::string key_id;
  std::string job_uuid;
  long long job_id = 0;
  std::string owner;
  std::string queue;  // destination queue (case-insensitive, as CUPS)
  long long created = 0, expires = 0;
  std::string nonce;  // 16 random bytes, hex
  std::string station;  // where it was granted (for the audit trail)
};

// encode_release() - canonical length-prefixed bytes the MAC covers.
std::string encode_release(const Release& r);

// decode_release() - inverse of encode_release(); false on any malformation.
bool decode_release(const std::string& bytes, Release& r);

// make_release() - a new release valid for ttl seconds from now, with a fresh nonce.
Release make_release(const Key& key, const std::string& job_uuid, long long job_id, const std::string& owner,
                     const std::string& queue, int ttl, const std::string& station);

// release_mac() - HMAC-SHA-256 of the encoded release under key.
Mac release_mac(const Key& key, const Release& r);

enum class ReleaseCheck { Valid, Forged, Expired, WrongJob };

// check_release() - whether a stored release (bytes + MAC) lets job (uuid, id,
// owner) go to queue now. `why` says what failed.
ReleaseCheck check_release(const std::string& bytes, const std::string& mac, const KeyStore& keys,
                           const std::string& job_uuid, long long job_id, const std::string& owner,
                           const std::string& queue, long long now, std::string& why, Release* out = nullptr);

}  // namespace pg
