// pamlogin.cc - the station's PAM transaction and its conversation function.
#include "pamlogin.h"

#include <security/pam_appl.h>
#include <sodium.h>

#include <cstdlib>
#include <cstring>
#include <new>

#include "util.h"

namespace pg {

namespace {

// ConvData - what the conversation function answers with, and what it saw.
struct ConvData {
  const std::string* secret;
  std::vector<std::string>* shown;
};

// free_responses() - wipe and free n responses (on a failed conversation).
void free_responses(struct pam_response* r, int n) {
  if (!r) return;
  for (int i = 0; i < n; i++)
    if (r[i].resp) {
      sodium_memzero(r[i].resp, strlen(r[i].resp));
      free(r[i].resp);
    }
  free(r);
}

// station_conv() - a PAM conversation: the secret for each hidden prompt, no
// answer to a visible one (the user name was given to pam_start).
int station_conv(int n, const struct pam_message** msg, struct pam_response** resp, void* data) {
  if (n <= 0 || n > PAM_MAX_NUM_MSG || !msg || !resp || !data) return PAM_CONV_ERR;
  auto* d = static_cast<ConvData*>(data);
  auto* r = static_cast<struct pam_response*>(calloc(static_cast<size_t>(n), sizeof(struct pam_response)));
  if (!r) return PAM_BUF_ERR;
  try {
    for (int i = 0; i < n; i++) {
      const struct pam_message* m = msg[i];
      switch (m->msg_style) {
        case PAM_PROMPT_ECHO_OFF:
          r[i].resp = strndup(d->secret->c_str(), d->secret->size());
          if (!r[i].resp) throw std::bad_alloc();
          break;
        case PAM_ERROR_MSG:
        case PAM_TEXT_INFO:
          if (m->msg && d->shown->size() < 32) d->shown->push_back(printable(std::string(m->msg).substr(0, 512)));
          break;
        default:  // PAM_PROMPT_ECHO_ON and anything else: not answered
          free_responses(r, n);
          return PAM_CONV_ERR;
      }
    }
  } catch (...) {
    free_responses(r, n);
    return PAM_BUF_ERR;
  }
  *resp = r;
  return PAM_SUCCESS;
}

}  // namespace

bool pam_credentials_failure(int rc) {
  return rc == PAM_AUTH_ERR || rc == PAM_USER_UNKNOWN || rc == PAM_MAXTRIES || rc == PAM_CRED_INSUFFICIENT;
}

PamLogin pam_login(const std::string& service, const std::string& user, const std::string& secret,
                   const std::string& tty) {
  PamLogin out;
  ConvData data{&secret, &out.shown};
  struct pam_conv conv = {station_conv, &data};
  pam_handle_t* ph = nullptr;
  out.stage = "start";
  out.rc = pam_start(service.c_str(), user.c_str(), &conv, &ph);
  if (out.rc != PAM_SUCCESS || !ph) {
    out.message = "cannot start PAM service " + service + (ph ? std::string(": ") + pam_strerror(ph, out.rc) : "");
    if (ph) pam_end(ph, out.rc);
    if (out.rc == PAM_SUCCESS) out.rc = PAM_SYSTEM_ERR;
    return out;
  }
  if (!tty.empty()) pam_set_item(ph, PAM_TTY, tty.c_str());
  out.stage = "authenticate";
  out.rc = pam_authenticate(ph, 0);
  if (out.rc == PAM_SUCCESS) {
    out.stage = "account";
    out.rc = pam_acct_mgmt(ph, 0);
  }
  const void* item = nullptr;
  if (pam_get_item(ph, PAM_USER, &item) == PAM_SUCCESS && item) out.user = static_cast<const char*>(item);
  out.message = pam_strerror(ph, out.rc);
  out.credentials = out.stage == "authenticate" && pam_credentials_failure(out.rc);
  out.too_many = out.rc == PAM_MAXTRIES;
  out.ok = out.rc == PAM_SUCCESS && !out.user.empty();
  pam_end(ph, out.rc);
  return out;
}

}  // namespace pg
