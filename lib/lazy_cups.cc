// lazy_cups.cc - the libcups functions the backend calls (its printer-state
// query), each forwarding to the shared libcups. run_backend() starts loading
// it on a thread while it reads its configuration, keys and audit store.
//
// libcups brings GnuTLS, Kerberos, Avahi and D-Bus: loading them at start
// would cost the backend about 10 ms on every job before it does anything.
// No IPP or HTTP is done here: every call is libcups's own. If libcups cannot
// be loaded, each call fails the way libcups reports a failure (no connection,
// no response, a bad URI), so the printer's state is unknown and the job is
// held, never sent (fail closed).
#include <cups/cups.h>

#include <string>

#include "lazylib.h"

#ifndef PG_CUPS_SONAME
#error "PG_CUPS_SONAME (libcups's soname) comes from configure"
#endif

namespace {

// libcups() - the shared libcups, loaded when first called (or by run_backend()'s thread).
pg::LazyLibrary& libcups() {
  static pg::LazyLibrary lib(PG_CUPS_SONAME);
  return lib;
}

}  // namespace

// Each function below has libcups's prototype (from its headers, so the
// compiler checks it) and calls the function of the same name in libcups.
#define PG_REAL(name) static const auto fn = libcups().symbol<decltype(&name)>(#name)

extern "C" {

http_uri_status_t httpSeparateURI(http_uri_coding_t decoding, const char* uri, char* scheme, int schemelen,
                                  char* username, int usernamelen, char* host, int hostlen, int* port,
                                  char* resource, int resourcelen) {
  PG_REAL(httpSeparateURI);
  return fn ? fn(decoding, uri, scheme, schemelen, username, usernamelen, host, hostlen, port, resource, resourcelen)
            : HTTP_URI_STATUS_BAD_URI;
}

http_t* httpConnect2(const char* host, int port, http_addrlist_t* addrlist, int family, http_encryption_t encryption,
                     int blocking, int msec, int* cancel) {
  PG_REAL(httpConnect2);
  return fn ? fn(host, port, addrlist, family, encryption, blocking, msec, cancel) : nullptr;
}

void httpSetTimeout(http_t* http, double timeout, http_timeout_cb_t cb, void* user_data) {
  PG_REAL(httpSetTimeout);
  if (fn) fn(http, timeout, cb, user_data);  // an http_t exists only if libcups was loaded
}

void httpClose(http_t* http) {
  PG_REAL(httpClose);
  if (fn) fn(http);
}

const char* cupsLastErrorString(void) {
  PG_REAL(cupsLastErrorString);
  return fn ? fn() : libcups().error().c_str();
}

ipp_t* ippNewRequest(ipp_op_t op) {
  PG_REAL(ippNewRequest);
  return fn ? fn(op) : nullptr;
}

ipp_attribute_t* ippAddString(ipp_t* ipp, ipp_tag_t group, ipp_tag_t value_tag, const char* name,
                              const char* language, const char* value) {
  PG_REAL(ippAddString);
  return fn ? fn(ipp, group, value_tag, name, language, value) : nullptr;
}

ipp_attribute_t* ippAddStrings(ipp_t* ipp, ipp_tag_t group, ipp_tag_t value_tag, const char* name, int num_values,
                               const char* language, const char* const* values) {
  PG_REAL(ippAddStrings);
  return fn ? fn(ipp, group, value_tag, name, num_values, language, values) : nullptr;
}

ipp_t* cupsDoRequest(http_t* http, ipp_t* request, const char* resource) {
  PG_REAL(cupsDoRequest);
  return fn ? fn(http, request, resource) : nullptr;
}

void ippDelete(ipp_t* ipp) {
  PG_REAL(ippDelete);
  if (fn) fn(ipp);
}

ipp_status_t ippGetStatusCode(ipp_t* ipp) {
  PG_REAL(ippGetStatusCode);
  return fn ? fn(ipp) : IPP_STATUS_ERROR_INTERNAL;
}

ipp_attribute_t* ippFindAttribute(ipp_t* ipp, const char* name, ipp_tag_t type) {
  PG_REAL(ippFindAttribute);
  return fn ? fn(ipp, name, type) : nullptr;
}

int ippGetInteger(ipp_attribute_t* attr, int element) {
  PG_REAL(ippGetInteger);
  return fn ? fn(attr, element) : 0;
}

int ippGetBoolean(ipp_attribute_t* attr, int element) {
  PG_REAL(ippGetBoolean);
  return fn ? fn(attr, element) : 0;
}

int ippGetCount(ipp_attribute_t* attr) {
  PG_REAL(ippGetCount);
  return fn ? fn(attr) : 0;
}

const char* ippGetString(ipp_attribute_t* attr, int element, const char** language) {
  PG_REAL(ippGetString);
  return fn ? fn(attr, element, language) : nullptr;
}

}  // extern "C"
