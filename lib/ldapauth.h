// ldapauth.h - authenticate release-station users against LDAP (OpenLDAP libldap).
#pragma once

#include <string>

#include "config.h"

namespace pg {

// AuthResult - the outcome of one authentication. `ok` starts false and only a
// successful bind as the user's own DN sets it.
struct AuthResult {
  bool ok = false;
  std::string user;     // the directory's uid for the user once ok, else as typed
  bool credentials = false;  // the failure was about credentials (counts for lockout)
  std::string dn;
  std::string message;  // why not, for the station and the audit store
};

// escape_filter_value() - RFC 4515 escaping of a value for an LDAP filter.
std::string escape_filter_value(const std::string& v);

// ldap_authenticate() - find the user by name with the service account, then bind
// as that DN with the password. Denied on any doubt: empty or NUL-containing input,
// unreachable servers, TLS failure, no match or several matches.
AuthResult ldap_authenticate(const LdapSettings& l, const std::string& user, const std::string& password);

// ldap_find_badge() - the user name for a badge number (LdapSettings::badge_attribute);
// ok is false if no single user carries it.
AuthResult ldap_find_badge(const LdapSettings& l, const std::string& badge);

// ldap_find_user() - the directory entry of a user name (found with the service
// account and LDAPUserFilter), without a password: for checks after PAM
// authenticated the user. ok is false if no single entry matches.
AuthResult ldap_find_user(const LdapSettings& l, const std::string& user);

// ldap_is_member() - whether the user is a member of group_dn: group_attribute
// lists member DNs (member, uniqueMember) or, for memberUid, user names.
bool ldap_is_member(const LdapSettings& l, const std::string& group_dn, const std::string& dn, const std::string& user,
                    std::string& why);

}  // namespace pg
