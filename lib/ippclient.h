// ippclient.h - the printer-state query over plain IPP (ipp://), without libcups.
//
// The backend asks the printer for its state before and after every job.
// Loading libcups for that (GnuTLS, Kerberos, Avahi, D-Bus...) costs about
// 10 ms per job; an ipp:// printer speaks plain HTTP, and one
// Get-Printer-Attributes with four attributes is all the gate needs. ipps://,
// http:// and https:// stay with libcups (lib/ippstate.cc).
#pragma once

#include <string>

#include "ippstate.h"

namespace pg {

// IppTarget - where an ipp:// URI points.
struct IppTarget {
  std::string host;      // without brackets for IPv6 literals
  int port = 631;
  std::string resource;  // "/ipp/print"
};

// split_ipp_uri() - host, port and resource of an "ipp://" URI (no options);
// false for any other scheme or a URI it does not fully understand (percent
// escapes in the host, a bad port...): the caller then asks libcups.
bool split_ipp_uri(const std::string& uri, IppTarget& t);

// encode_state_request() - a Get-Printer-Attributes request (IPP `major`.`minor`)
// for printer-state, printer-state-reasons, printer-state-message and
// printer-is-accepting-jobs of printer_uri.
std::string encode_state_request(const std::string& printer_uri, int major, int minor, int request_id);

// parse_http_response() - the status code and body of an HTTP/1.x response
// (Content-Length, chunked, or ended by the connection's close); false and
// `why` if it is malformed or incomplete.
bool parse_http_response(const std::string& raw, int& status, std::string& body, std::string& why);

// parse_state_response() - fill st (state, accepting, reasons, message) from
// an IPP response body, as libcups's ippFindAttribute() would find them; false
// and `why` if the body is malformed or has no printer-state. ipp_status is the
// response's status-code.
bool parse_state_response(const std::string& body, PrinterState& st, int& ipp_status, std::string& why);

// query_ipp_state() - one Get-Printer-Attributes to an ipp:// printer within
// timeout_s seconds (connect, send and answer together).
PrinterState query_ipp_state(const IppTarget& t, const std::string& printer_uri, int timeout_s);

}  // namespace pg
