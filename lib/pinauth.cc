// pinauth.cc - lockout, PIN checks and auth records for the station and PAM.
#include "pinauth.h"

#include <sodium.h>

#include <ctime>
#include <memory>

#include "ldapauth.h"
#include "pin.h"
#include "util.h"

namespace pg {

std::string badge_key(const std::string& badge) { return lower("badge:" + badge.substr(0, 64)); }

bool valid_login_name(const std::string& name) {
  if (name.empty() || name.size() > 256) return false;
  for (unsigned char c : name)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

bool is_badge_name(const std::string& name, BadgeMode mode) {
  if (mode != BadgeMode::Auto) return mode == BadgeMode::Always;
  return !name.empty() && name.find_first_not_of("0123456789") == std::string::npos;
}

AuthGate::AuthGate(const Config& cfg, AuditStore& audit, const Key& key, AuthSite site)
    : cfg_(cfg), audit_(audit), key_(key), site_(std::move(site)) {}

bool AuthGate::locked_out(const std::string& who) {
  if (audit_.recent_failures(lower(who), time(nullptr) - cfg_.lockout_window) < cfg_.lockout_failures) return false;
  record("auth-error", "locked out", who);
  return true;
}

long long AuthGate::record(const std::string& event, const std::string& detail, const std::string& who) {
  AuditEvent ev;
  ev.event = event;
  ev.user = lower(who);
  ev.queue = site_.queue;
  ev.host = site_.host;
  ev.title_hidden = true;
  ev.detail = detail + " [" + site_.where + "]";
  ev.time_utc = utc_iso8601(time(nullptr));
  ev.id = audit_.append(ev, key_);
  if (sink_) sink_(audit_line(ev));
  return ev.id;
}

bool AuthGate::has_pin(const std::string& user) { return !audit_.pin_of(user).empty(); }

PinResult AuthGate::user_pin(const std::string& user, const std::string& pin) {
  PinResult r;
  r.user = user;
  std::string hash = audit_.pin_of(user);
  if (hash.empty()) {
    r.status = PinStatus::NoPin;
    r.message = "no PIN set";
    return r;
  }
  if (locked_out(user)) {
    r.status = PinStatus::LockedOut;
    r.message = "locked out";
    return r;
  }
  if (!pin_verify(hash, pin)) {
    r.message = "wrong PIN";
    record("auth-fail", r.message, user);
    return r;
  }
  record("auth-ok", "PIN", user);
  r.status = PinStatus::Ok;
  r.message = "authenticated";
  return r;
}

PinResult AuthGate::badge_pin(const std::string& badge, const std::string& pin) {
  PinResult r;
  std::string bk = badge_key(badge);
  if (locked_out(bk)) {
    r.status = PinStatus::LockedOut;
    r.message = "locked out";
    return r;
  }
  AuthResult a = ldap_find_badge(cfg_.ldap, badge);
  if (!a.ok) {
    r.message = a.message;
    record(a.credentials ? "auth-fail" : "auth-error", a.message, bk);
    r.status = !a.credentials ? PinStatus::Unavailable : a.message == "unknown badge" ? PinStatus::UnknownBadge
                                                                                      : PinStatus::Denied;
    return r;
  }
  r.user = a.user;
  r.dn = a.dn;
  if (locked_out(a.user)) {
    r.status = PinStatus::LockedOut;
    r.message = "locked out";
    return r;
  }
  std::string hash = audit_.pin_of(a.user);
  if (hash.empty() || !pin_verify(hash, pin)) {
    r.message = hash.empty() ? "no PIN set (printguard pin set " + a.user + ")" : "wrong PIN";
    record("auth-fail", r.message, bk);
    record("auth-fail", r.message + " with badge", a.user);
    return r;
  }
  record("auth-ok", "badge + PIN", a.user);
  r.status = PinStatus::Ok;
  r.message = "authenticated";
  return r;
}

PinResult pin_login(const PinLoginOptions& o, const std::string& name, const PinSource& get_pin,
                    const std::function<void(const std::string&)>& audit_log) {
  PinResult r;
  r.user = name;
  if (!valid_login_name(name)) {
    r.status = PinStatus::InvalidName;
    r.message = "invalid user name";
    return r;
  }
  std::string pin;
  try {
    crypto_init();
    Config cfg = load_config(o.config);
    // The store must exist: creating one here would only hold no PINs.
    AuditStore audit(cfg.audit_db, false, false);
    Key key = KeyStore(cfg.key_dir).current();
    std::string where = "PAM service " + (o.service.empty() ? std::string("?") : o.service.substr(0, 64));
    AuthGate gate(cfg, audit, key, AuthSite{"", o.rhost.substr(0, 255), where});
    if (cfg.syslog && audit_log) gate.set_sink(audit_log);
    bool badge = is_badge_name(name, o.badge);
    if (!badge && !gate.has_pin(name)) {
      r.status = PinStatus::NoPin;
      r.message = "no PIN set";
      return r;
    }
    if (gate.locked_out(badge ? badge_key(name) : name)) {
      r.status = PinStatus::LockedOut;
      r.message = "locked out";
      return r;
    }
    if (!get_pin(pin)) {
      r.status = PinStatus::NoInput;
      r.message = "no PIN given";
      return r;
    }
    r = badge ? gate.badge_pin(name, pin) : gate.user_pin(name, pin);
    if (badge && r.user.empty()) r.user = name;
  } catch (const Error& e) {
    r.status = PinStatus::Unavailable;
    r.message = e.what();
  }
  sodium_memzero(pin.data(), pin.size());
  return r;
}

}  // namespace pg
