// release.cc - release records.
#include "release.h"

#include <ctime>
#include <sodium.h>

#include "util.h"

namespace pg {

static const char kLabel[] = "printguard-release";

// put() - one length-prefixed field.
static void put(std::string& out, const std::string& v) {
  uint32_t n = static_cast<uint32_t>(v.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out += v;
}

// get() - read one length-prefixed field; false past the end.
static bool get(const std::string& in, size_t& pos, std::string& v) {
  if (pos > in.size() || in.size() - pos < 4) return false;
  uint32_t n = 0;
  for (int i = 0; i < 4; i++) n = (n << 8) | static_cast<unsigned char>(in[pos + static_cast<size_t>(i)]);
  pos += 4;
  if (n > in.size() - pos) return false;
  v = in.substr(pos, n);
  pos += n;
  return true;
}

std::string encode_release(const Release& r) {
  std::string out;
  put(out, kLabel);
  put(out, std::to_string(r.version));
  put(out, r.key_id);
  put(out, r.job_uuid);
  put(out, std::to_string(r.job_id));
  put(out, r.owner);
  put(out, lower(r.queue));
  put(out, std::to_string(r.created));
  put(out, std::to_string(r.expires));
  put(out, r.nonce);
  put(out, r.station);
  return out;
}

bool decode_release(const std::string& bytes, Release& r) {
  std::string f[11];
  size_t pos = 0;
  for (auto& x : f)
    if (!get(bytes, pos, x)) return false;
  if (pos != bytes.size() || f[0] != kLabel || f[1] != "1") return false;
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
