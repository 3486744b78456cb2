// backend.cc - the printguard hold/release backend.
#include "backend.h"

#include <cctype>
#include <cerrno>
#include <dlfcn.h>
#include <csignal>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <future>
#include <memory>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "admin.h"
#include "audit.h"
#include "config.h"
#include "ippstate.h"
#include "jobargs.h"
#include "keys.h"
#include "log.h"
#include "release.h"
#include "util.h"

namespace pg {

namespace {

volatile sig_atomic_t g_sigterms = 0;
volatile pid_t g_child = 0;

// on_sigterm() - first SIGTERM: forward to the child (cancel); second: kill it and leave.
void on_sigterm(int) {
  g_sigterms = g_sigterms + 1;
  if (g_child > 0) kill(g_child, g_sigterms >= 2 ? SIGKILL : SIGTERM);
  if (g_sigterms >= 2) _exit(kBackendFailed);
}

// Outcome - what happened to one job, for the audit store and the exit status.
struct Outcome {
  std::string event, detail;
  int status;
};

#ifndef PG_CUPS_SERVERBIN
#define PG_CUPS_SERVERBIN "/usr/lib/cups"
#endif

// serverbin() - $CUPS_SERVERBIN (set by cupsd) or the ServerBin configured at build time.
std::string serverbin() {
  const char* s = getenv("CUPS_SERVERBIN");
  return s && *s ? s : PG_CUPS_SERVERBIN;
}


// check_backend_program() - the inner backend must be a root-owned, not group- or
// other-writable regular file (cupsd's own rule); returns its mode.
mode_t check_backend_program(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) throw Error("no CUPS backend " + path + ": " + strerror(errno));
  if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
    throw Error("CUPS backend " + path + " has insecure ownership or permissions");
  return st.st_mode;
}

}  // namespace

// without_credentials() - a URI with any user:password@ removed (for argv[0],
// which ps shows; the child reads the full URI from DEVICE_URI).
std::string without_credentials(const std::string& uri) {
  size_t start = uri.find("://");
  if (start == std::string::npos) return uri;
  size_t host = start + 3, end = uri.find_first_of("/?#", host), at = uri.rfind('@', end);
  if (at == std::string::npos || at < host) return uri;
  return uri.substr(0, host) + uri.substr(at + 1);
}

InnerDevice parse_device_uri(const std::string& device_uri) {
  const std::string prefix = "printguard:";
  if (device_uri.size() > 2048) throw Error("device URI is too long");
  if (lower(device_uri.substr(0, prefix.size())) != prefix)
    throw Error("device URI \"" + printable(device_uri) + "\" does not start with printguard:");
  InnerDevice d;
  d.uri = device_uri.substr(prefix.size());
  for (unsigned char c : d.uri)
    if (c <= ' ' || c == 0x7f) throw Error("device URI contains white space or control characters");
  if (lower(d.uri) == "findme") {
    d.findme = true;
    d.uri.clear();
    return d;
  }
  size_t colon = d.uri.find(':');
  if (colon == std::string::npos || colon == 0 || colon > 32)
    throw Error("device URI \"" + printable(device_uri) + "\" wraps no device: use printguard:<real device URI>, e.g. printguard:ipp://printer.example/ipp/print, or printguard:findme");
  d.scheme = lower(d.uri.substr(0, colon));
  if (!(d.scheme[0] >= 'a' && d.scheme[0] <= 'z')) throw Error("invalid backend scheme \"" + printable(d.scheme) + "\"");
  for (char c : d.scheme)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '+'))
      throw Error("invalid backend scheme \"" + printable(d.scheme) + "\"");
  if (d.scheme == "file" || d.scheme == "printguard" || d.scheme == "cups-pdf")
    throw Error("printguard cannot wrap " + d.scheme + ": URIs (only real printer devices, no files and no nesting)");
  return d;
}

std::vector<std::string> neutral_job_args(const std::vector<std::string>& argv) {
  std::vector<std::string> a = argv;
  if (a.size() < 6) return a;
  a[3] = "Job " + a[1];
  std::string out;
  for (auto& [name, value] : parse_cups_options(a[5])) {
    if (name == "document-name-supplied" || name == "job-name" || name == "document-name") continue;
    out += (out.empty() ? "" : " ") + name + "=";
    // Backslash-escape everything but plain characters, so cupsParseOptions()
    // in the real backend reads back exactly this value: no white space that
    // splits options, no quote, no '{' that opens a collection.
    for (char c : value) {
      if (!isalnum(static_cast<unsigned char>(c)) && !strchr("-._:/@+,%=", c)) out.push_back('\\');
      out.push_back(c);
    }
  }
  a[5] = out;
  return a;
}

std::string backend_discovery_line() {
  return "network printguard \"Unknown\" \"printguard secure release (printguard:<device URI> or printguard:findme)\"";
}

int run_backend(const std::vector<std::string>& argv) {
  if (argv.size() == 1) {
    std::string line = backend_discovery_line() + "\n";
    write_all(STDOUT_FILENO, line.data(), line.size());
    return kBackendOk;
  }
  std::future<bool> cups_loaded;  // libcups loading on a thread (fast start)
  JobInfo job;
  InnerDevice dev;
  Config cfg;
  try {
    job = parse_job_args(argv);
    const char* du = getenv("DEVICE_URI");
    dev = parse_device_uri(du ? du : "");
#ifdef PG_CUPS_SONAME
    // Only ipps://, http:// and https:// printers are asked through libcups,
    // which this program loads when first called (lib/lazy_cups.cc): start
    // loading it now, on a thread, while the configuration, keys and audit
    // store are read. Every return waits for it.
    if (state_query_uses_libcups(dev.uri))
      cups_loaded = std::async(std::launch::async, [] { return dlopen(PG_CUPS_SONAME, RTLD_NOW | RTLD_LOCAL) != nullptr; });
#endif
  } catch (const Error& e) {
    log_error(e.what());
    return kBackendStop;  // a broken queue: stop it, keep its jobs
  }
  try {
    cfg = load_config_default();
  } catch (const Error& e) {
    log_error(std::string("job held: ") + e.what());
    return kBackendHold;
  }
  const QueueSettings& qs = cfg.for_queue(job.queue);
  struct sigaction sa {};
  sa.sa_handler = on_sigterm;  // no SA_RESTART: waits return EINTR on cancel
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<AuditStore> audit;
  std::unique_ptr<Key> key;
  KeyStore keys(cfg.key_dir);
  try {
    crypto_init();
    key = std::make_unique<Key>(keys.current());
    audit = std::make_unique<AuditStore>(cfg.audit_db, cfg.syslog);
    note_config_change(*audit, *key, cfg);
  } catch (const Error& e) {
    log_error(std::string("job held: ") + e.what());
    return kBackendHold;
  }
  // record() - audit one backend event for this job; a failure to record holds.
  auto record = [&](const std::string& event, const std::string& detail) {
    AuditEvent ev;
    ev.event = event;
    ev.user = job.user;
    ev.queue = job.queue;
    ev.host = job.host;
    ev.job_id = job.job_id;
    ev.job_uuid = job.uuid;
    ev.title_hidden = true;  // titles are the filter's business; never logged here
    ev.title_h = "";
    ev.detail = detail;
    audit->append(ev, *key);
  };
  auto hold = [&](const std::string& event, const std::string& detail, const std::string& user_msg, bool error) {
    try {
      record(event, detail);
    } catch (const Error& e) {
      log_error(std::string("cannot record in the audit store: ") + e.what());
    }
    if (error) log_error(user_msg); else log_info(user_msg);
    return kBackendHold;
  };

  try {
    if (job.uuid.empty())
      return hold("hold", "job has no job-uuid", "job held: it has no job-uuid, so no release can be bound to it", true);
    if (dev.findme)
      return hold("hold", "find-me queue", "job held: release it at any printguard release station (Find-Me)", false);

    std::string rec, mac;
    if (!audit->take_release(job.uuid, job.queue, rec, mac)) {
      bool seen = audit->has_event(job.uuid, "hold") || audit->has_event(job.uuid, "release");
      auto hu = job.options.find("job-hold-until");
      bool immediate = hu != job.options.end() && hu->second == "no-hold";
      if (seen || immediate)
        return hold("bypass", seen ? "job re-run without a release (resume, restart or move)" : "submitted with job-hold-until=no-hold",
                    "job held: printing needs a release at a printguard release station", false);
      return hold("hold", "waiting for release", "job held: release it at a printguard release station", false);
    }
    std::string why;
    if (check_release(rec, mac, keys, job.uuid, job.job_id, job.user, job.queue, time(nullptr), why) != ReleaseCheck::Valid)
      return hold("refuse", "release rejected: " + why, "job held: " + why + "; release it again", true);

    // A required watermark: the filter must have stamped this run's document. Raw
    // jobs (lp -o raw) skip filters; the filter records its stamp before it writes
    // a byte, so wait for its output (or its end) before looking.
    if (qs.mode == WatermarkMode::Required) {
      bool raw = argv.size() == 7;
      if (!raw) {
        struct pollfd in = {STDIN_FILENO, POLLIN, 0};
        while (poll(&in, 1, -1) < 0 && errno == EINTR)
          if (g_sigterms) return kBackendFailed;
      }
      long long stamp = audit->last_event_id(job.uuid, "stamp");
      if (raw || stamp == 0 || stamp < audit->last_event_id(job.uuid, "release")) {
        audit->spend_releases(job.uuid);
        return hold("refuse", raw ? "raw job: the watermark filter did not run" : "document not stamped",
                    "job held, not sent: the watermark is required on queue " + job.queue +
                        " but this document was not stamped (raw printing, or printguard-watermark is not on the queue: "
                        "run printguard queue enable " + job.queue + ")",
                    true);
      }
    }

    // The printer-state gate: never send to a printer in an error state.
    std::string not_ready;
    if (queryable_scheme(dev.scheme)) {
      not_ready = not_ready_reason(query_printer_state(dev.uri, 10), qs.blocking_reasons);
    } else if (!qs.send_unqueried) {
      not_ready = "printguard cannot ask " + dev.scheme + ": printers for their state; to send anyway set \"UnqueriedPrinters Allow\" in <Queue " + job.queue + "> of " + (cfg.path.empty() ? default_config_path() : cfg.path);
    }
    if (!not_ready.empty()) {
      audit->spend_releases(job.uuid);
      return hold("refuse", not_ready, "job held, not sent: " + not_ready + "; fix the printer, then release the job again", true);
    }
    record("release-used", "sending to " + dev.scheme + ":");
  } catch (const Error& e) {
    return hold("refuse", e.what(), std::string("job held: ") + e.what(), true);
  }

  // Send: run the real backend as a child, relay its messages, watch for faults.
  std::string path = serverbin() + "/backend/" + dev.scheme;
  mode_t mode;
  try {
    mode = check_backend_program(path);
  } catch (const Error& e) {
    log_error(e.what());
    try {
      record("failed", e.what());
    } catch (const Error&) {
    }
    return kBackendStop;
  }
  if (cups_loaded.valid()) cups_loaded.wait();  // no fork while a thread may hold the loader's lock
  int errpipe[2];
  if (pipe2(errpipe, O_CLOEXEC) != 0) return hold("refuse", "pipe failed", "job held: cannot start the backend", true);

  pid_t pid = fork();
  if (pid < 0) return hold("refuse", "fork failed", "job held: cannot start the backend", true);
  if (pid == 0) {
    // cupsd (as root) signals the backend's whole process group on cancel. The
    // child gets a group of its own so it sees exactly one SIGTERM, ours: a
    // second one makes the ipp backend exit before it cancels the device job.
    // If we die anyway, it is told to stop too.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) _exit(kBackendFailed);
    dup2(errpipe[1], STDERR_FILENO);
    setenv("DEVICE_URI", dev.uri.c_str(), 1);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    // Like cupsd: a backend others may execute runs as lp, a private one as root.
    if (geteuid() == 0 && (mode & S_IXOTH)) {
      struct passwd* pw = getpwnam("lp");
      if (!pw || setgroups(0, nullptr) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0 || setuid(0) == 0) {
        const char m[] = "ERROR: printguard: cannot drop privileges to lp for the backend\n";
        (void)!write(STDERR_FILENO, m, sizeof m - 1);
        _exit(kBackendFailed);
      }
    }
    std::vector<char*> args;
    std::vector<std::string> a = qs.hide_titles ? neutral_job_args(argv) : argv;
    a[0] = without_credentials(dev.uri);
    for (auto& s : a) args.push_back(s.data());
    args.push_back(nullptr);
    execv(path.c_str(), args.data());
    const char m[] = "ERROR: printguard: cannot run the backend\n";
    (void)!write(STDERR_FILENO, m, sizeof m - 1);
    _exit(kBackendFailed);
  }
  g_child = pid;
  close(errpipe[1]);

  std::string buf, fault;
  bool canceled = false;
  time_t last_poll = time(nullptr), stopped_at = 0;
  int unanswered = 0;
  // stop_child() - a fault: SIGTERM the real backend (it cancels the device job).
  auto stop_child = [&](const std::string& why) {
    fault = why;
    kill(pid, SIGTERM);
    stopped_at = time(nullptr);
  };
  bool open_pipe = true;
  while (open_pipe) {
    if (g_sigterms && !canceled) canceled = true;
    struct pollfd pfd = {errpipe[0], POLLIN, 0};
    int n = poll(&pfd, 1, 500);
    if (n > 0) {
      char chunk[4096];
      ssize_t r = read(errpipe[0], chunk, sizeof chunk);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        open_pipe = false;
      } else {
        buf.append(chunk, static_cast<size_t>(r));
        size_t nl;
        while ((nl = buf.find('\n')) != std::string::npos) {
          std::string line = buf.substr(0, nl + 1);
          buf.erase(0, nl + 1);
          write_all(STDERR_FILENO, line.data(), line.size());  // relay STATE/ATTR/INFO... as is
          auto b = blocking_reasons(parse_state_line(line), qs.blocking_reasons);
          if (!b.empty() && fault.empty()) stop_child("printer reported " + b.front() + " while printing");
        }
      }
    }
    // Poll the printer too: not every backend reports the device's state. A
    // printer that stops answering (switched off, crashed) has not printed the
    // job: the real backend would wait for it, reconnect later, find no such
    // job and report success.
    if (fault.empty() && queryable_scheme(dev.scheme) && time(nullptr) - last_poll >= 2) {
      last_poll = time(nullptr);
      auto st = query_printer_state(dev.uri, 2);
      unanswered = st.answered ? 0 : unanswered + 1;
      auto b = st.answered ? blocking_reasons(st.reasons, qs.blocking_reasons) : std::vector<std::string>{};
      if (!b.empty()) stop_child("printer reported " + b.front() + " while printing");
      else if (unanswered >= 3) stop_child("printer stopped answering while printing (" + st.error + ")");
    }
    // A real backend that does not stop within 15 s of SIGTERM (a cancel to a
    // dead printer) is killed.
    if (stopped_at && time(nullptr) - stopped_at > 15) {
      kill(pid, SIGKILL);
      stopped_at = 0;
    }
  }
  if (!buf.empty()) write_all(STDERR_FILENO, buf.data(), buf.size());  // a last line without '\n'
  close(errpipe[0]);
  int wst = 0;
  while (waitpid(pid, &wst, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  if (g_sigterms) canceled = true;
  // A real backend that reports success just after the printer died (the ipp
  // backend gives up waiting for the job's state and exits 0) has not shown
  // that the job printed: ask the printer once more, and treat silence as an
  // interruption, like silence while the job was being sent.
  if (fault.empty() && !canceled && WIFEXITED(wst) && WEXITSTATUS(wst) == 0 && queryable_scheme(dev.scheme)) {
    auto st = query_printer_state(dev.uri, 2);
    if (!st.answered) fault = "printer stopped answering while printing (" + st.error + ")";
  }

  Outcome out;
  if (!fault.empty()) {
    audit->spend_releases(job.uuid);
    out = {"interrupted", fault, kBackendHold};
    log_error("job stopped and held again: " + fault + "; once the printer is fixed, release it again");
  } else if (canceled) {
    out = {"canceled", "canceled while sending", kBackendFailed};
  } else if (WIFSIGNALED(wst)) {
    out = {"failed", "backend " + dev.scheme + " killed by signal " + std::to_string(WTERMSIG(wst)), kBackendFailed};
  } else {
    int code = WEXITSTATUS(wst);
    if (code == 0) {
      out = {"sent", "sent to " + dev.scheme + ":", kBackendOk};
    } else {
      out = {"failed", "backend " + dev.scheme + " exited with status " + std::to_string(code),
             code <= kBackendRetryCurrent ? code : kBackendFailed};
      if (code == kBackendRetry || code == kBackendRetryCurrent) {
        // The device was busy: the job's release stays good for one more try.
        try {
          Release r = make_release(*key, job.uuid, job.job_id, job.user, job.queue, cfg.release_timeout, "retry");
          Mac m = release_mac(*key, r);
          audit->add_release(job.uuid, job.queue, r.expires, key->id, encode_release(r), std::string(m.begin(), m.end()));
        } catch (const Error&) {
          out.status = kBackendHold;
        }
      }
    }
  }
  try {
    record(out.event, out.detail);
  } catch (const Error& e) {
    log_error(std::string("cannot record in the audit store: ") + e.what());
  }
  return out.status;
}

}  // namespace pg
