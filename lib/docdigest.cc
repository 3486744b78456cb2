// docdigest.cc - the document digest: BLAKE2b-256 over 1 MiB leaves (libsodium).
#include "docdigest.h"

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>

#include "util.h"

namespace pg {

namespace {

const int kShrank = -1;  // read_errno_ when the file ended before its size

// init_state() - an unkeyed BLAKE2b-256 state with the given personalisation.
void init_state(crypto_generichash_blake2b_state* st, const char (&personal)[17]) {
  static const unsigned char salt[crypto_generichash_blake2b_SALTBYTES] = {};
  crypto_generichash_blake2b_init_salt_personal(st, nullptr, 0, 32, salt,
                                                reinterpret_cast<const unsigned char*>(personal));
}

// root_digest() - the digest of the leaf hashes and the document's length.
Digest root_digest(crypto_generichash_blake2b_state* root, uint64_t total) {
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = static_cast<unsigned char>(total >> (8 * i));
  crypto_generichash_blake2b_update(root, len, sizeof len);
  Digest d;
  crypto_generichash_blake2b_final(root, d.data(), d.size());
  return d;
}

// A leaf is read through a mapping of the file (no copy into a buffer: for a
// large document that copy costs a fifth of the hashing). A file cut short
// while mapped raises SIGBUS on the first page past its end; on_sigbus() then
// jumps back to the leaf that was being hashed, which reports the file shrank.
thread_local sigjmp_buf* t_bus_jump = nullptr;  // set while a mapping is hashed
thread_local const char* t_map_from = nullptr;
thread_local const char* t_map_to = nullptr;
struct sigaction g_previous_bus;  // the action on_sigbus() replaced

// on_sigbus() - SIGBUS handler: out of the hashing of a mapping that faulted,
// or else what was there before (by default, the end of the program).
void on_sigbus(int sig, siginfo_t* si, void*) {
  auto at = static_cast<const char*>(si->si_addr);
  if (t_bus_jump && at >= t_map_from && at < t_map_to) siglongjmp(*t_bus_jump, 1);
  sigaction(SIGBUS, &g_previous_bus, nullptr);
  raise(sig);
}

// guard_mappings() - install on_sigbus() (once per process); false if it cannot be.
bool guard_mappings() {
  static bool ok = [] {
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;  // NODEFER: left by siglongjmp, SIGBUS stays unblocked
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGBUS, &sa, &g_previous_bus) == 0;
  }();
  return ok;
}

}  // namespace

DigestStream::DigestStream() {
  init_state(&leaf_, kLeafPersonal);
  init_state(&root_, kRootPersonal);
}

void DigestStream::update(const void* data, size_t n) {
  auto p = static_cast<const unsigned char*>(data);
  total_ += n;
  while (n > 0) {
    size_t k = std::min(n, kDigestLeafBytes - in_leaf_);
    crypto_generichash_blake2b_update(&leaf_, p, k);
    in_leaf_ += k;
    p += k;
    n -= k;
    if (in_leaf_ == kDigestLeafBytes) {
      Digest h;
      crypto_generichash_blake2b_final(&leaf_, h.data(), h.size());
      crypto_generichash_blake2b_update(&root_, h.data(), h.size());
      init_state(&leaf_, kLeafPersonal);
      in_leaf_ = 0;
    }
  }
}

Digest DigestStream::final() {
  if (in_leaf_ > 0) {
    Digest h;
    crypto_generichash_blake2b_final(&leaf_, h.data(), h.size());
    crypto_generichash_blake2b_update(&root_, h.data(), h.size());
    in_leaf_ = 0;
  }
  return root_digest(&root_, total_);
}

FileDigest::FileDigest(const std::string& path, unsigned helpers) : path_(path) {
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd_ < 0 || fstat(fd_, &st) != 0) {
    int e = errno;
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
    throw Error("cannot read " + path + " to compute its digest: " + strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {  // a pipe or device has no size to cut into leaves
    close(fd_);
    fd_ = -1;
    throw Error("cannot compute the digest of " + path + ": not a regular file");
  }
  size_ = static_cast<uint64_t>(st.st_size);
  leaves_.resize((size_ + kDigestLeafBytes - 1) / kDigestLeafBytes);
  if (helpers == kHelpersForSize) helpers = helpers_for_file(size_);
  helpers = static_cast<unsigned>(std::min<size_t>(helpers, leaves_.size()));
  try {
    for (unsigned i = 0; i < helpers; i++) helpers_.emplace_back([this] { hash_leaves(); });
  } catch (const std::system_error&) {
    // No more threads to be had: get() hashes what the started ones do not.
  }
}

FileDigest::~FileDigest() {
  next_ = leaves_.size();  // helpers stop after their current leaf
  join();
  if (fd_ >= 0) close(fd_);
}

void FileDigest::join() {
  for (auto& t : helpers_)
    if (t.joinable()) t.join();
}

void FileDigest::hash_leaves() {
  // Where a leaf cannot be mapped: read in pieces that stay in the core's
  // cache while they are hashed.
  constexpr size_t kPiece = 128u << 10;
  std::unique_ptr<unsigned char[]> buf;
  for (;;) {
    size_t i = next_++;
    if (i >= leaves_.size() || read_errno_) return;
    uint64_t off = i * static_cast<uint64_t>(kDigestLeafBytes);
    uint64_t end = std::min<uint64_t>(off + kDigestLeafBytes, size_);
    if (hash_leaf_mapped(i, off, end)) continue;
    if (!buf) buf.reset(new unsigned char[kPiece]);
    crypto_generichash_blake2b_state st;
    init_state(&st, kLeafPersonal);
    while (off < end) {
      ssize_t n = pread(fd_, buf.get(), static_cast<size_t>(std::min<uint64_t>(kPiece, end - off)), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        int expected = 0;
        read_errno_.compare_exchange_strong(expected, n < 0 ? errno : kShrank);
        return;
      }
      crypto_generichash_blake2b_update(&st, buf.get(), static_cast<size_t>(n));
      off += static_cast<uint64_t>(n);
    }
    crypto_generichash_blake2b_final(&st, leaves_[i].data(), leaves_[i].size());
  }
}

bool FileDigest::hash_leaf_mapped(size_t i, uint64_t off, uint64_t end) {
  if (!guard_mappings()) return false;
  size_t len = static_cast<size_t>(end - off);
  void* map = mmap(nullptr, len, PROT_READ, MAP_SHARED, fd_, static_cast<off_t>(off));
  if (map == MAP_FAILED) return false;
  crypto_generichash_blake2b_state st;
  init_state(&st, kLeafPersonal);
  sigjmp_buf jump;
  bool cut = false;
  t_map_from = static_cast<const char*>(map);
  t_map_to = t_map_from + len;
  if (sigsetjmp(jump, 0) == 0) {
    t_bus_jump = &jump;
    crypto_generichash_blake2b_update(&st, static_cast<const unsigned char*>(map), len);
  } else {
    cut = true;  // a page past the file's new end
  }
  t_bus_jump = nullptr;
  munmap(map, len);
  // A file cut within the leaf's last page reads as zeros there, with no SIGBUS.
  struct stat now;
  if (!cut && (fstat(fd_, &now) != 0 || static_cast<uint64_t>(now.st_size) < end)) cut = true;
  if (cut) {
    int expected = 0;
    read_errno_.compare_exchange_strong(expected, kShrank);
  } else {
    crypto_generichash_blake2b_final(&st, leaves_[i].data(), leaves_[i].size());
  }
  return true;
}

Digest FileDigest::get() {
  if (done_) return result_;
  hash_leaves();
  join();
  if (int e = read_errno_.load())
    throw Error("cannot read " + path_ + " to compute its digest: " +
                (e == kShrank ? std::string("it shrank while being read") : strerror(e)));
  crypto_generichash_blake2b_state root;
  init_state(&root, kRootPersonal);
  for (auto& h : leaves_) crypto_generichash_blake2b_update(&root, h.data(), h.size());
  result_ = root_digest(&root, size_);
  done_ = true;
  return result_;
}

unsigned helpers_for_file(uint64_t bytes) {
  if (bytes <= (64u << 10)) return 0;
  unsigned cores = std::thread::hardware_concurrency();
  return cores > 2 ? cores - 1 : 1;
}

Digest digest_file(const std::string& path) { return FileDigest(path).get(); }

}  // namespace pg
