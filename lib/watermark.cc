// watermark.cc - the printguard-watermark filter.
#include "watermark.h"

#include <cerrno>
#include <memory>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin.h"
#include "audit.h"
#include "code.h"
#include "docdigest.h"
#include "keys.h"
#include "log.h"
#include "pdftext.h"
#include "record.h"
#include "stamp.h"
#include "template.h"
#include "util.h"

namespace pg {

namespace {

// TempFile - a private temporary file in $TMPDIR, removed on scope exit.
class TempFile {
 public:
  TempFile() {
    const char* dir = getenv("TMPDIR");
    path_ = std::string(dir && *dir ? dir : "/tmp") + "/printguard-XXXXXX";
    fd_ = mkstemp(path_.data());
    if (fd_ < 0) throw Error("cannot create a temporary file in " + path_.substr(0, path_.rfind('/')) + ": " + strerror(errno));
  }
  ~TempFile() {
    if (fd_ >= 0) close(fd_);
    unlink(path_.c_str());
  }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

// copy_fd() - copy everything from in to out (at most `limit` bytes: beyond it
// fail with EFBIG), adding it to digest if given.
bool copy_fd(int in, int out, DigestStream* digest, long long limit = -1) {
  char buf[1 << 16];
  long long total = 0;
  for (;;) {
    ssize_t n = read(in, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    total += n;
    if (limit >= 0 && total > limit) {
      errno = EFBIG;
      return false;
    }
    if (digest) digest->update(buf, static_cast<size_t>(n));
    if (out >= 0 && !write_all(out, buf, static_cast<size_t>(n))) return false;
  }
}

// send_document() - write the file at path, then tail if given, to out_fd (in
// the kernel with sendfile where it can), its blocks allocated at once where
// out_fd is a file (the size is known); false with errno set on failure,
// ENOSPC before anything is written if there is no room.
bool send_document(const std::string& path, int out_fd, const ChunkedBuffer* tail = nullptr) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = fstat(fd, &st) == 0 &&
            reserve_output(out_fd, static_cast<long long>(st.st_size) + (tail ? static_cast<long long>(tail->size()) : 0));
  off_t off = 0;
  while (ok && off < st.st_size) {
    ssize_t n = sendfile(out_fd, fd, &off, static_cast<size_t>(std::min<off_t>(st.st_size - off, 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && off == 0 && (errno == EINVAL || errno == ENOSYS)) break;  // not supported: copy below
    if (n <= 0) ok = false;
  }
  if (ok && off < st.st_size) ok = lseek(fd, off, SEEK_SET) == off && copy_fd(fd, out_fd, nullptr);
  int e = errno;
  close(fd);
  errno = e;
  return ok && (!tail || tail->write_to(out_fd));
}

}  // namespace

std::vector<std::string> apply_user_options(QueueSettings& s, const std::map<std::string, std::string>& options) {
  std::vector<std::string> msgs;
  const std::string prefix = "printguard-";
  for (auto& [name, value] : options) {
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    std::string opt = name.substr(prefix.size());
    bool known = false;
    for (auto& k : user_option_names()) known = known || k == opt;
    if (!known) {
      msgs.push_back("job option " + name + " is not a printguard option; ignored");
      continue;
    }
    if (!s.user_options.count(opt)) {
      msgs.push_back("job option " + name + " is not allowed on this queue (UserOptions); ignored");
      continue;
    }
    if (opt == "watermark") {
      // Users may only turn an optional watermark off or on; a required one stays
      // required whatever they ask ("on" would make failures print unstamped).
      auto v = lower(trim(value));
      if (s.mode == WatermarkMode::Required) {
        if (v != "required")
          msgs.push_back("job option printguard-watermark=" + value + " ignored: the watermark is required on this queue");
        continue;
      }
      if (v == "required") continue;
    }
    try {
      apply_queue_option(s, opt, value);
    } catch (const Error& e) {
      msgs.push_back("job option " + name + " ignored: " + e.what());
    }
  }
  return msgs;
}

std::string format_job_date(long long t, const std::string& fmt, const std::string& tz) {
  std::string old;
  const char* o = getenv("TZ");
  bool had = o != nullptr;
  if (had) old = o;
  if (!tz.empty() && tz != "local") setenv("TZ", tz == "UTC" ? "UTC0" : tz.c_str(), 1);
  tzset();
  time_t tt = static_cast<time_t>(t);
  struct tm tm {};
  localtime_r(&tt, &tm);
  char buf[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
  // The format is the administrator's DateFormat, validated for length.
  size_t n = strftime(buf, sizeof buf, fmt.c_str(), &tm);
#pragma GCC diagnostic pop
  if (had) setenv("TZ", old.c_str(), 1); else unsetenv("TZ");
  tzset();
  return std::string(buf, n);
}

int run_watermark_filter(const std::vector<std::string>& argv, int in_fd, int out_fd) {
  JobInfo job;
  Config cfg;
  try {
    job = parse_job_args(argv);
    cfg = load_config_default();
    crypto_init();  // before any libsodium call, on this thread
  } catch (const Error& e) {
    log_error(e.what());
    return 1;
  }
  QueueSettings s = cfg.for_queue(job.queue);
  for (auto& m : apply_user_options(s, job.options)) log_warning(m);

  // The input must be a seekable file for qpdf: spool stdin first.
  std::unique_ptr<TempFile> spool;
  std::string input = job.input;
  DigestStream spool_digest;
  try {
    if (input.empty()) {
      spool = std::make_unique<TempFile>();
      // Bounded: a document larger than MaxDocumentSize never fills the disk.
      // Digested in the same pass (the digest is of exactly the bytes spooled).
      if (!copy_fd(in_fd, spool->fd(), &spool_digest, s.max_document_bytes))
        throw Error(errno == EFBIG ? "the document is larger than MaxDocumentSize " + std::to_string(s.max_document_bytes) +
                                         " bytes; nothing printed"
                                   : std::string("cannot spool the document: ") + strerror(errno));
      input = spool->path();
    }
  } catch (const Error& e) {
    log_error(e.what());
    return 1;
  }

  struct stat in_st;
  if (stat(input.c_str(), &in_st) == 0 && in_st.st_size > s.max_document_bytes) {
    std::string why = "the document is " + std::to_string(in_st.st_size) + " bytes, larger than MaxDocumentSize " +
                      std::to_string(s.max_document_bytes);
    if (s.mode == WatermarkMode::Required) {
      log_error("job stopped, nothing printed: " + why);
      return 1;
    }
    log_warning(why);
  }

  if (s.mode == WatermarkMode::Off) {
    log_info("watermark is off for queue " + job.queue + "; document passed through");
    return send_document(input, out_fd) ? 0 : 1;
  }

  // The document digest (the slowest step for large files) is computed on
  // helper threads while keys, audit store and PDF are opened; the first
  // page's stamp text waits for it, since the signature covers it.
  Digest spooled{};
  if (spool) spooled = spool_digest.final();
  try {
    std::unique_ptr<FileDigest> file_digest;
    if (!spool) file_digest = std::make_unique<FileDigest>(input);
    KeyStore keys(cfg.key_dir);
    Key key = keys.current();
    // The store is opened, and the stamp's record written, on a thread of its
    // own while the document is stamped; nothing is output before finish().
    AuditWriter audit(cfg.audit_db, cfg.syslog, key, [&cfg, &key](AuditStore& a) { note_config_change(a, key, cfg); });
    TempFile out;
    long long now = time(nullptr);
    char server[256] = "";
    gethostname(server, sizeof server - 1);

    SignedRecord rec;
    rec.key_id = key.id;
    rec.job_uuid = job.uuid;
    rec.job_id = job.job_id;
    rec.owner = job.user;
    rec.queue = job.queue;
    rec.host = job.host;
    rec.time_utc = utc_iso8601(now);
    rec.title_hidden = s.hide_titles;
    rec.title = s.hide_titles ? title_hash(key, job.title) : job.title;
    std::string code;
    Mac mac{};
    std::map<std::string, std::string> vars = {
        {"user", job.user},
        {"date", format_job_date(now, s.date_format, s.time_zone)},
        {"queue", job.queue},
        {"host", job.host.empty() ? "unknown" : job.host},
        {"server", server},
        {"job", std::to_string(job.job_id)},
        {"uuid", job.uuid},
        {"title", s.hide_titles ? "(title hidden)" : job.title},
    };
    // The text with every variable but ${page} expanded, cut where ${page} goes.
    std::vector<std::string> around_page;
    // Page 1's text is asked for first, on this thread: it signs (again, if a
    // retry counted the pages otherwise). The other pages' texts may then be
    // asked for on two threads at once: they only read.
    auto text_for_page = [&](int page, int pages) {
      if (code.empty() || rec.pages != pages) {
        rec.doc_digest = file_digest ? file_digest->get() : spooled;
        rec.pages = pages;
        mac = sign_record(key, rec);
        code = make_code(key.id, mac);
        vars["code"] = code;
        vars["pages"] = std::to_string(pages);
        around_page = expand_template_around(s.tmpl, vars, "page");
      }
      std::string number = std::to_string(page), text = around_page[0];
      for (size_t k = 1; k < around_page.size(); k++) text += number + around_page[k];
      return text;
    };
    // stamp_event() - the audit record of the stamp signed last.
    auto stamp_event = [&] {
      AuditEvent ev;
      ev.time_utc = rec.time_utc;
      ev.event = "stamp";
      ev.user = job.user;
      ev.queue = job.queue;
      ev.host = job.host;
      ev.job_id = job.job_id;
      ev.job_uuid = job.uuid;
      ev.title = s.hide_titles ? "" : job.title;
      ev.title_hidden = s.hide_titles;
      if (s.hide_titles) ev.title_h = rec.title;
      ev.pages = rec.pages;
      ev.code = code;
      ev.key_id = key.id;
      ev.mac.assign(reinterpret_cast<const char*>(mac.data()), mac.size());
      ev.record = encode_record(rec);
      return ev;
    };
    std::string recorded;  // the code whose record was handed to the audit writer
    // Ordinary files: the output is the input's bytes plus an appended update.
    ChunkedBuffer update;
    StampOptions opt;
    opt.update = &update;
    opt.keep_parsed_document = true;  // the filter exits when the output is written
    // Once the incremental update is certain, its record is written while the
    // update's bytes are laid out (the full rewrite's, once it is written).
    opt.on_update_certain = [&](int) {
      audit.add(stamp_event());
      recorded = code;
    };
    StampResult r = stamp_pdf(input, out.path(), s, text_for_page, opt);
    if (r.pages != rec.pages) throw Error("the stamp was signed for " + std::to_string(rec.pages) + " pages, not " +
                                          std::to_string(r.pages));
    if (recorded != code) audit.add(stamp_event());
    if (!r.incremental) log_debug("whole file rewritten: " + r.full_rewrite_reason);
    if (r.incremental)
      log_debug(std::to_string(r.plain_pages) + " of " + std::to_string(r.pages) +
                " page(s) read straight from the file, the others by qpdf");
    if (!r.replaced.empty()) {
      std::string list;
      for (size_t i = 0; i < r.replaced.size() && i < 10; i++) list += (i ? " " : "") + codepoint_name(r.replaced[i]);
      log_warning("the watermark font cannot show " + std::to_string(r.replaced.size()) + " character(s) (" + list +
                  "); printed as '?'");
    }
    for (auto& w : r.warnings) log_warning("repaired damaged PDF: " + w);

    audit.finish();

    bool sent = r.incremental ? send_document(input, out_fd, &update) : send_document(out.path(), out_fd);
    if (!sent) {
      log_error(std::string("cannot write the stamped document: ") + strerror(errno));
      return 1;
    }
    log_info("stamped " + std::to_string(r.pages) + " page(s); signature " + code);
    return 0;
  } catch (const Error& e) {
    if (s.mode == WatermarkMode::Required) {
      log_error(std::string("job stopped, nothing printed: ") + e.what());
      return 1;
    }
    log_warning(std::string("watermark not applied (Watermark On, not Required): ") + e.what());
    return send_document(input, out_fd) ? 0 : 1;
  }
}

}  // namespace pg
