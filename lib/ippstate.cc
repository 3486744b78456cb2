// ippstate.cc - printer state through IPP (ipp:// directly, others with libcups).
#include "ippstate.h"

#include <cups/cups.h>

#include "ippclient.h"
#include "util.h"

namespace pg {

bool queryable_scheme(const std::string& scheme) {
  auto s = lower(scheme);
  return s == "ipp" || s == "ipps" || s == "http" || s == "https";
}

std::string without_uri_options(const std::string& uri) { return uri.substr(0, uri.find('?')); }

PrinterState query_printer_state(const std::string& device_uri, int timeout_s) {
  // Options in the device URI are for the backend; the printer's URI has none.
  const std::string uri = without_uri_options(device_uri);
  // Plain ipp:// needs no libcups (lib/ippclient.cc); TLS and http:// do.
  IppTarget target;
  if (split_ipp_uri(uri, target)) return query_ipp_state(target, uri, timeout_s);
  return query_printer_state_cups(uri, timeout_s);
}

bool state_query_uses_libcups(const std::string& device_uri) {
  const std::string uri = without_uri_options(device_uri);
  IppTarget target;
  return queryable_scheme(uri.substr(0, uri.find(':'))) && !split_ipp_uri(uri, target);
}

PrinterState query_printer_state_cups(const std::string& device_uri, int timeout_s) {
  PrinterState st;
  const std::string uri = without_uri_options(device_uri);
  char scheme[32], userpass[256], host[256], resource[1024];
  int port = 0;
  if (httpSeparateURI(HTTP_URI_CODING_ALL, uri.c_str(), scheme, sizeof scheme, userpass, sizeof userpass, host, sizeof host,
                      &port, resource, sizeof resource) < HTTP_URI_STATUS_OK ||
      !queryable_scheme(scheme)) {
    st.error = "cannot query the state of " + printable(uri);
    return st;
  }
  std::string sch = lower(scheme);
  http_encryption_t enc = (sch == "ipps" || sch == "https") ? HTTP_ENCRYPTION_ALWAYS : HTTP_ENCRYPTION_IF_REQUESTED;
  int cancel = 0;
  http_t* http = httpConnect2(host, port, nullptr, AF_UNSPEC, enc, 1, timeout_s * 1000, &cancel);
  if (!http) {
    st.error = std::string("no answer from ") + host + ":" + std::to_string(port) + " (" + cupsLastErrorString() + ")";
    return st;
  }
  httpSetTimeout(http, timeout_s, nullptr, nullptr);
  ipp_t* req = ippNewRequest(IPP_OP_GET_PRINTER_ATTRIBUTES);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, uri.c_str());
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, "printguard");
  static const char* const attrs[] = {"printer-state", "printer-state-reasons", "printer-state-message",
                                      "printer-is-accepting-jobs"};
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 4, nullptr, attrs);
  ipp_t* resp = cupsDoRequest(http, req, resource);
  httpClose(http);
  if (!resp || ippGetStatusCode(resp) > IPP_STATUS_OK_CONFLICTING) {
    st.error = std::string("the printer did not answer Get-Printer-Attributes (") + cupsLastErrorString() + ")";
    ippDelete(resp);
    return st;
  }
  ipp_attribute_t* a = ippFindAttribute(resp, "printer-state", IPP_TAG_ENUM);
  if (!a) {
    st.error = "the printer's answer has no printer-state";
    ippDelete(resp);
    return st;
  }
  st.state = ippGetInteger(a, 0);
  if ((a = ippFindAttribute(resp, "printer-is-accepting-jobs", IPP_TAG_BOOLEAN))) st.accepting = ippGetBoolean(a, 0) != 0;
  if ((a = ippFindAttribute(resp, "printer-state-reasons", IPP_TAG_KEYWORD)))
    for (int i = 0; i < ippGetCount(a); i++) st.reasons.push_back(ippGetString(a, i, nullptr));
  if ((a = ippFindAttribute(resp, "printer-state-message", IPP_TAG_TEXT))) st.message = ippGetString(a, 0, nullptr);
  st.answered = true;
  ippDelete(resp);
  return st;
}

std::string reason_base(const std::string& reason) {
  for (const char* suffix : {"-report", "-warning", "-error"}) {
    std::string s = suffix;
    if (reason.size() > s.size() && reason.compare(reason.size() - s.size(), s.size(), s) == 0)
      return reason.substr(0, reason.size() - s.size());
  }
  return reason;
}

std::vector<std::string> blocking_reasons(const std::vector<std::string>& reasons, const std::vector<std::string>& blocking) {
  std::vector<std::string> out;
  for (auto& r : reasons) {
    std::string lr = lower(r), base = reason_base(lr);
    bool is_error = lr.size() > 6 && lr.compare(lr.size() - 6, 6, "-error") == 0;
    bool listed = false;
    for (auto& b : blocking) listed = listed || b == base;
    if (listed || is_error) out.push_back(r);
  }
  return out;
}

std::string not_ready_reason(const PrinterState& st, const std::vector<std::string>& blocking) {
  if (!st.answered) return "printer state unknown: " + st.error;
  auto b = blocking_reasons(st.reasons, blocking);
  if (!b.empty()) {
    std::string list;
    for (auto& r : b) list += (list.empty() ? "" : ", ") + printable(r);
    return "printer reports " + list;
  }
  if (st.state == 5) return "printer is stopped" + (st.message.empty() ? std::string() : ": " + printable(st.message));
  if (!st.accepting) return "printer is not accepting jobs";
  return "";
}

std::vector<std::string> parse_state_line(const std::string& line) {
  std::vector<std::string> out;
  if (line.compare(0, 6, "STATE:") != 0) return out;
  std::string rest = trim(line.substr(6));
  if (rest.empty() || rest[0] == '-') return out;
  if (rest[0] == '+') rest = rest.substr(1);
  size_t p = 0;
  while (p <= rest.size()) {
    size_t c = rest.find(',', p);
    std::string r = trim(rest.substr(p, c == std::string::npos ? std::string::npos : c - p));
    if (!r.empty() && r != "none") out.push_back(r);
    if (c == std::string::npos) break;
    p = c + 1;
  }
  return out;
}

}  // namespace pg
