// cupsjobs.cc - CUPS job operations for release stations (libcups IPP).
#include "cupsjobs.h"

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <cups/cups.h>

#include "util.h"

namespace pg {

namespace {

// kLookupConnections, kJobsPerConnection - confirm_held_jobs() asks cupsd on
// up to this many connections, one more for each this many jobs.
constexpr size_t kLookupConnections = 4, kJobsPerConnection = 8;

// job_uri() - ipp://localhost/jobs/ID.
std::string job_uri(int id) { return "ipp://localhost/jobs/" + std::to_string(id); }

// printer_uri() - ipp://localhost/printers/NAME, NAME escaped.
std::string printer_uri(const std::string& q) {
  char uri[1024];
  httpAssembleURIf(HTTP_URI_CODING_ALL, uri, sizeof uri, "ipp", nullptr, "localhost", 0, "/printers/%s", q.c_str());
  return uri;
}

// new_request() - an IPP request whose operation group starts with the target
// (uri_name = uri) and requesting-user-name, in the order cupsd requires.
ipp_t* new_request(ipp_op_t op, const char* uri_name, const std::string& uri) {
  ipp_t* req = ippNewRequest(op);
  if (uri_name) ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_URI, uri_name, nullptr, uri.c_str());
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_NAME, "requesting-user-name", nullptr, cupsUser());
  return req;
}

// do_request() - send req to cupsd (the default server: the local socket) and
// throw Error naming `what` unless it succeeded; returns the response.
ipp_t* do_request(ipp_t* req, const std::string& resource, const std::string& what) {
  ipp_t* resp = cupsDoRequest(CUPS_HTTP_DEFAULT, req, resource.c_str());
  if (!resp || cupsLastError() > IPP_STATUS_OK_CONFLICTING) {
    ippDelete(resp);
    throw Error(what + " failed: " + cupsLastErrorString());
  }
  return resp;
}

// queue_of() - the queue name at the end of a job-printer-uri.
std::string queue_of(const char* uri) {
  std::string u = uri ? uri : "";
  size_t p = u.rfind('/');
  return p == std::string::npos ? u : u.substr(p + 1);
}

// read_jobs() - CupsJobs from a Get-Jobs / Get-Job-Attributes response.
std::vector<CupsJob> read_jobs(ipp_t* resp) {
  std::vector<CupsJob> out;
  CupsJob j;
  bool have = false;
  for (ipp_attribute_t* a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp)) {
    const char* name = ippGetName(a);
    if (!name) {
      if (have && j.id) out.push_back(j);
      j = CupsJob();
      have = false;
      continue;
    }
    if (ippGetGroupTag(a) != IPP_TAG_JOB) continue;
    have = true;
    std::string n = name;
    if (n == "job-id") j.id = ippGetInteger(a, 0);
    else if (n == "job-uuid") j.uuid = ippGetString(a, 0, nullptr);
    else if (n == "job-originating-user-name") j.owner = ippGetString(a, 0, nullptr);
    else if (n == "job-printer-uri") j.queue = queue_of(ippGetString(a, 0, nullptr));
    else if (n == "job-name") j.title = ippGetString(a, 0, nullptr);
    else if (n == "job-state") j.state = ippGetInteger(a, 0);
    else if (n == "job-printer-state-message") j.state_message = ippGetString(a, 0, nullptr);
    else if (n == "time-at-creation") j.created = ippGetInteger(a, 0);
  }
  if (have && j.id) out.push_back(j);
  return out;
}

const char* const kJobAttrs[] = {"job-id",   "job-uuid",  "job-originating-user-name", "job-printer-uri",
                                 "job-name", "job-state", "job-printer-state-message", "time-at-creation"};

}  // namespace

std::vector<CupsJob> list_jobs() {
  ipp_t* req = new_request(IPP_OP_GET_JOBS, "printer-uri", "ipp://localhost/");
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", nullptr, "not-completed");
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 8, nullptr, kJobAttrs);
  ipp_t* resp = do_request(req, "/", "listing jobs (Get-Jobs)");
  auto jobs = read_jobs(resp);
  ippDelete(resp);
  return jobs;
}

namespace {

// held_for() - whether cupsd reports j held, owned by owner, on one of queues.
bool held_for(const CupsJob& j, const std::vector<std::string>& queues, const std::string& owner) {
  if (j.state != 4 || j.owner != owner) return false;
  for (auto& q : queues)
    if (lower(q) == lower(j.queue)) return true;
  return false;
}

}  // namespace

std::vector<CupsJob> list_held_jobs(const std::vector<std::string>& queues, const std::string& owner) {
  // 1. Per queue, held jobs only, with attributes cupsd does not have to load
  // from the spool: with 10 000 held jobs, the full attribute set of every job
  // made one listing take seconds.
  const char* const brief[] = {"job-id", "job-originating-user-name", "job-state"};
  std::vector<int> ids;
  for (auto& q : queues) {
    ipp_t* req = new_request(IPP_OP_GET_JOBS, "printer-uri", printer_uri(q));
    ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "which-jobs", nullptr, "pending-held");
    ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 3, nullptr, brief);
    ipp_t* resp = do_request(req, "/", "listing held jobs on " + q + " (Get-Jobs)");
    for (auto& j : read_jobs(resp))
      if (j.state == 4 && j.owner == owner) ids.push_back(j.id);
    ippDelete(resp);
  }
  std::vector<CupsJob> out;
  if (ids.empty()) return out;
  // 2. The owner's jobs in full, in one request.
  ipp_t* req = new_request(IPP_OP_GET_JOBS, "printer-uri", "ipp://localhost/");
  ippAddIntegers(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-ids", static_cast<int>(ids.size()), ids.data());
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 8, nullptr, kJobAttrs);
  ipp_t* resp = cupsDoRequest(CUPS_HTTP_DEFAULT, req, "/");
  std::vector<CupsJob> full;
  if (resp && cupsLastError() <= IPP_STATUS_OK_CONFLICTING) {
    full = read_jobs(resp);
  } else {
    // A job left in between (cupsd then refuses the whole request): one by one.
    for (int id : ids) {
      try {
        full.push_back(get_job(id));
      } catch (const Error&) {
      }
    }
  }
  ippDelete(resp);
  // cupsd's answer is checked again: held, this owner, one of these queues.
  for (auto& j : full)
    if (held_for(j, queues, owner)) out.push_back(j);
  return out;
}

std::vector<CupsJob> confirm_held_jobs(const std::vector<std::pair<int, std::string>>& candidates,
                                       const std::vector<std::string>& queues, const std::string& owner) {
  std::vector<std::pair<int, std::string>> todo;
  std::set<int> asked;
  for (auto& c : candidates)
    if (c.first > 0 && asked.insert(c.first).second) todo.push_back(c);
  // Asked on up to kLookupConnections connections at once: cupsd answers one
  // request at a time, but each request's round trip and the client's work
  // then overlap cupsd's. found[i] is set by whichever thread asked for todo[i].
  std::vector<std::unique_ptr<CupsJob>> found(todo.size());
  std::atomic<size_t> next{0};
  std::mutex failed_mutex;
  std::string failed;  // the first failure's message
  auto look_up = [&](http_t* http) {
    for (size_t i; (i = next++) < todo.size();) {
      int id = todo[i].first;
      ipp_t* req = new_request(IPP_OP_GET_JOB_ATTRIBUTES, "job-uri", job_uri(id));
      ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 8, nullptr, kJobAttrs);
      ipp_t* resp = cupsDoRequest(http, req, "/");
      ipp_status_t st = cupsLastError();  // this thread's
      if (st == IPP_STATUS_ERROR_NOT_FOUND) {  // printed, canceled or purged since
        ippDelete(resp);
        continue;
      }
      if (!resp || st > IPP_STATUS_OK_CONFLICTING) {
        ippDelete(resp);
        std::lock_guard<std::mutex> lock(failed_mutex);
        if (failed.empty())
          failed = "looking up job " + std::to_string(id) + " (Get-Job-Attributes) failed: " + cupsLastErrorString();
        next = todo.size();  // the others stop too
        return;
      }
      auto jobs = read_jobs(resp);
      ippDelete(resp);
      for (auto& j : jobs)
        // Same checks as list_held_jobs(), and the job-uuid the backend recorded.
        if (j.id == id && held_for(j, queues, owner) && !j.uuid.empty() && j.uuid == todo[i].second)
          found[i] = std::make_unique<CupsJob>(j);
    }
  };
  std::vector<std::thread> threads;
  std::vector<http_t*> connections;
  for (size_t k = 1; k < kLookupConnections && k * kJobsPerConnection < todo.size(); k++) {
    http_t* http = httpConnect2(cupsServer(), ippPort(), nullptr, AF_UNSPEC, cupsEncryption(), 1, 30000, nullptr);
    if (!http) break;  // fewer connections: the others ask for more
    connections.push_back(http);
    try {
      threads.emplace_back(look_up, http);
    } catch (const std::system_error&) {
      break;
    }
  }
  look_up(CUPS_HTTP_DEFAULT);
  for (auto& t : threads) t.join();
  for (http_t* http : connections) httpClose(http);
  if (!failed.empty()) throw Error(failed);
  std::vector<CupsJob> out;
  for (auto& j : found)
    if (j) out.push_back(std::move(*j));
  return out;
}

CupsJob get_job(int id) {
  ipp_t* req = new_request(IPP_OP_GET_JOB_ATTRIBUTES, "job-uri", job_uri(id));
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 8, nullptr, kJobAttrs);
  ipp_t* resp = do_request(req, "/", "looking up job " + std::to_string(id));
  auto jobs = read_jobs(resp);
  ippDelete(resp);
  if (jobs.empty()) throw Error("no job " + std::to_string(id));
  return jobs[0];
}

std::string queue_device_uri(const std::string& queue) {
  ipp_t* req = new_request(IPP_OP_GET_PRINTER_ATTRIBUTES, "printer-uri", printer_uri(queue));
  ippAddString(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", nullptr, "device-uri");
  ipp_t* resp = do_request(req, "/", "looking up queue " + queue);
  ipp_attribute_t* a = ippFindAttribute(resp, "device-uri", IPP_TAG_URI);
  std::string uri = a ? ippGetString(a, 0, nullptr) : "";
  ippDelete(resp);
  return uri;
}

std::vector<QueueInfo> list_queues() {
  ipp_t* req = new_request(IPP_OP_CUPS_GET_PRINTERS, nullptr, "");
  const char* const attrs[] = {"printer-name", "device-uri", "printer-op-policy"};
  ippAddStrings(req, IPP_TAG_OPERATION, IPP_TAG_KEYWORD, "requested-attributes", 3, nullptr, attrs);
  ipp_t* resp = do_request(req, "/", "listing queues (CUPS-Get-Printers)");
  std::vector<QueueInfo> out;
  QueueInfo q;
  auto flush = [&] {
    if (!q.name.empty()) out.push_back(q);
    q = QueueInfo();
  };
  for (ipp_attribute_t* a = ippFirstAttribute(resp); a; a = ippNextAttribute(resp)) {
    const char* n = ippGetName(a);
    if (!n) {
      flush();
      continue;
    }
    if (!strcmp(n, "printer-name")) q.name = ippGetString(a, 0, nullptr);
    if (!strcmp(n, "device-uri")) q.device_uri = ippGetString(a, 0, nullptr);
    if (!strcmp(n, "printer-op-policy")) q.op_policy = ippGetString(a, 0, nullptr);
  }
  flush();
  ippDelete(resp);
  return out;
}

std::vector<std::string> list_queues_with_device_prefix(const std::string& prefix) {
  std::vector<std::string> out;
  for (auto& q : list_queues())
    if (lower(q.device_uri).rfind(lower(prefix), 0) == 0) out.push_back(q.name);
  return out;
}

void move_job(int id, const std::string& dest) {
  ipp_t* req = new_request(IPP_OP_CUPS_MOVE_JOB, "job-uri", job_uri(id));
  ippAddString(req, IPP_TAG_JOB, IPP_TAG_URI, "job-printer-uri", nullptr, printer_uri(dest).c_str());
  ippDelete(do_request(req, "/jobs", "moving job " + std::to_string(id) + " to " + dest));
}

void release_job(int id) {
  ipp_t* req = new_request(IPP_OP_RELEASE_JOB, "job-uri", job_uri(id));
  ippDelete(do_request(req, "/jobs", "releasing job " + std::to_string(id)));
}

void cancel_job(int id, bool purge) {
  ipp_t* req = new_request(IPP_OP_CANCEL_JOB, "job-uri", job_uri(id));
  if (purge) ippAddBoolean(req, IPP_TAG_OPERATION, "purge-job", 1);
  ippDelete(do_request(req, "/jobs", "canceling job " + std::to_string(id)));
}

void purge_jobs(const std::vector<int>& ids) {
  if (ids.empty()) return;
  ipp_t* req = new_request(IPP_OP_PURGE_JOBS, "printer-uri", "ipp://localhost/");
  ippAddIntegers(req, IPP_TAG_OPERATION, IPP_TAG_INTEGER, "job-ids", static_cast<int>(ids.size()), ids.data());
  ippAddBoolean(req, IPP_TAG_OPERATION, "purge-jobs", 1);
  ippDelete(do_request(req, "/admin/", "purging " + std::to_string(ids.size()) + " job(s) (Purge-Jobs)"));
}

}  // namespace pg
