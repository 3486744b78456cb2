// admin.h - the administrators' side of the audit trail: who changed what,
// configuration changes seen at start-up, and GDPR export/anonymisation.
#pragma once

#include <string>

#include "audit.h"
#include "config.h"
#include "keys.h"

namespace pg {

// admin_name() - who runs an admin command ($SUDO_USER, else the login name).
std::string admin_name();

// note_config_change() - record a "config" event when the configuration file's
// SHA-256 differs from the last one recorded; returns whether it did.
bool note_config_change(AuditStore& audit, const Key& key, const Config& cfg);

// admin_event() - record one admin action (event, detail) by admin_name().
void admin_event(AuditStore& audit, const Key& key, const std::string& event, const std::string& detail,
                 const std::string& subject = "");

// export_user() - everything the audit store holds about a user, as JSON.
std::string export_user(AuditStore& audit, const std::string& user);

}  // namespace pg
