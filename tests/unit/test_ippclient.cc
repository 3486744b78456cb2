// test_ippclient.cc - the direct ipp:// state query's pieces against libcups:
// requests libcups can read, answers encoded by libcups read as libcups's own
// query reads them, HTTP framing, and URIs it must leave to libcups.
#include <cups/cups.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "ippclient.h"
#include "ippstate.h"

namespace {

// Buffer - a byte string libcups reads from or writes to through ippReadIO/ippWriteIO.
struct Buffer {
  std::string data;
  size_t pos = 0;
};
ssize_t buf_read(void* ctx, ipp_uchar_t* out, size_t n) {
  auto* b = static_cast<Buffer*>(ctx);
  size_t k = std::min(n, b->data.size() - b->pos);
  memcpy(out, b->data.data() + b->pos, k);
  b->pos += k;
  return static_cast<ssize_t>(k);
}
ssize_t buf_write(void* ctx, ipp_uchar_t* in, size_t n) {
  static_cast<Buffer*>(ctx)->data.append(reinterpret_cast<const char*>(in), n);
  return static_cast<ssize_t>(n);
}

// encode() - libcups's encoding of an IPP message.
std::string encode(ipp_t* ipp) {
  Buffer b;
  ippSetState(ipp, IPP_STATE_IDLE);
  EXPECT_EQ(ippWriteIO(&b, buf_write, 1, nullptr, ipp), IPP_STATE_DATA);
  return b.data;
}

// cups_state() - what query_printer_state_cups() reads from an answer, by libcups.
pg::PrinterState cups_state(ipp_t* resp) {
  pg::PrinterState st;
  ipp_attribute_t* a = ippFindAttribute(resp, "printer-state", IPP_TAG_ENUM);
  if (!a) return st;
  st.answered = true;
  st.state = ippGetInteger(a, 0);
  if ((a = ippFindAttribute(resp, "printer-is-accepting-jobs", IPP_TAG_BOOLEAN))) st.accepting = ippGetBoolean(a, 0) != 0;
  if ((a = ippFindAttribute(resp, "printer-state-reasons", IPP_TAG_KEYWORD)))
    for (int i = 0; i < ippGetCount(a); i++) st.reasons.push_back(ippGetString(a, i, nullptr));
  if ((a = ippFindAttribute(resp, "printer-state-message", IPP_TAG_TEXT))) st.message = ippGetString(a, 0, nullptr);
  return st;
}

// answer() - a Get-Printer-Attributes answer as printers send it.
ipp_t* answer(int state, bool accepting, const std::vector<const char*>& reasons, const char* message,
              const char* language = nullptr) {
  ipp_t* r = ippNew();
  ippSetVersion(r, 2, 0);
  ippSetStatusCode(r, IPP_STATUS_OK);
  ippSetRequestId(r, 1);
  ippAddString(r, IPP_TAG_OPERATION, IPP_TAG_CHARSET, "attributes-charset", nullptr, "utf-8");
  ippAddString(r, IPP_TAG_OPERATION, IPP_TAG_LANGUAGE, "attributes-natural-language", nullptr, "en");
  ippAddString(r, IPP_TAG_OPERATION, IPP_TAG_TEXT, "status-message", nullptr, "ok");
  ippAddInteger(r, IPP_TAG_PRINTER, IPP_TAG_INTEGER, "printer-state-change-time", 5);  // not asked, sent anyway
  ippAddInteger(r, IPP_TAG_PRINTER, IPP_TAG_ENUM, "printer-state", state);
  ippAddBoolean(r, IPP_TAG_PRINTER, "printer-is-accepting-jobs", accepting ? 1 : 0);
  if (!reasons.empty())
    ippAddStrings(r, IPP_TAG_PRINTER, IPP_TAG_KEYWORD, "printer-state-reasons", static_cast<int>(reasons.size()), nullptr,
                  reasons.data());
  if (message) ippAddString(r, IPP_TAG_PRINTER, IPP_TAG_TEXT, "printer-state-message", language, message);
  ipp_t* col = ippNew();  // a collection the walk must step over
  ippAddString(col, IPP_TAG_ZERO, IPP_TAG_KEYWORD, "media-size-name", nullptr, "iso_a4_210x297mm");
  ippAddCollection(r, IPP_TAG_PRINTER, "media-col-ready", col);
  ippDelete(col);
  return r;
}

void expect_same(const pg::PrinterState& a, const pg::PrinterState& b) {
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.accepting, b.accepting);
  EXPECT_EQ(a.reasons, b.reasons);
  EXPECT_EQ(a.message, b.message);
}

}  // namespace

TEST(IppClient, RequestIsWhatLibcupsReads) {
  std::string req = pg::encode_state_request("ipp://printer.example:631/ipp/print", 2, 0, 7);
  Buffer b{req, 0};
  ipp_t* ipp = ippNew();
  ASSERT_EQ(ippReadIO(&b, buf_read, 1, nullptr, ipp), IPP_STATE_DATA);
  EXPECT_EQ(ippGetOperation(ipp), IPP_OP_GET_PRINTER_ATTRIBUTES);
  EXPECT_EQ(ippGetRequestId(ipp), 7);
  int major = 0, minor = 0;
  major = ippGetVersion(ipp, &minor);
  EXPECT_EQ(major, 2);
  EXPECT_EQ(minor, 0);
  ipp_attribute_t* a = ippFirstAttribute(ipp);
  ASSERT_NE(a, nullptr);
  EXPECT_STREQ(ippGetName(a), "attributes-charset");  // first, as RFC 8011 requires
  a = ippFindAttribute(ipp, "printer-uri", IPP_TAG_URI);
  ASSERT_NE(a, nullptr);
  EXPECT_STREQ(ippGetString(a, 0, nullptr), "ipp://printer.example:631/ipp/print");
  a = ippFindAttribute(ipp, "requested-attributes", IPP_TAG_KEYWORD);
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(ippGetCount(a), 4);
  EXPECT_STREQ(ippGetString(a, 3, nullptr), "printer-is-accepting-jobs");
  EXPECT_EQ(b.pos, req.size()) << "bytes after the end-of-attributes tag";
  ippDelete(ipp);
}

TEST(IppClient, AnswersReadAsLibcupsReadsThem) {
  struct Case {
    int state;
    bool accepting;
    std::vector<const char*> reasons;
    const char* message;
    const char* language;
  } cases[] = {
      {3, true, {"none"}, nullptr, nullptr},
      {4, true, {"media-jam-error", "toner-low-warning", "cover-open-report"}, "Paper jam in tray 2", nullptr},
      {5, false, {"paused"}, "Stopped by the operator", "de"},
      {3, true, {}, "", nullptr},
      {5, true, {"door-open-error"}, "Tür offen – bitte schließen", "de-DE"},
  };
  for (auto& c : cases) {
    ipp_t* r = answer(c.state, c.accepting, c.reasons, c.message, c.language);
    std::string body = encode(r);
    pg::PrinterState mine;
    int status = -1;
    std::string why;
    ASSERT_TRUE(pg::parse_state_response(body, mine, status, why)) << why;
    EXPECT_EQ(status, 0);
    expect_same(mine, cups_state(r));
    ippDelete(r);
  }
}

TEST(IppClient, MalformedOrIncompleteAnswersAreNotAnAnswer) {
  ipp_t* r = answer(5, true, {"media-empty-error"}, "Load paper");
  std::string body = encode(r);
  ippDelete(r);
  pg::PrinterState st;
  int status = 0;
  std::string why;
  for (size_t cut = 0; cut < body.size(); cut++) {  // every truncation, none read as an answer
    EXPECT_FALSE(pg::parse_state_response(body.substr(0, cut), st, status, why)) << "cut at " << cut;
  }
  ipp_t* none = ippNew();  // no printer-state at all
  ippSetStatusCode(none, IPP_STATUS_OK);
  ippAddString(none, IPP_TAG_OPERATION, IPP_TAG_CHARSET, "attributes-charset", nullptr, "utf-8");
  EXPECT_FALSE(pg::parse_state_response(encode(none), st, status, why));
  EXPECT_NE(why.find("no printer-state"), std::string::npos) << why;
  ippDelete(none);
  std::string bad_enum = body;  // printer-state with a 2-byte value
  size_t at = bad_enum.find(std::string("printer-state\0\4", 15));
  ASSERT_NE(at, std::string::npos);
  bad_enum[at + 14] = 2;
  EXPECT_FALSE(pg::parse_state_response(bad_enum, st, status, why));
}

TEST(IppClient, ErrorStatusIsReported) {
  ipp_t* r = answer(3, true, {"none"}, nullptr);
  ippSetStatusCode(r, IPP_STATUS_ERROR_NOT_AUTHORIZED);
  pg::PrinterState st;
  int status = 0;
  std::string why;
  pg::parse_state_response(encode(r), st, status, why);
  EXPECT_EQ(status, IPP_STATUS_ERROR_NOT_AUTHORIZED);
  ippDelete(r);
}

TEST(IppClient, HttpFraming) {
  int status = 0;
  std::string body, why;
  EXPECT_TRUE(pg::parse_http_response("HTTP/1.1 200 OK\r\nContent-Type: application/ipp\r\nContent-Length: 5\r\n\r\nhello",
                                      status, body, why));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "hello");
  EXPECT_TRUE(pg::parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2;x=y\r\nlo\r\n0\r\n\r\n",
                                      status, body, why));
  EXPECT_EQ(body, "hello");
  EXPECT_FALSE(pg::parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nhello", status, body, why));
  EXPECT_FALSE(pg::parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", status, body, why));
  EXPECT_FALSE(pg::parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", status, body, why));
  EXPECT_FALSE(pg::parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", status, body, why));
  EXPECT_FALSE(pg::parse_http_response("SSH-2.0-OpenSSH\r\n\r\n", status, body, why));
  EXPECT_TRUE(pg::parse_http_response("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
                                      status, body, why));
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, "ok");
  EXPECT_FALSE(pg::parse_http_response("HTTP/1.1 100 Continue\r\n\r\n", status, body, why));
  EXPECT_TRUE(pg::parse_http_response("HTTP/1.0 401 Unauthorized\r\nContent-Length: 0\r\n\r\n", status, body, why));
  EXPECT_EQ(status, 401);
  // No length: the body is what came before the connection closed.
  EXPECT_FALSE(pg::parse_http_response("HTTP/1.0 200 OK\r\n\r\nabc", status, body, why));
  EXPECT_EQ(why, "incomplete body (no length)");
  EXPECT_EQ(body, "abc");
}

TEST(IppClient, UrisItLeavesToLibcups) {
  pg::IppTarget t;
  ASSERT_TRUE(pg::split_ipp_uri("ipp://printer.example/ipp/print", t));
  EXPECT_EQ(t.host, "printer.example");
  EXPECT_EQ(t.port, 631);
  EXPECT_EQ(t.resource, "/ipp/print");
  ASSERT_TRUE(pg::split_ipp_uri("IPP://user:pw@[::1]:8631/printers/q", t));
  EXPECT_EQ(t.host, "::1");
  EXPECT_EQ(t.port, 8631);
  EXPECT_EQ(t.resource, "/printers/q");
  ASSERT_TRUE(pg::split_ipp_uri("ipp://10.0.0.5", t));
  EXPECT_EQ(t.resource, "/");
  for (auto uri : {"ipps://printer.example/ipp/print", "http://printer.example:631/ipp", "ipp://", "ipp://host:0/x",
                   "ipp://host:99999/x", "ipp://ho%73t/x", "ipp://host/a b", "ipp://[::1/x", "ipp://host:12ab/x",
                   "ipp://host/x?waitjob=false", "socket://host:9100"})
    EXPECT_FALSE(pg::split_ipp_uri(uri, t)) << uri;
}

TEST(IppClient, UnreachablePrinterIsNotAnAnswer) {
  pg::IppTarget t;
  ASSERT_TRUE(pg::split_ipp_uri("ipp://127.0.0.1:1/ipp/print", t));
  auto st = pg::query_ipp_state(t, "ipp://127.0.0.1:1/ipp/print", 2);
  EXPECT_FALSE(st.answered);
  EXPECT_NE(st.error.find("127.0.0.1:1"), std::string::npos) << st.error;
}

TEST(IppClient, WhichQueriesNeedLibcups) {
  EXPECT_FALSE(pg::state_query_uses_libcups("ipp://printer.example/ipp/print?waitjob=false"));
  EXPECT_TRUE(pg::state_query_uses_libcups("ipps://printer.example/ipp/print"));
  EXPECT_TRUE(pg::state_query_uses_libcups("HTTP://printer.example:631/ipp"));
  EXPECT_TRUE(pg::state_query_uses_libcups("ipp://ho%73t/ipp/print"));
  EXPECT_FALSE(pg::state_query_uses_libcups("socket://printer.example:9100"));
  EXPECT_FALSE(pg::state_query_uses_libcups("usb://HP/LaserJet"));
}
