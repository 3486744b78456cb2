// record.cc - canonical signed records.
#include "record.h"

#include "util.h"

namespace pg {

static const char kRecordLabel[] = "printguard-signed-record";

std::string encode_record(const SignedRecord& r) {
  std::string out;
  put_field(out, kRecordLabel);
  put_field(out, std::to_string(r.version));
  put_field(out, r.key_id);
  put_field(out, r.job_uuid);
  put_field(out, std::to_string(r.job_id));
  put_field(out, r.owner);
  put_field(out, r.queue);
  put_field(out, r.host);
  put_field(out, r.time_utc);
  put_field(out, std::to_string(r.pages));
  put_field(out, std::string(reinterpret_cast<const char*>(r.doc_digest.data()), r.doc_digest.size()));
  put_field(out, r.title_hidden ? "title-hmac" : "title");
  put_field(out, r.title);
  return out;
}

std::string record_digest_name(const SignedRecord& r) {
  return r.version == 1 ? "SHA-256" : "digest";
}

bool decode_record(const std::string& bytes, SignedRecord& r) {
  size_t pos = 0;
  std::string f[13];
  for (auto& x : f)
    if (!get_field(bytes, pos, x)) return false;
  if (pos != bytes.size() || f[0] != kRecordLabel || (f[1] != "1" && f[1] != "2")) return false;
  if (f[10].size() != 32 || (f[11] != "title" && f[11] != "title-hmac")) return false;
  // Only the encoder's own spelling of numbers: "042" or " 3" would decode to
  // the same record from different bytes.
  for (int i : {4, 9})
    if (!canonical_number(f[i])) return false;
  try {
    r.version = f[1] == "1" ? 1 : 2;
    r.key_id = f[2];
    r.job_uuid = f[3];
    r.job_id = parse_int(f[4], 0, 1LL << 53, "job id");
    r.owner = f[5];
    r.queue = f[6];
    r.host = f[7];
    r.time_utc = f[8];
    r.pages = parse_int(f[9], 0, 1LL << 40, "page count");
  } catch (const Error&) {
    return false;
  }
  std::copy(f[10].begin(), f[10].end(), r.doc_digest.begin());
  r.title_hidden = f[11] == "title-hmac";
  r.title = f[12];
  return true;
}

std::string title_hash(const Key& key, const std::string& title) {
  auto m = hmac(key, "printguard-title", title);
  return hex(m.data(), m.size());
}

Mac sign_record(const Key& key, const SignedRecord& r) { return hmac(key, "printguard-signature", encode_record(r)); }

}  // namespace pg
