// ippclient.cc - the printer-state query over plain IPP (ipp://), without libcups.
#include "ippclient.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "util.h"

namespace pg {

namespace {

// An answer larger than this is refused (the four attributes asked for take
// well under 1 KB; a printer that ignores requested-attributes sends tens of KB).
constexpr size_t kMaxAnswer = 1 << 20;

// What parse_http_response() says of a body with neither a length nor chunks:
// complete only once the connection has closed.
const char* const kNoLengthYet = "incomplete body (no length)";

// Clock - milliseconds left before a deadline.
class Clock {
 public:
  explicit Clock(int timeout_s) : end_(std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s)) {}
  // left() - milliseconds left (0 when past the deadline).
  int left() const {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - std::chrono::steady_clock::now()).count();
    return ms > 0 ? static_cast<int>(ms) : 0;
  }

 private:
  std::chrono::steady_clock::time_point end_;
};

// put16(), put_attr() - IPP's big-endian 2-byte integers and one attribute value.
void put16(std::string& out, size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xFF));
  out.push_back(static_cast<char>(v & 0xFF));
}
void put_attr(std::string& out, int tag, const std::string& name, const std::string& value) {
  out.push_back(static_cast<char>(tag));
  put16(out, name.size());
  out += name;
  put16(out, value.size());
  out += value;
}

// get16(), get32() - big-endian integers at p (the caller checked the length).
unsigned get16(const std::string& s, size_t p) {
  return (static_cast<unsigned char>(s[p]) << 8) | static_cast<unsigned char>(s[p + 1]);
}
long get32(const std::string& s, size_t p) {
  unsigned long v = (static_cast<unsigned long>(get16(s, p)) << 16) | get16(s, p + 2);
  return static_cast<long>(static_cast<int32_t>(v));
}

// connect_to() - a connected TCP socket to host:port, or -1 and `why`.
int connect_to(const IppTarget& t, const Clock& clock, std::string& why) {
  struct addrinfo hints {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  struct addrinfo* res = nullptr;
  int rc = getaddrinfo(t.host.c_str(), std::to_string(t.port).c_str(), &hints, &res);
  if (rc != 0) {
    why = "cannot resolve " + printable(t.host) + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  why = "no address of " + printable(t.host);
  for (auto* a = res; a && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    int err = connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      struct pollfd p = {fd, POLLOUT, 0};
      int n;
      while ((n = poll(&p, 1, clock.left())) < 0 && errno == EINTR) {
      }
      socklen_t len = sizeof err;
      if (n == 0) err = ETIMEDOUT;
      else if (n < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    }
    if (err != 0) {
      why = std::string(strerror(err));
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(res);
  return fd;
}

// exchange() - send request and read the HTTP answer: its status and body once
// the message is complete (or the peer closed after a body without a length);
// false and `why` on error, timeout or an incomplete answer.
bool exchange(int fd, const std::string& request, const Clock& clock, int& status, std::string& body, std::string& why) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      struct pollfd p = {fd, POLLOUT, 0};
      if (poll(&p, 1, clock.left()) > 0) continue;
      why = "timed out sending the request";
      return false;
    }
    why = std::string("cannot send the request: ") + strerror(errno);
    return false;
  }
  std::string answer;
  char buf[8192];
  for (;;) {
    if (parse_http_response(answer, status, body, why)) return true;
    struct pollfd p = {fd, POLLIN, 0};
    int left = clock.left();
    int n = left > 0 ? poll(&p, 1, left) : 0;
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      why = "timed out waiting for the answer";
      return false;
    }
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r < 0) {
      why = std::string("cannot read the answer: ") + strerror(errno);
      return false;
    }
    if (r == 0) {  // closed: a body without a length ends here; anything else is cut short
      if (why == kNoLengthYet) return true;
      why = "the connection closed before the answer was complete (" + why + ")";
      return false;
    }
    answer.append(buf, static_cast<size_t>(r));
    if (answer.size() > kMaxAnswer) {
      why = "the answer is larger than " + std::to_string(kMaxAnswer) + " bytes";
      return false;
    }
  }
}

// hex_status() - an IPP status code as 4 hex digits.
std::string hex_status(int code) {
  char b[8];
  snprintf(b, sizeof b, "%04x", static_cast<unsigned>(code) & 0xFFFF);
  return b;
}

}  // namespace

bool split_ipp_uri(const std::string& uri, IppTarget& t) {
  if (uri.size() < 7 || lower(uri.substr(0, 6)) != "ipp://") return false;
  size_t end = uri.find_first_of("/?#", 6);
  std::string auth = uri.substr(6, end == std::string::npos ? std::string::npos : end - 6);
  std::string rest = end == std::string::npos ? "/" : uri.substr(end);
  if (rest[0] != '/' || rest.find_first_of("?#") != std::string::npos) return false;
  size_t at = auth.rfind('@');
  if (at != std::string::npos) auth = auth.substr(at + 1);  // credentials: not used to ask for the state
  std::string host, port;
  if (!auth.empty() && auth[0] == '[') {
    size_t close = auth.find(']');
    if (close == std::string::npos) return false;
    host = auth.substr(1, close - 1);
    if (close + 1 < auth.size()) {
      if (auth[close + 1] != ':') return false;
      port = auth.substr(close + 2);
    }
  } else {
    size_t colon = auth.find(':');
    host = auth.substr(0, colon);
    if (colon != std::string::npos) port = auth.substr(colon + 1);
  }
  if (host.empty() || host.size() > 255) return false;
  for (char c : host)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':' || c == '_')) return false;
  t.port = 631;
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos) return false;
    t.port = std::stoi(port);
    if (t.port < 1 || t.port > 65535) return false;
  }
  for (char c : rest)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) return false;
  t.host = host;
  t.resource = rest;
  return true;
}

std::string encode_state_request(const std::string& printer_uri, int major, int minor, int request_id) {
  std::string r;
  r.push_back(static_cast<char>(major));
  r.push_back(static_cast<char>(minor));
  put16(r, 0x000B);  // Get-Printer-Attributes
  put16(r, (static_cast<unsigned>(request_id) >> 16) & 0xFFFF);
  put16(r, static_cast<unsigned>(request_id) & 0xFFFF);
  r.push_back(0x01);  // operation-attributes-tag
  put_attr(r, 0x47, "attributes-charset", "utf-8");
  put_attr(r, 0x48, "attributes-natural-language", "en");
  put_attr(r, 0x45, "printer-uri", printer_uri);
  put_attr(r, 0x42, "requesting-user-name", "printguard");
  const char* attrs[] = {"printer-state", "printer-state-reasons", "printer-state-message", "printer-is-accepting-jobs"};
  for (size_t i = 0; i < 4; i++) put_attr(r, 0x44, i ? "" : "requested-attributes", attrs[i]);
  r.push_back(0x03);  // end-of-attributes-tag
  return r;
}

bool parse_http_response(const std::string& answer, int& status, std::string& body, std::string& why) {
  // Interim answers (1xx, such as 100 Continue) come before the real one: skip them.
  size_t off = 0;
  for (;;) {
    size_t e = answer.find("\r\n\r\n", off);
    if (e == std::string::npos || answer.compare(off, 7, "HTTP/1.") != 0 || answer.compare(off + 8, 2, " 1") != 0) break;
    off = e + 4;
  }
  const std::string raw = answer.substr(off);
  size_t hend = raw.find("\r\n\r\n");
  if (hend == std::string::npos) {
    why = raw.size() > 65536 ? "the HTTP header is too long" : "incomplete HTTP header";
    return false;
  }
  std::string head = raw.substr(0, hend);
  if (head.compare(0, 7, "HTTP/1.") != 0 || head.size() < 12 || head[8] != ' ') {
    why = "not an HTTP/1.x answer";
    return false;
  }
  std::string code = head.substr(9, 3);
  if (code.find_first_not_of("0123456789") != std::string::npos) {
    why = "bad HTTP status line";
    return false;
  }
  status = std::stoi(code);
  long long length = -1;
  bool chunked = false;
  size_t p = head.find("\r\n");
  while (p != std::string::npos) {
    size_t next = head.find("\r\n", p + 2);
    std::string line = head.substr(p + 2, next == std::string::npos ? std::string::npos : next - p - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = lower(trim(line.substr(0, colon))), value = trim(line.substr(colon + 1));
      if (name == "content-length") {
        if (value.empty() || value.size() > 9 || value.find_first_not_of("0123456789") != std::string::npos) {
          why = "bad Content-Length";
          return false;
        }
        length = std::stoll(value);
      } else if (name == "transfer-encoding") {
        chunked = lower(value).find("chunked") != std::string::npos;
      }
    }
    p = next;
  }
  size_t pos = hend + 4;
  body.clear();
  if (chunked) {
    for (;;) {
      size_t eol = raw.find("\r\n", pos);
      if (eol == std::string::npos) {
        why = "incomplete chunked body";
        return false;
      }
      std::string size_hex = raw.substr(pos, eol - pos);
      size_hex = size_hex.substr(0, size_hex.find(';'));
      size_hex = trim(size_hex);
      if (size_hex.empty() || size_hex.size() > 7 || size_hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
        why = "bad chunk size";
        return false;
      }
      size_t n = std::stoul(size_hex, nullptr, 16);
      pos = eol + 2;
      if (n == 0) return true;  // trailers, if any, are not needed
      if (raw.size() < pos + n + 2) {
        why = "incomplete chunked body";
        return false;
      }
      body.append(raw, pos, n);
      pos += n + 2;
    }
  }
  if (length >= 0) {
    if (raw.size() - pos < static_cast<size_t>(length)) {
      why = "incomplete body";
      return false;
    }
    body = raw.substr(pos, static_cast<size_t>(length));
    return true;
  }
  // Neither: the body ends when the connection closes; the caller says when.
  why = kNoLengthYet;
  body = raw.substr(pos);
  return false;
}

bool parse_state_response(const std::string& body, PrinterState& st, int& ipp_status, std::string& why) {
  if (body.size() < 9) {
    why = "the IPP answer is truncated";
    return false;
  }
  ipp_status = static_cast<int>(get16(body, 2));
  size_t p = 8;
  bool have_state = false, have_accepting = false, have_message = false, ended = false;
  std::string name;     // the attribute additional values belong to
  int reasons_seen = 0;  // 0 not yet, 1 reading the first printer-state-reasons, 2 done
  std::vector<std::string> reasons;
  while (p < body.size()) {
    unsigned tag = static_cast<unsigned char>(body[p]);
    if (tag == 0x03) {
      ended = true;
      break;
    }
    if (tag < 0x10) {  // another group delimiter
      if (tag == 0x00) {
        why = "the IPP answer has a reserved tag";
        return false;
      }
      p++;
      name.clear();
      continue;
    }
    if (p + 3 > body.size()) break;
    size_t nlen = get16(body, p + 1);
    if (p + 3 + nlen + 2 > body.size()) break;
    std::string n = body.substr(p + 3, nlen);
    size_t vlen = get16(body, p + 3 + nlen);
    size_t v = p + 5 + nlen;
    if (v + vlen > body.size()) break;
    if (nlen) name = n;
    std::string value = body.substr(v, vlen);
    // As ippFindAttribute(): the first attribute of the name with a matching tag.
    if (reasons_seen == 1 && nlen) reasons_seen = 2;
    if (name == "printer-state" && tag == 0x23 && nlen && !have_state) {
      if (vlen != 4) {
        why = "printer-state is not a 4-byte enum";
        return false;
      }
      st.state = static_cast<int>(get32(body, v));
      have_state = true;
    } else if (name == "printer-is-accepting-jobs" && tag == 0x22 && nlen && !have_accepting) {
      st.accepting = vlen == 1 && value[0] != 0;
      have_accepting = true;
    } else if (name == "printer-state-reasons" && tag == 0x44 && (nlen ? reasons_seen == 0 : reasons_seen == 1)) {
      reasons_seen = 1;
      reasons.push_back(value);
    } else if (name == "printer-state-message" && nlen && (tag == 0x41 || tag == 0x35) && !have_message) {
      if (tag == 0x35) {  // textWithLanguage: language length, language, text length, text
        size_t l = vlen >= 2 ? get16(value, 0) : vlen;
        if (2 + l + 2 > vlen || 4 + l + get16(value, 2 + l) != vlen) {
          why = "bad textWithLanguage value";
          return false;
        }
        value = value.substr(4 + l);
      }
      st.message = value;
      have_message = true;
    }
    p = v + vlen;
  }
  if (!ended) {
    why = "the IPP answer is truncated";
    return false;
  }
  st.reasons = reasons;
  if (!have_state) {
    why = "the printer's answer has no printer-state";
    return false;
  }
  return true;
}

PrinterState query_ipp_state(const IppTarget& t, const std::string& printer_uri, int timeout_s) {
  PrinterState st;
  Clock clock(timeout_s);
  std::string where = (t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host) + ":" + std::to_string(t.port);
  // IPP/2.0 first; a printer that only speaks 1.1 says so, and is asked again.
  for (int minor_try = 0; minor_try < 2; minor_try++) {
    std::string why;
    int fd = connect_to(t, clock, why);
    if (fd < 0) {
      st.error = "no answer from " + printable(where) + " (" + why + ")";
      return st;
    }
    std::string ipp = minor_try == 0 ? encode_state_request(printer_uri, 2, 0, 1) : encode_state_request(printer_uri, 1, 1, 2);
    std::string req = "POST " + t.resource + " HTTP/1.1\r\nHost: " + where +
                      "\r\nContent-Type: application/ipp\r\nUser-Agent: printguard\r\nConnection: close\r\nContent-Length: " +
                      std::to_string(ipp.size()) + "\r\n\r\n" + ipp;
    int http_status = 0;
    std::string body;
    bool got = exchange(fd, req, clock, http_status, body, why);
    close(fd);
    if (!got) {
      st.error = "the printer did not answer Get-Printer-Attributes (" + why + ")";
      return st;
    }
    if (http_status != 200) {
      st.error = "the printer did not answer Get-Printer-Attributes (HTTP status " + std::to_string(http_status) + ")";
      return st;
    }
    PrinterState parsed;
    int ipp_status = 0;  // stays 0 if the body is too short to have one
    bool readable = parse_state_response(body, parsed, ipp_status, why);
    if (ipp_status > 0x0002) {  // an error status: its answer need not have a printer-state
      if (ipp_status == 0x0503 && minor_try == 0) continue;  // server-error-version-not-supported
      st.error = "the printer did not answer Get-Printer-Attributes (IPP status 0x" + hex_status(ipp_status) + ")";
      return st;
    }
    if (!readable) {
      st.error = why;
      return st;
    }
    parsed.answered = true;
    return parsed;
  }
  st.error = "the printer did not answer Get-Printer-Attributes (IPP version not supported)";
  return st;
}

}  // namespace pg
