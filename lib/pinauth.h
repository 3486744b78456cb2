// pinauth.h - authentication shared by printguard release and pam_printguard:
// the lockout counted in the audit store, PIN checks for a user name or a
// badge number, and the auth-ok / auth-fail / auth-error records.
#pragma once

#include <functional>
#include <string>

#include "audit.h"
#include "config.h"
#include "keys.h"

namespace pg {

// AuthSite - where authentications happen, as their audit records say.
struct AuthSite {
  std::string queue;  // the station's queue ("" through PAM)
  std::string host;   // the remote host, if known (PAM_RHOST)
  std::string where;  // ends every record's detail in brackets: "station Q", "PAM service S"
};

// PinStatus - the outcome of a PIN authentication.
enum class PinStatus {
  Ok,            // the PIN verified; recorded as auth-ok
  Denied,        // wrong or missing PIN, invalid badge number: auth-fail (counts)
  UnknownBadge,  // no directory entry carries the badge: auth-fail (counts)
  LockedOut,     // too many recent failures: auth-error "locked out"
  NoPin,         // (user name) no PIN is set: nothing recorded, not ours to decide
  InvalidName,   // empty, longer than 256 bytes, or control characters: nothing recorded
  NoInput,       // no PIN could be had (the PIN source said so): nothing recorded
  Unavailable,   // configuration, key, audit store or directory unusable (fail closed)
};

// PinResult - a PIN authentication's outcome. `status` starts Denied: only a
// verified PIN whose auth-ok record was written sets Ok.
struct PinResult {
  PinStatus status = PinStatus::Denied;
  std::string user;     // the user name: as given, or the badge's directory uid
  std::string dn;       // the badge's directory entry
  std::string message;  // why not, for the log and the audit store
};

// BadgeMode - whether a name is taken as a badge number.
enum class BadgeMode { Auto, Always, Never };  // Auto: a name of digits only is a badge

// badge_key() - the name a badge's failures are counted under: "badge:N" in
// lower case, N cut to 64 bytes.
std::string badge_key(const std::string& badge);

// valid_login_name() - non-empty, at most 256 bytes, no control characters.
bool valid_login_name(const std::string& name);

// is_badge_name() - whether name is a badge number under mode.
bool is_badge_name(const std::string& name, BadgeMode mode);

// AuthGate - the lockout and the audit records of one place of authentication,
// over an open audit store and the signing key.
class AuthGate {
 public:
  AuthGate(const Config& cfg, AuditStore& audit, const Key& key, AuthSite site);
  // locked_out() - whether `who` (a user name, or badge_key()) has LockoutFailures
  // auth-fail records within LockoutWindow since its last auth-ok; counted in lower
  // case. If so, records an auth-error "locked out". Throws Error if the store fails.
  bool locked_out(const std::string& who);
  // record() - one auth-ok / auth-fail / auth-error record under `who` in lower case,
  // the site's where in brackets after the detail; returns its id. Throws Error.
  long long record(const std::string& event, const std::string& detail, const std::string& who);
  // has_pin() - whether a PIN is set for user (any case).
  bool has_pin(const std::string& user);
  // user_pin() - check pin against the PIN of user name `user`: LockedOut, NoPin,
  // Denied (auth-fail "wrong PIN") or Ok (auth-ok "PIN").
  PinResult user_pin(const std::string& user, const std::string& pin);
  // badge_pin() - find the badge's user in the directory, then check the user's PIN;
  // failures count against the badge and, once known, the user.
  PinResult badge_pin(const std::string& badge, const std::string& pin);
  // set_sink() - also pass each record's audit_line() to f (syslog through PAM).
  void set_sink(std::function<void(const std::string&)> f) { sink_ = std::move(f); }

 private:
  const Config& cfg_;
  AuditStore& audit_;
  const Key& key_;
  AuthSite site_;
  std::function<void(const std::string&)> sink_;
};

// PinLoginOptions - how pam_printguard was set up for one call.
struct PinLoginOptions {
  std::string config;  // printguard.conf to read (never $PRINTGUARD_CONF)
  BadgeMode badge = BadgeMode::Auto;
  std::string service;  // the PAM service, named in every record's detail
  std::string rhost;    // PAM_RHOST, recorded as the host
};

// PinSource - supplies the PIN once the caller has a say; false if there is none.
using PinSource = std::function<bool(std::string& pin)>;

// pin_login() - pam_printguard's decision without PAM: read the configuration,
// open the existing audit store and the signing key, and authenticate `name`
// (a user name, or a badge number per o.badge) with a PIN from get_pin, asked
// for only when the name has a PIN (user names) or is not locked out. Records
// go to the store and, with Syslog Yes, to audit_log. Never throws pg::Error:
// anything unusable is Unavailable.
PinResult pin_login(const PinLoginOptions& o, const std::string& name, const PinSource& get_pin,
                    const std::function<void(const std::string&)>& audit_log);

}  // namespace pg
