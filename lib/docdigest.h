// docdigest.h - the document digest a signed record carries: BLAKE2b-256 over
// 1 MiB leaves, so a large document is hashed on every core at once.
//
// Definition (printguard-watermark(8), "Document digest"): the bytes are cut into leaves of
// kDigestLeafBytes (the last may be shorter; an empty document has none). Each
// leaf is hashed with unkeyed BLAKE2b-256, personalisation kLeafPersonal; the
// digest is unkeyed BLAKE2b-256, personalisation kRootPersonal, of the leaf
// hashes in order followed by the document's length as 8 bytes little-endian.
#pragma once

#include <sodium.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace pg {

using Digest = std::array<unsigned char, 32>;

constexpr size_t kDigestLeafBytes = 1u << 20;
// Personalisations (BLAKE2b's 16-byte parameter), leaf and root apart.
constexpr char kLeafPersonal[17] = "printguard-leaf1";
constexpr char kRootPersonal[17] = "printguard-root1";

// DigestStream - the document digest of bytes given in order, on this thread.
class DigestStream {
 public:
  DigestStream();
  // update() - add the next n bytes.
  void update(const void* p, size_t n);
  // final() - the digest of everything given; the stream is then spent.
  Digest final();

 private:
  crypto_generichash_blake2b_state leaf_;
  crypto_generichash_blake2b_state root_;
  size_t in_leaf_ = 0;
  uint64_t total_ = 0;
};

// FileDigest - the document digest of a file, its leaves hashed by `helpers`
// background threads from construction and by the caller of get().
class FileDigest {
 public:
  static constexpr unsigned kHelpersForSize = ~0u;  // as many as helpers_for_file() says
  // Opens path; throws Error if it cannot be opened or is not a regular file.
  explicit FileDigest(const std::string& path, unsigned helpers = kHelpersForSize);
  ~FileDigest();
  FileDigest(const FileDigest&) = delete;
  FileDigest& operator=(const FileDigest&) = delete;
  // get() - hash what is left, wait for the helpers, return the digest;
  // throws Error if the file could not be read whole.
  Digest get();

 private:
  void hash_leaves();  // claim and hash leaves until none is left
  void join();

  int fd_ = -1;
  std::string path_;
  uint64_t size_ = 0;
  std::vector<Digest> leaves_;
  std::atomic<size_t> next_{0};
  std::atomic<int> read_errno_{0};
  std::vector<std::thread> helpers_;
  bool done_ = false;
  Digest result_{};
};

// helpers_for_file() - background threads worth starting for a file of `bytes`:
// none for a small one (a thread costs more than it saves), else one fewer
// than the cores (the caller of get() hashes too), at least one.
unsigned helpers_for_file(uint64_t bytes);

// digest_file() - the document digest of a file, on every core.
Digest digest_file(const std::string& path);

}  // namespace pg
