// keys.h - site keys (libsodium): loading with permission checks, generation, MACs.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace pg {

constexpr size_t kKeyBytes = 32;
constexpr size_t kMacBytes = 32;
using Mac = std::array<unsigned char, kMacBytes>;

// Key - one site key; the bytes are wiped when the object dies.
struct Key {
  std::string id;
  std::array<unsigned char, kKeyBytes> bytes{};
  ~Key();
};

// crypto_init() - initialise libsodium once; throws Error if it cannot.
void crypto_init();

// valid_key_id() - 4 characters of the signature-code alphabet.
bool valid_key_id(const std::string& id);

// hmac() - HMAC-SHA-256 of data under key, with a domain-separation label.
Mac hmac(const Key& key, const std::string& label, const std::string& data);

// sha256() - SHA-256 of data.
std::array<unsigned char, 32> sha256(const std::string& data);

// mac_equal() - constant-time comparison.
bool mac_equal(const unsigned char* a, const unsigned char* b, size_t n);

// KeyStore - the key directory: ID.key files plus "current" naming the signing key.
class KeyStore {
 public:
  explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}
  // load() - the key with this id; refuses unsafe files (see check_key_file).
  Key load(const std::string& id) const;
  // current() - the key named by the "current" file.
  Key current() const;
  // generate() - make a new key (random id unless given), mode 0640 owner root group lp
  // when run as root; never overwrites. Makes it current unless activate is false.
  std::string generate(const std::string& id, bool activate) const;
  // list() - ids of all keys in the directory.
  std::vector<std::string> list() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// check_key_file() - throws Error unless fd is a regular file owned by root or by
// us, not writable by group or others and not readable by others.
void check_key_file(int fd, const std::string& path);

}  // namespace pg
