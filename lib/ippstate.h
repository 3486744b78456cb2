// ippstate.h - ask an IPP printer for its state, and decide what blocks printing.
#pragma once

#include <string>
#include <vector>

namespace pg {

// PrinterState - the answer to one Get-Printer-Attributes.
struct PrinterState {
  bool answered = false;  // false: unreachable or no valid answer (= not ready)
  int state = 0;          // printer-state: 3 idle, 4 processing, 5 stopped
  bool accepting = true;  // printer-is-accepting-jobs
  std::vector<std::string> reasons;
  std::string message;  // printer-state-message
  std::string error;    // why there was no answer
};

// queryable_scheme() - whether the gate can ask this URI scheme for its state.
bool queryable_scheme(const std::string& scheme);

// without_uri_options() - a device URI without its "?name=value" backend options
// (waitjob=false, version=1.1, ...), which the printer itself does not know.
std::string without_uri_options(const std::string& uri);

// query_printer_state() - one Get-Printer-Attributes on an ipp/ipps/http/https
// URI, asking only for the state attributes, within timeout_s seconds; ipp://
// without libcups (query_ipp_state()), the others through libcups.
PrinterState query_printer_state(const std::string& uri, int timeout_s);

// state_query_uses_libcups() - whether query_printer_state() asks this device
// URI through libcups (ipps, http, https and ipp URIs it does not fully understand).
bool state_query_uses_libcups(const std::string& device_uri);

// query_printer_state_cups() - the same through libcups whatever the scheme
// (the reference the direct ipp:// query is tested against).
PrinterState query_printer_state_cups(const std::string& uri, int timeout_s);

// reason_base() - a printer-state-reasons keyword without -report/-warning/-error.
std::string reason_base(const std::string& reason);

// blocking_reasons() - the reasons among `reasons` that block printing: those whose
// base keyword is in `blocking`, and every "-error" reason.
std::vector<std::string> blocking_reasons(const std::vector<std::string>& reasons, const std::vector<std::string>& blocking);

// not_ready_reason() - "" if a job may be sent, else one line saying why not
// (no answer, stopped, not accepting, or blocking reasons).
std::string not_ready_reason(const PrinterState& st, const std::vector<std::string>& blocking);

// parse_state_line() - reasons added by a backend "STATE: +a,b" / "STATE: a,b" line
// (removals "-x" are ignored); empty if the line is not a STATE line.
std::vector<std::string> parse_state_line(const std::string& line);

}  // namespace pg
