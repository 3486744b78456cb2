// release.cc - release records.
#include "release.h"

#include <ctime>
#include <sodium.h>

#include "util.h"

namespace pg {

static const char kLabel[] = "printguard-release";

std::string encode_release(const Release& r) {
  std::string out;
  put_field(out, kLabel);
  put_field(out, std::to_string(r.version));
  put_field(out, r.key_id);
  put_field(out, r.job_uuid);
  put_field(out, std::to_string(r.job_id));
  put_field(out, r.owner);
  put_field(out, lower(r.queue));
  put_field(out, std::to_string(r.created));
  put_field(out, std::to_string(r.expires));
  put_field(out, r.nonce);
  put_field(out, r.station);
  return out;
}

bool decode_release(const std::string& bytes, Release& r) {
  std::string f[11];
  size_t pos = 0;
  for (auto& x : f)
    if (!get_field(bytes, pos, x)) return false;
  if (pos != bytes.size() || f[0] != kLabel || f[1] != "1") return false;
  // Only what encode_release() writes: canonical numbers, a lower-case queue.
  for (int i : {4, 7, 8})
    if (!canonical_number(f[i])) return false;
  if (f[6] != lower(f[6])) return false;
  try {
    r.version = 1;
    r.key_id = f[2];
    r.job_uuid = f[3];
    r.job_id = parse_int(f[4], 0, 2147483647, "job id");
    r.owner = f[5];
    r.queue = f[6];
    r.created = parse_int(f[7], 0, 1LL << 40, "created");
    r.expires = parse_int(f[8], 0, 1LL << 40, "expires");
    r.nonce = f[9];
    r.station = f[10];
  } catch (const Error&) {
    return false;
  }
  return true;
}

Release make_release(const Key& key, const std::string& job_uuid, long long job_id, const std::string& owner,
                     const std::string& queue, int ttl, const std::string& station) {
  Release r;
  r.key_id = key.id;
  r.job_uuid = job_uuid;
  r.job_id = job_id;
  r.owner = owner;
  r.queue = lower(queue);
  r.created = time(nullptr);
  r.expires = r.created + ttl;
  unsigned char n[16];
  randombytes_buf(n, sizeof n);
  r.nonce = hex(n, sizeof n);
  r.station = station;
  return r;
}

Mac release_mac(const Key& key, const Release& r) { return hmac(key, kLabel, encode_release(r)); }

ReleaseCheck check_release(const std::string& bytes, const std::string& mac, const KeyStore& keys,
                           const std::string& job_uuid, long long job_id, const std::string& owner,
                           const std::string& queue, long long now, std::string& why, Release* out) {
  Release r;
  if (!decode_release(bytes, r) || mac.size() != kMacBytes) {
    why = "the release record is damaged";
    return ReleaseCheck::Forged;
  }
  Key key;
  try {
    key = keys.load(r.key_id);
  } catch (const Error& e) {
    why = std::string("the release cannot be checked: ") + e.what();
    return ReleaseCheck::Forged;
  }
  Mac want = release_mac(key, r);
  if (!mac_equal(want.data(), reinterpret_cast<const unsigned char*>(mac.data()), want.size())) {
    why = "the release record does not verify (forged or altered)";
    return ReleaseCheck::Forged;
  }
  if (r.job_uuid.empty() || r.job_uuid != job_uuid || r.job_id != job_id || r.owner != owner || r.queue != lower(queue)) {
    why = "the release is for another job, owner or queue";
    return ReleaseCheck::WrongJob;
  }
  if (now >= r.expires || now + 300 < r.created) {
    why = "the release expired";
    return ReleaseCheck::Expired;
  }
  if (out) *out = r;
  why.clear();
  return ReleaseCheck::Valid;
}

}  // namespace pg
