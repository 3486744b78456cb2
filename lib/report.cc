// report.cc - activity reports.
#include "report.h"

#include <algorithm>

#include "util.h"

namespace pg {

namespace {

const char* const kColumns[] = {"jobs_printed", "pages_printed", "jobs_held", "jobs_released", "jobs_purged",
                                "refused_printer_error"};

// values() - a row's numbers in kColumns order.
std::vector<long long> values(const AuditStore::ReportRow& r) {
  return {r.jobs_printed, r.pages_printed, r.jobs_held, r.jobs_released, r.jobs_purged, r.refused_printer};
}

// bar_chart() - an inline SVG bar chart of one column.
std::string bar_chart(const std::vector<AuditStore::ReportRow>& rows, size_t col, const std::string& title) {
  long long max = 1;
  for (auto& r : rows) max = std::max(max, values(r)[col]);
  const int bar = 22, label_w = 170, chart_w = 420;
  int h = static_cast<int>(rows.size()) * bar + 30;
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(label_w + chart_w + 60) +
                    "\" height=\"" + std::to_string(h) + "\" role=\"img\" aria-label=\"" + html_escape(title) + "\">\n";
  svg += "<text x=\"0\" y=\"14\" font-weight=\"bold\">" + html_escape(title) + "</text>\n";
  for (size_t i = 0; i < rows.size(); i++) {
    long long v = values(rows[i])[col];
    int y = 22 + static_cast<int>(i) * bar;
    int w = static_cast<int>(chart_w * v / max);
    svg += "<text x=\"0\" y=\"" + std::to_string(y + 15) + "\">" + html_escape(rows[i].key.substr(0, 28)) + "</text>";
    svg += "<rect x=\"" + std::to_string(label_w) + "\" y=\"" + std::to_string(y + 3) + "\" width=\"" + std::to_string(w) +
           "\" height=\"" + std::to_string(bar - 6) + "\" fill=\"#3b6ea5\"/>";
    svg += "<text x=\"" + std::to_string(label_w + w + 4) + "\" y=\"" + std::to_string(y + 15) + "\">" + std::to_string(v) +
           "</text>\n";
  }
  return svg + "</svg>\n";
}

}  // namespace

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : printable(s)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::string report_csv(const std::vector<AuditStore::ReportRow>& rows, const std::string& by) {
  std::string out = by;
  for (auto c : kColumns) out += std::string(",") + c;
  out += "\r\n";
  for (auto& r : rows) {
    std::string k = printable(r.key);
    if (!k.empty() && (k[0] == '=' || k[0] == '+' || k[0] == '-' || k[0] == '@')) k = "'" + k;
    std::string q = "\"";
    for (char c : k) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += q + "\"";
    for (auto v : values(r)) out += "," + std::to_string(v);
    out += "\r\n";
  }
  return out;
}

std::string report_json(const std::vector<AuditStore::ReportRow>& rows, const std::string& by) {
  std::string out = "{\"by\":" + json_quote(by) + ",\"rows\":[";
  for (size_t i = 0; i < rows.size(); i++) {
    out += std::string(i ? "," : "") + "\n {\"" + by + "\":" + json_quote(rows[i].key);
    auto v = values(rows[i]);
    for (size_t c = 0; c < v.size(); c++) out += ",\"" + std::string(kColumns[c]) + "\":" + std::to_string(v[c]);
    out += "}";
  }
  return out + "\n]}\n";
}

std::string report_html(const std::vector<AuditStore::ReportRow>& rows, const std::string& by, const std::string& period) {
  std::string t = "printguard activity by " + by + (period.empty() ? "" : ", " + period);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(t) +
                  "</title>\n<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
                  "td,th{border:1px solid #999;padding:2px 8px;text-align:right}td:first-child{text-align:left}"
                  "svg{font-size:12px;margin:1em 0;display:block}</style></head><body>\n<h1>" +
                  html_escape(t) + "</h1>\n";
  long long tot[6] = {0, 0, 0, 0, 0, 0};
  for (auto& r : rows) {
    auto v = values(r);
    for (size_t c = 0; c < 6; c++) tot[c] += v[c];
  }
  h += "<p>" + std::to_string(tot[0]) + " jobs (" + std::to_string(tot[1]) + " pages) printed; " + std::to_string(tot[2]) +
       " held, " + std::to_string(tot[3]) + " released, " + std::to_string(tot[4]) + " purged unprinted (paper and toner saved); " +
       std::to_string(tot[5]) + " releases refused because of a printer error.</p>\n";
  h += bar_chart(rows, 1, "Pages printed") + bar_chart(rows, 2, "Jobs held") + bar_chart(rows, 4, "Jobs purged unprinted");
  h += "<table><tr><th>" + html_escape(by) + "</th><th>jobs printed</th><th>pages printed</th><th>held</th><th>released</th>"
       "<th>purged</th><th>refused (printer error)</th></tr>\n";
  for (auto& r : rows) {
    h += "<tr><td>" + html_escape(r.key) + "</td>";
    for (auto v : values(r)) h += "<td>" + std::to_string(v) + "</td>";
    h += "</tr>\n";
  }
  return h + "</table>\n</body></html>\n";
}

}  // namespace pg
