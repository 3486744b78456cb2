// pamlogin.h - printguard release's PAM authentication mode: one PAM
// transaction (pam_authenticate, then pam_acct_mgmt) answering every hidden
// prompt with the secret the station read.
#pragma once

#include <string>
#include <vector>

namespace pg {

// PamLogin - the outcome of one PAM transaction. `ok` starts false and only
// PAM_SUCCESS from both pam_authenticate and pam_acct_mgmt sets it.
struct PamLogin {
  bool ok = false;
  int rc = 0;               // the failing (or last) PAM return code
  std::string stage;        // "start", "authenticate" or "account": where it stopped
  std::string user;         // PAM_USER at the end (a module may have changed it)
  std::string message;      // pam_strerror() of rc
  std::vector<std::string> shown;  // PAM_ERROR_MSG / PAM_TEXT_INFO texts, printable
  bool credentials = false;  // rc says the credentials were wrong (counts for lockout)
  bool too_many = false;     // PAM_MAXTRIES: a module's own lockout
};

// pam_login() - run PAM service `service` for `user`: echo-off prompts get
// `secret`, echo-on prompts are refused, messages are collected in `shown`.
// PAM_TTY is set to `tty` when not empty.
PamLogin pam_login(const std::string& service, const std::string& user, const std::string& secret,
                   const std::string& tty = "");

// pam_credentials_failure() - whether a PAM return code means wrong credentials
// (PAM_AUTH_ERR, PAM_USER_UNKNOWN, PAM_MAXTRIES, PAM_CRED_INSUFFICIENT) rather
// than trouble with the system.
bool pam_credentials_failure(int rc);

}  // namespace pg
