// ldapauth.cc - LDAP authentication with libldap.
#include "ldapauth.h"

#include <ldap.h>
#include <sodium.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <thread>

#include "util.h"

namespace pg {

namespace {

// Watchdog - shuts the LDAP socket down once a deadline passes. libldap's TLS
// handshake has no timeout of its own: against a server that accepts the
// connection but never answers (frozen, overloaded) it spins for ever.
class Watchdog {
 public:
  explicit Watchdog(int seconds) : thread_([this, seconds] {
    std::unique_lock<std::mutex> lk(m_);
    if (cv_.wait_for(lk, std::chrono::seconds(seconds), [this] { return done_; })) return;
    fired_ = true;
    if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);  // libldap's reads fail: the operation ends
  }) {}
  ~Watchdog() { stop(); }
  // stop() - end the watch (before the connection is closed).
  void stop() {
    {
      std::lock_guard<std::mutex> lk(m_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  // fired() - whether the deadline passed.
  bool fired() {
    std::lock_guard<std::mutex> lk(m_);
    return fired_;
  }
  // on_connect() / on_close() - libldap connection callbacks: the socket to watch.
  static int on_connect(LDAP*, Sockbuf* sb, LDAPURLDesc*, struct sockaddr*, struct ldap_conncb* ctx) {
    auto* w = static_cast<Watchdog*>(ctx->lc_arg);
    ber_socket_t fd = -1;
    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &fd);
    std::lock_guard<std::mutex> lk(w->m_);
    if (w->fired_) return -1;  // past the deadline: no new connection either
    w->fd_ = fd;
    return 0;
  }
  static void on_close(LDAP*, Sockbuf*, struct ldap_conncb* ctx) {
    auto* w = static_cast<Watchdog*>(ctx->lc_arg);
    std::lock_guard<std::mutex> lk(w->m_);
    w->fd_ = -1;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  int fd_ = -1;
  bool done_ = false, fired_ = false;
  std::thread thread_;  // last: starts once the rest is ready
};

// Conn - one LDAP connection with TLS set up and verified; unbound on scope exit.
// All its operations together take at most three times LDAPTimeout.
class Conn {
 public:
  // Conn() - connect to the URIs in order (libldap fails over), StartTLS if asked.
  explicit Conn(const LdapSettings& l) : timeout_(l.timeout), watchdog_(3 * l.timeout) {
    // Never read /etc/ldap/ldap.conf or ~/.ldaprc: they could weaken TLS.
    setenv("LDAPNOINIT", "1", 1);
    if (l.uris.empty()) throw Error("no LDAPURI configured");
    std::string list;
    for (auto& u : l.uris) list += (list.empty() ? "" : " ") + u;
    int v3 = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, min = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2, zero = 0;
    struct timeval tv = {l.timeout, 0};
    // TLS options are global defaults in libldap until a new context is made.
    ldap_set_option(nullptr, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    ldap_set_option(nullptr, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min);
    if (!l.ca_file.empty()) ldap_set_option(nullptr, LDAP_OPT_X_TLS_CACERTFILE, l.ca_file.c_str());
    ldap_set_option(nullptr, LDAP_OPT_X_TLS_NEWCTX, &zero);
    if (ldap_initialize(&ld_, list.c_str()) != LDAP_SUCCESS || !ld_) throw Error("invalid LDAPURI " + printable(list));
    cb_.lc_add = Watchdog::on_connect;
    cb_.lc_del = Watchdog::on_close;
    cb_.lc_arg = &watchdog_;
    ldap_set_option(ld_, LDAP_OPT_CONNECT_CB, &cb_);
    ldap_set_option(ld_, LDAP_OPT_PROTOCOL_VERSION, &v3);
    ldap_set_option(ld_, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    ldap_set_option(ld_, LDAP_OPT_TIMEOUT, &tv);
    ldap_set_option(ld_, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld_, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
    ldap_set_option(ld_, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min);
    if (!l.ca_file.empty()) ldap_set_option(ld_, LDAP_OPT_X_TLS_CACERTFILE, l.ca_file.c_str());
    ldap_set_option(ld_, LDAP_OPT_X_TLS_NEWCTX, &zero);
    bool all_tls = true;
    for (auto& u : l.uris) all_tls = all_tls && (lower(u).rfind("ldaps://", 0) == 0 || lower(u).rfind("ldapi://", 0) == 0);
    if (!all_tls) {
      if (!l.start_tls) throw Error("refusing LDAP without TLS: use ldaps:// URIs or LDAPStartTLS Yes");
      int rc = ldap_start_tls_s(ld_, nullptr, nullptr);
      check_deadline();
      if (rc != LDAP_SUCCESS) throw Error(std::string("LDAP StartTLS failed: ") + ldap_err2string(rc) + detail());
    }
  }
  ~Conn() {
    watchdog_.stop();
    if (ld_) ldap_unbind_ext_s(ld_, nullptr, nullptr);
  }
  // bind() - simple bind; returns the LDAP result code (throws Error past the deadline).
  int bind(const std::string& dn, const std::string& pw) {
    struct berval cred;
    cred.bv_val = const_cast<char*>(pw.data());
    cred.bv_len = pw.size();
    int rc = ldap_sasl_bind_s(ld_, dn.c_str(), LDAP_SASL_SIMPLE, &cred, nullptr, nullptr, nullptr);
    check_deadline();
    return rc;
  }
  // check_deadline() - throw Error if the watchdog cut the connection.
  void check_deadline() {
    if (watchdog_.fired())
      throw Error("the LDAP server did not answer within " + std::to_string(3 * timeout_) + " s (3 x LDAPTimeout)");
  }
  // detail() - libldap's diagnostic message, if any.
  std::string detail() {
    char* msg = nullptr;
    ldap_get_option(ld_, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg);
    std::string d = msg && *msg ? std::string(" (") + printable(msg) + ")" : "";
    ldap_memfree(msg);
    return d;
  }
  // search_dns() - DNs matching filter under base (at most 2 asked for).
  std::vector<std::string> search_dns(const std::string& base, int scope, const std::string& filter) {
    LDAPMessage* res = nullptr;
    char* attrs[] = {const_cast<char*>("1.1"), nullptr};
    int rc = ldap_search_ext_s(ld_, base.c_str(), scope, filter.c_str(), attrs, 0, nullptr, nullptr, nullptr, 2, &res);
    std::unique_ptr<LDAPMessage, int (*)(LDAPMessage*)> guard(res, ldap_msgfree);
    check_deadline();
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED && rc != LDAP_NO_SUCH_OBJECT)
      throw Error(std::string("LDAP search failed: ") + ldap_err2string(rc) + detail());
    std::vector<std::string> dns;
    if (rc == LDAP_SIZELIMIT_EXCEEDED) dns.push_back("");  // more than one: ambiguous
    for (LDAPMessage* e = ldap_first_entry(ld_, res); e; e = ldap_next_entry(ld_, e)) {
      char* dn = ldap_get_dn(ld_, e);
      if (dn) dns.push_back(dn);
      ldap_memfree(dn);
    }
    return dns;
  }

 private:
  LDAP* ld_ = nullptr;
  int timeout_;
  Watchdog watchdog_;
  struct ldap_conncb cb_ {};
};

// uid_of_dn() - the value of a leading uid=... RDN, or "" if the DN has none.
std::string uid_of_dn(const std::string& dn) {
  std::string uid;
  LDAPDN parsed = nullptr;
  if (ldap_str2dn(dn.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS && parsed && parsed[0] && parsed[0][0]) {
    LDAPAVA* ava = parsed[0][0];
    if (lower(std::string(ava->la_attr.bv_val, ava->la_attr.bv_len)) == "uid")
      uid.assign(ava->la_value.bv_val, ava->la_value.bv_len);
  }
  if (parsed) ldap_dnfree(parsed);
  return uid;
}

// service_password() - the service account's password from a root-only file.
std::string service_password(const std::string& path) {
  if (path.empty()) throw Error("no LDAPBindPasswordFile configured");
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw Error("cannot read LDAPBindPasswordFile " + path);
  if (st.st_mode & 077)
    throw Error("LDAPBindPasswordFile " + path + " is readable by others than its owner; run: chmod 0600 " + path);
  return trim(read_file(path, 4096));
}

// service_bind() - bind with the service account (password from a root-only file).
void service_bind(Conn& c, const LdapSettings& l) {
  if (l.bind_dn.empty()) throw Error("no LDAPBindDN configured for searches");
  std::string pw = service_password(l.bind_password_file);
  int rc = c.bind(l.bind_dn, pw);
  sodium_memzero(pw.data(), pw.size());
  if (rc != LDAP_SUCCESS) throw Error(std::string("LDAP service bind failed: ") + ldap_err2string(rc));
}

// find_one() - the single DN for filter value v in template tmpl ("%s" = v).
std::string find_one(Conn& c, const LdapSettings& l, const std::string& tmpl, const std::string& v, std::string& why) {
  std::string f = tmpl;
  f.replace(f.find("%s"), 2, escape_filter_value(v));
  auto dns = c.search_dns(l.base, LDAP_SCOPE_SUBTREE, f);
  if (dns.empty()) {
    why = "unknown user";
    return "";
  }
  if (dns.size() > 1) {
    why = "ambiguous: several directory entries match";
    return "";
  }
  return dns[0];
}

// valid_input() - non-empty, bounded, no NUL or control characters.
bool valid_input(const std::string& s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

}  // namespace

std::string escape_filter_value(const std::string& v) {
  struct berval in, out;
  in.bv_val = const_cast<char*>(v.data());
  in.bv_len = v.size();
  out.bv_val = nullptr;
  out.bv_len = 0;
  if (ldap_bv2escaped_filter_value(&in, &out) != 0) throw Error("cannot escape an LDAP filter value");
  std::string r(out.bv_val, out.bv_len);
  ber_memfree(out.bv_val);
  return r;
}

AuthResult ldap_authenticate(const LdapSettings& l, const std::string& user, const std::string& password) {
  AuthResult r;
  r.user = user;
  r.credentials = true;  // until the directory itself fails
  if (!valid_input(user, 256)) {
    r.message = "invalid user name";
    return r;
  }
  if (password.empty() || password.size() > 1024 || password.find('\0') != std::string::npos) {
    r.message = "empty or invalid password";  // an empty password would be an unauthenticated bind
    return r;
  }
  try {
    Conn c(l);
    service_bind(c, l);
    std::string why;
    r.dn = find_one(c, l, l.user_filter, user, why);
    if (r.dn.empty()) {
      r.message = why;
      r.credentials = why == "unknown user";
      return r;
    }
    int rc = c.bind(r.dn, password);
    if (rc == LDAP_SUCCESS) {
      // From here on the user is who the directory says, not what was typed
      // (uid matching is case-insensitive; CUPS user names are not).
      std::string uid = uid_of_dn(r.dn);
      if (!uid.empty()) r.user = uid;
      r.ok = true;
      r.message = "authenticated";
    } else {
      r.message = rc == LDAP_INVALID_CREDENTIALS ? "wrong password" : std::string("LDAP bind failed: ") + ldap_err2string(rc);
      r.credentials = rc == LDAP_INVALID_CREDENTIALS;
    }
  } catch (const Error& e) {
    r.message = e.what();  // unreachable, TLS, service account: not the user's fault
    r.credentials = false;
  }
  return r;
}

AuthResult ldap_find_badge(const LdapSettings& l, const std::string& badge) {
  AuthResult r;
  r.credentials = true;
  if (!valid_input(badge, 128)) {
    r.message = "invalid badge number";
    return r;
  }
  try {
    Conn c(l);
    service_bind(c, l);
    std::string why;
    std::string f = "(" + l.badge_attribute + "=%s)";
    r.dn = find_one(c, l, f, badge, why);
    if (r.dn.empty()) {
      r.message = why == "unknown user" ? "unknown badge" : why;
      r.credentials = why == "unknown user";
      return r;
    }
    // The user name is the uid RDN of the entry the badge belongs to.
    r.user = uid_of_dn(r.dn);
    r.ok = !r.user.empty();
    if (!r.ok) {
      r.message = "the badge's directory entry has no uid RDN";  // the directory's layout, not the user's fault
      r.credentials = false;
    }
  } catch (const Error& e) {
    r.message = e.what();
    r.credentials = false;
  }
  return r;
}

AuthResult ldap_find_user(const LdapSettings& l, const std::string& user) {
  AuthResult r;
  r.user = user;
  if (!valid_input(user, 256)) {
    r.message = "invalid user name";
    return r;
  }
  try {
    Conn c(l);
    service_bind(c, l);
    std::string why;
    r.dn = find_one(c, l, l.user_filter, user, why);
    if (r.dn.empty()) {
      r.message = why;
      return r;
    }
    std::string uid = uid_of_dn(r.dn);
    if (!uid.empty()) r.user = uid;
    r.ok = true;
  } catch (const Error& e) {
    r.message = e.what();
  }
  return r;
}

bool ldap_is_member(const LdapSettings& l, const std::string& group_dn, const std::string& dn, const std::string& user,
                    std::string& why) {
  try {
    Conn c(l);
    service_bind(c, l);
    const std::string& who = lower(l.group_attribute) == "memberuid" ? user : dn;
    auto dns = c.search_dns(group_dn, LDAP_SCOPE_BASE, "(" + l.group_attribute + "=" + escape_filter_value(who) + ")");
    if (dns.size() == 1 && !dns[0].empty()) return true;
    why = "not a member of " + group_dn;
  } catch (const Error& e) {
    why = e.what();
  }
  return false;
}

}  // namespace pg
