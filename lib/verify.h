// verify.h - check a typed signature code against the audit store and the keys.
#pragma once

#include <string>

#include "audit.h"
#include "keys.h"
#include "record.h"

namespace pg {

enum class VerifyStatus {
  Valid,      // record found, MAC re-computed and matching, record matches the row
  Unknown,    // well-formed code that no stamp record carries
  Mistyped,   // check character wrong
  Malformed,  // not a code at all
  Forged,     // record found but the MAC or the row does not verify
  Redacted    // record found, but retention removed what the MAC covers
};

// VerifyResult - the outcome plus what is known about the printed document.
struct VerifyResult {
  VerifyStatus status = VerifyStatus::Malformed;
  std::string code;     // canonical form when parsed
  std::string message;  // one line for the administrator
  AuditEvent event;
  SignedRecord record;
};

// verify_code() - the whole check; throws Error only when a needed key or the
// store cannot be read.
VerifyResult verify_code(const std::string& typed, AuditStore& audit, const KeyStore& keys);

// verify_exit_status() - the printguard(8) exit status for a result.
int verify_exit_status(VerifyStatus s);

}  // namespace pg
