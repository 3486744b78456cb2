// queue.cc - PPD editing for printguard queue enable/disable.
#include "queue.h"

#include <cerrno>
#include <cstring>
#include <cups/cups.h>
#include <cups/ppd.h>
#include <unistd.h>
#include <vector>

#include "util.h"

namespace pg {

namespace {

const char kMark[] = "*% printguard: ";
const char kReplaced[] = "*% printguard-replaced: ";
const char kProgram[] = "printguard-watermark";

// split_lines() - PPD text as lines (line endings dropped).
std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t p = 0;
  while (p < text.size()) {
    size_t nl = text.find('\n', p);
    std::string l = text.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
    if (!l.empty() && l.back() == '\r') l.pop_back();
    out.push_back(l);
    if (nl == std::string::npos) break;
    p = nl + 1;
  }
  return out;
}

// join_lines() - lines back to text with '\n' endings.
std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (auto& l : lines) out += l + "\n";
  return out;
}

// starts() - prefix test.
bool starts(const std::string& s, const char* p) { return s.compare(0, strlen(p), p) == 0; }

// filter_words() - the quoted words of a *cupsFilter2: "src dst cost prog" line.
std::vector<std::string> filter_words(const std::string& line) {
  size_t q1 = line.find('"'), q2 = line.rfind('"');
  if (q1 == std::string::npos || q2 <= q1) return {};
  return split_ws(line.substr(q1 + 1, q2 - q1 - 1));
}

}  // namespace

bool ppd_has_filter(const std::string& ppd) {
  for (auto& l : split_lines(ppd))
    if (starts(l, kMark)) return true;
  return false;
}

std::string ppd_add_filter(const std::string& ppd) {
  if (ppd_has_filter(ppd)) return ppd;
  auto lines = split_lines(ppd);
  if (lines.empty() || !starts(lines[0], "*PPD-Adobe")) throw Error("not a PPD file (no *PPD-Adobe header)");
  // Driverless queues: the null filter "application/vnd.cups-pdf ... -" sends PDF
  // to the device; printguard-watermark takes its place as the last filter.
  bool driverless = false;
  for (auto& l : lines) {
    auto w = starts(l, "*cupsFilter2:") ? filter_words(l) : std::vector<std::string>{};
    driverless = driverless || (w.size() == 4 && w[0] == "application/vnd.cups-pdf" && w[3] == "-");
  }
  std::vector<std::string> out;
  bool replaced = false;
  for (auto& l : lines) {
    if (driverless && starts(l, "*cupsFilter2:")) {
      auto w = filter_words(l);
      if (!replaced && w.size() == 4 && w[0] == "application/vnd.cups-pdf" && w[3] == "-") {
        out.push_back(std::string(kReplaced) + l);
        out.push_back(std::string(kMark) + "the watermark filter is the last filter before the device");
        out.push_back("*cupsFilter2: \"application/vnd.cups-pdf " + w[1] + " " + w[2] + " " + kProgram + "\"");
        replaced = true;
        continue;
      }
      // Every other way to the device (JPEG, URF or PWG passed through as is)
      // would skip the stamp: all input goes through PDF instead.
      out.push_back(std::string(kReplaced) + l);
      continue;
    }
    out.push_back(l);
  }
  if (!driverless) {
    // PPD drivers: stamp the PDF that pdftopdf/imagetopdf produce, before the driver.
    out.push_back(std::string(kMark) + "the watermark filter runs on the job's PDF before the driver");
    out.push_back(std::string("*cupsPreFilter: \"application/vnd.cups-pdf 0 ") + kProgram + "\"");
  }
  return join_lines(out);
}

std::string ppd_remove_filter(const std::string& ppd) {
  auto lines = split_lines(ppd);
  std::vector<std::string> out;
  bool skip_next = false;
  for (auto& l : lines) {
    if (skip_next) {
      skip_next = false;
      if (l.find(kProgram) != std::string::npos) continue;
    }
    if (starts(l, kReplaced)) {
      out.push_back(l.substr(strlen(kReplaced)));
      continue;
    }
    if (starts(l, kMark)) {
      skip_next = true;
      continue;
    }
    out.push_back(l);
  }
  return join_lines(out);
}

// fetch_ppd() - the queue's PPD text from cupsd.
static std::string fetch_ppd(const std::string& queue) {
  // libcups 2.x has no replacement for cupsGetPPD2() to fetch a queue's PPD
  // (lpadmin itself uses it); silence the deprecation here only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  const char* file = cupsGetPPD2(CUPS_HTTP_DEFAULT, queue.c_str());
#pragma GCC diagnostic pop
  if (!file)
    throw Error("cannot get the PPD of queue " + queue + ": " + cupsLastErrorString() +
                " (does the queue exist, and does it use a PPD or driverless model?)");
  std::string text;
  try {
    text = read_file(file, 16 << 20);
  } catch (...) {
    unlink(file);
    throw;
  }
  unlink(file);
  return text;
}

bool queue_has_filter(const std::string& queue) { return ppd_has_filter(fetch_ppd(queue)); }

void queue_set_filter(const std::string& queue, bool enable) {
  std::string ppd = fetch_ppd(queue);
  std::string changed = enable ? ppd_add_filter(ppd) : ppd_remove_filter(ppd);
  if (changed == ppd) return;
  char tmp[] = "/tmp/printguard-ppd-XXXXXX";
  int fd = mkstemp(tmp);
  if (fd < 0) throw Error(std::string("cannot create a temporary file: ") + strerror(errno));
  bool ok = write_all(fd, changed.data(), changed.size());
  close(fd);
  if (!ok) {
    unlink(tmp);
    throw Error("cannot write a temporary PPD file");
  }
  char uri[1024];
  httpAssembleURIf(HTTP_URI_CODING_ALL, uri, sizeof uri, "ipp", nullptr, "localhost", 0, "/printers/%s", queue.c_str());
  ipp_t* req = ippNewRequest(IPP_OP_CUPS_ADD_MODIFY_PRINTER);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, "printer-uri", nullptr, uri);
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, cupsUser());
  ippDelete(cupsDoFileRequest(CUPS_HTTP_DEFAULT, req, "/admin/", tmp));
  unlink(tmp);
  if (cupsLastError() > IPP_STATUS_OK_CONFLICTING)
    throw Error("cupsd refused the changed PPD for queue " + queue + ": " + cupsLastErrorString());
}

}  // namespace pg
