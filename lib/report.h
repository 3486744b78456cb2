// report.h - activity reports from the audit store: CSV, JSON, and a
// self-contained HTML page with SVG charts (for scheduled mail from cron).
#pragma once

#include <string>
#include <vector>

#include "audit.h"

namespace pg {

// report_csv() / report_json() / report_html() - one report in one format.
std::string report_csv(const std::vector<AuditStore::ReportRow>& rows, const std::string& by);
std::string report_json(const std::vector<AuditStore::ReportRow>& rows, const std::string& by);
std::string report_html(const std::vector<AuditStore::ReportRow>& rows, const std::string& by, const std::string& period);

// html_escape() - text safe inside HTML and SVG (user and queue names are untrusted).
std::string html_escape(const std::string& s);

}  // namespace pg
