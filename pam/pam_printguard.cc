// pam_printguard.cc - PAM auth module: badge number or user name + PIN checked
// against printguard's store, with the same lockout as printguard release
// (pg::pin_login, lib/pinauth.cc). See pam_printguard(8).
#include <security/pam_appl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <sodium.h>
#include <syslog.h>

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include "pinauth.h"
#include "util.h"

#ifndef PG_SYSCONFDIR
#define PG_SYSCONFDIR "/etc"
#endif

namespace {

// kFailDelay - microseconds libpam waits after a failed authentication.
constexpr unsigned kFailDelay = 2000000;

// ModuleOptions - the arguments of the module's line in a PAM service file.
struct ModuleOptions {
  pg::PinLoginOptions login;
  bool use_first_pass = false, try_first_pass = false, nodelay = false, debug = false;
};

// parse_options() - module arguments; false (with the argument in `bad`) on an unknown one.
bool parse_options(int argc, const char** argv, ModuleOptions& o, std::string& bad) {
  // Never $PRINTGUARD_CONF: the environment belongs to whoever runs su or login.
  o.login.config = PG_SYSCONFDIR "/printguard/printguard.conf";
  for (int i = 0; i < argc; i++) {
    std::string a = argv[i] ? argv[i] : "";
    if (a.rfind("config=", 0) == 0 && a.size() > 8 && a[7] == '/') o.login.config = a.substr(7);
    else if (a == "use_first_pass") o.use_first_pass = true;
    else if (a == "try_first_pass") o.try_first_pass = true;
    else if (a == "badge") o.login.badge = pg::BadgeMode::Always;
    else if (a == "nobadge") o.login.badge = pg::BadgeMode::Never;
    else if (a == "nodelay") o.nodelay = true;
    else if (a == "debug") o.debug = true;
    else {
      bad = a;
      return false;
    }
  }
  return true;
}

// item_string() - a string PAM item, or "".
std::string item_string(pam_handle_t* pamh, int type) {
  const void* v = nullptr;
  if (pam_get_item(pamh, type, &v) != PAM_SUCCESS || !v) return "";
  return static_cast<const char*>(v);
}

// get_pin() - the PIN: PAM_AUTHTOK with use_first_pass/try_first_pass, else asked
// for with a hidden "PIN: " prompt and kept as PAM_AUTHTOK for later modules.
bool get_pin(pam_handle_t* pamh, const ModuleOptions& o, std::string& pin, int& rc) {
  if (o.use_first_pass || o.try_first_pass) {
    std::string tok = item_string(pamh, PAM_AUTHTOK);
    if (!tok.empty()) {
      pin = tok;
      sodium_memzero(tok.data(), tok.size());
      return true;
    }
    if (o.use_first_pass) {
      rc = PAM_AUTHTOK_RECOVERY_ERR;
      return false;
    }
  }
  char* resp = nullptr;
  int r = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", "PIN: ");
  if (r != PAM_SUCCESS || !resp) {
    if (resp) free(resp);
    rc = r == PAM_CONV_AGAIN ? PAM_INCOMPLETE : r != PAM_SUCCESS ? r : PAM_CONV_ERR;
    return false;
  }
  pin = resp;
  sodium_memzero(resp, strlen(resp));
  free(resp);
  pam_set_item(pamh, PAM_AUTHTOK, pin.c_str());
  return true;
}

// authenticate() - the body of pam_sm_authenticate (may throw; the caller catches).
int authenticate(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  ModuleOptions o;
  std::string bad;
  if (!parse_options(argc, argv, o, bad)) {
    pam_syslog(pamh, LOG_ERR, "unknown option \"%s\" in the PAM service file; see pam_printguard(8)",
               pg::printable(bad).c_str());
    return PAM_SERVICE_ERR;
  }
  if (!o.nodelay) pam_fail_delay(pamh, kFailDelay);
  const char* user = nullptr;
  int rc = pam_get_user(pamh, &user, nullptr);
  if (rc != PAM_SUCCESS) return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
  if (!user) return PAM_USER_UNKNOWN;
  std::string name = user;
  o.login.service = item_string(pamh, PAM_SERVICE);
  o.login.rhost = item_string(pamh, PAM_RHOST);

  int pin_rc = PAM_AUTH_ERR;
  auto source = [&](std::string& pin) { return get_pin(pamh, o, pin, pin_rc); };
  auto audit_log = [&](const std::string& line) { pam_syslog(pamh, LOG_NOTICE, "%s", line.c_str()); };
  pg::PinResult r = pg::pin_login(o.login, name, source, audit_log);
  std::string who = pg::printable(name), why = pg::printable(r.message);
  switch (r.status) {
    case pg::PinStatus::Ok:
      if (r.user != name && pam_set_item(pamh, PAM_USER, r.user.c_str()) != PAM_SUCCESS) {
        pam_syslog(pamh, LOG_ERR, "badge %s: cannot set PAM_USER to %s", who.c_str(), pg::printable(r.user).c_str());
        return PAM_SYSTEM_ERR;
      }
      pam_syslog(pamh, LOG_INFO, "%s authenticated as %s", who.c_str(), pg::printable(r.user).c_str());
      return PAM_SUCCESS;
    case pg::PinStatus::NoPin:
      if (o.debug) pam_syslog(pamh, LOG_DEBUG, "user %s has no PIN: ignored", who.c_str());
      return PAM_IGNORE;
    case pg::PinStatus::InvalidName:
      pam_syslog(pamh, LOG_NOTICE, "invalid user name %s", who.c_str());
      return PAM_USER_UNKNOWN;
    case pg::PinStatus::NoInput:
      if (o.debug) pam_syslog(pamh, LOG_DEBUG, "%s: no PIN given (%s)", who.c_str(), pam_strerror(pamh, pin_rc));
      return pin_rc;
    case pg::PinStatus::LockedOut:
      pam_syslog(pamh, LOG_NOTICE, "%s is locked out: too many failed attempts", who.c_str());
      if (!(flags & PAM_SILENT)) pam_error(pamh, "too many failed attempts; try again later");
      return PAM_MAXTRIES;
    case pg::PinStatus::UnknownBadge:
      pam_syslog(pamh, LOG_NOTICE, "unknown badge %s", who.c_str());
      return PAM_USER_UNKNOWN;
    case pg::PinStatus::Denied:
      pam_syslog(pamh, LOG_NOTICE, "authentication failure for %s: %s", who.c_str(), why.c_str());
      return PAM_AUTH_ERR;
    case pg::PinStatus::Unavailable:
      pam_syslog(pamh, LOG_ERR, "cannot check %s: %s", who.c_str(), why.c_str());
      return PAM_AUTHINFO_UNAVAIL;
  }
  return PAM_AUTHINFO_UNAVAIL;
}

}  // namespace

// pam_sm_authenticate() - check the PIN of PAM_USER (a user name or badge number).
extern "C" int pam_sm_authenticate(pam_handle_t* pamh, int flags, int argc, const char** argv) {
  try {
    return authenticate(pamh, flags, argc, argv);
  } catch (const std::bad_alloc&) {
    pam_syslog(pamh, LOG_CRIT, "out of memory");
    return PAM_BUF_ERR;
  } catch (const std::exception& e) {
    pam_syslog(pamh, LOG_ERR, "internal error: %s", e.what());  // no allocation in a handler
    return PAM_AUTHINFO_UNAVAIL;
  } catch (...) {
    pam_syslog(pamh, LOG_ERR, "internal error");
    return PAM_AUTHINFO_UNAVAIL;
  }
}

// pam_sm_setcred() - no credentials to set; PAM_SUCCESS, since where this
// module decided the authentication PAM_IGNORE would fail pam_setcred.
extern "C" int pam_sm_setcred(pam_handle_t*, int, int, const char**) { return PAM_SUCCESS; }
