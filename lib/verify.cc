// verify.cc - signature code verification.
#include "verify.h"

#include "code.h"
#include "util.h"

namespace pg {

VerifyResult verify_code(const std::string& typed, AuditStore& audit, const KeyStore& keys) {
  VerifyResult r;
  switch (parse_code(typed, r.code)) {
    case CodeStatus::Malformed:
      r.status = VerifyStatus::Malformed;
      r.message = "not a signature code: expected 21 symbols like XXXX-XXXX-XXXX-XXXX-XXXX-X";
      return r;
    case CodeStatus::BadCheck:
      r.status = VerifyStatus::Mistyped;
      r.message = "mistyped: check character wrong (re-read the code from the page)";
      return r;
    case CodeStatus::Ok:
      break;
  }
  auto ev = audit.find_code(r.code);
  if (!ev) {
    r.status = VerifyStatus::Unknown;
    r.message = "unknown code: no document printed here carries it";
    return r;
  }
  r.event = *ev;
  if (ev->redacted) {
    r.status = VerifyStatus::Redacted;
    r.message = "known code, but its record's details were removed (DetailRetention or anonymisation): it can no longer be verified";
    return r;
  }
  r.status = VerifyStatus::Forged;
  std::string key_id = r.code.substr(0, 4);
  Key key = keys.load(key_id);
  if (!decode_record(ev->record, r.record)) {
    r.message = "does not verify: the stored record is damaged or altered";
    return r;
  }
  Mac mac = sign_record(key, r.record);
  bool ok = ev->mac.size() == mac.size() && mac_equal(mac.data(), reinterpret_cast<const unsigned char*>(ev->mac.data()), mac.size());
  std::string want = mac_prefix_symbols(mac);
  std::string got;
  for (char c : r.code.substr(5))
    if (c != '-') got.push_back(c);
  got = got.substr(0, kCodeMacChars);
  ok = ok && mac_equal(reinterpret_cast<const unsigned char*>(want.data()), reinterpret_cast<const unsigned char*>(got.data()),
                       want.size());
  // The searchable columns must say what the signed record says.
  ok = ok && r.record.key_id == key_id && r.record.owner == ev->user && r.record.queue == ev->queue &&
       r.record.job_id == ev->job_id && r.record.job_uuid == ev->job_uuid && r.record.pages == ev->pages &&
       r.record.host == ev->host && r.record.time_utc == ev->time_utc &&
       (r.record.title_hidden ? r.record.title == ev->title_h : r.record.title == ev->title);
  if (!ok) {
    r.message = "does not verify: the audit record was altered or the code forged";
    return r;
  }
  r.status = VerifyStatus::Valid;
  r.message = "valid signature";
  return r;
}

int verify_exit_status(VerifyStatus s) {
  switch (s) {
    case VerifyStatus::Valid: return 0;
    case VerifyStatus::Unknown: return 1;
    case VerifyStatus::Mistyped: return 2;
    case VerifyStatus::Malformed: return 2;
    case VerifyStatus::Forged: return 3;
    case VerifyStatus::Redacted: return 5;
  }
  return 4;
}

}  // namespace pg
