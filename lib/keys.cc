// keys.cc - site keys and MACs, on libsodium.
#include "keys.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include "code.h"
#include "util.h"

namespace pg {

Key::~Key() { sodium_memzero(bytes.data(), bytes.size()); }

void crypto_init() {
  if (sodium_init() < 0) throw Error("cannot initialise libsodium");
}

bool valid_key_id(const std::string& id) {
  if (id.size() != 4) return false;
  for (char c : id)
    if (code_alphabet().find(c) == std::string::npos) return false;
  return true;
}

Mac hmac(const Key& key, const std::string& label, const std::string& data) {
  crypto_auth_hmacsha256_state st;
  Mac out;
  crypto_auth_hmacsha256_init(&st, key.bytes.data(), key.bytes.size());
  // Length-prefix the label so label/data boundaries cannot shift.
  unsigned char len[4] = {static_cast<unsigned char>(label.size() >> 24), static_cast<unsigned char>(label.size() >> 16),
                          static_cast<unsigned char>(label.size() >> 8), static_cast<unsigned char>(label.size())};
  crypto_auth_hmacsha256_update(&st, len, 4);
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(label.data()), label.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  crypto_auth_hmacsha256_final(&st, out.data());
  sodium_memzero(&st, sizeof st);
  return out;
}

std::array<unsigned char, 32> sha256(const std::string& data) {
  std::array<unsigned char, 32> out;
  crypto_hash_sha256(out.data(), reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

bool mac_equal(const unsigned char* a, const unsigned char* b, size_t n) { return sodium_memcmp(a, b, n) == 0; }

// octal() - a mode as 4 octal digits.
static std::string octal(mode_t m) {
  char buf[8];
  snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

void check_key_file(int fd, const std::string& path) {
  struct stat st;
  if (fstat(fd, &st) != 0) throw Error("cannot stat key file " + path + ": " + strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error("key file " + path + " is not a regular file");
  if (st.st_uid != 0 && st.st_uid != geteuid())
    throw Error("key file " + path + " is owned by uid " + std::to_string(st.st_uid) +
                ", not root; run: chown root:lp " + path);
  if (st.st_mode & 0027)
    throw Error("key file " + path + " has unsafe permissions " + octal(st.st_mode) +
                " (group-writable or accessible by others); run: chmod 0640 " + path);
}

Key KeyStore::load(const std::string& id) const {
  if (!valid_key_id(id)) throw Error("invalid key id \"" + printable(id) + "\"");
  std::string path = dir_ + "/" + id + ".key";
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ELOOP) throw Error("key file " + path + " is a symbolic link; refusing it");
    throw Error("cannot open key file " + path + ": " + strerror(errno) +
                (errno == ENOENT ? " (create one with: printguard keygen)" : ""));
  }
  char buf[256];
  ssize_t n;
  try {
    check_key_file(fd, path);
    n = read(fd, buf, sizeof buf - 1);
  } catch (...) {
    close(fd);
    throw;
  }
  close(fd);
  if (n < 0) throw Error("cannot read key file " + path);
  std::string text = trim(std::string(buf, static_cast<size_t>(n)));
  sodium_memzero(buf, sizeof buf);
  std::vector<unsigned char> raw;
  if (!unhex(text, raw) || raw.size() != kKeyBytes) {
    sodium_memzero(text.data(), text.size());
    throw Error("key file " + path + " is damaged: expected 64 hex digits");
  }
  Key k;
  k.id = id;
  std::copy(raw.begin(), raw.end(), k.bytes.begin());
  sodium_memzero(raw.data(), raw.size());
  sodium_memzero(text.data(), text.size());
  return k;
}

Key KeyStore::current() const {
  std::string path = dir_ + "/current";
  std::string id;
  try {
    id = trim(read_file(path, 64));
  } catch (const Error& e) {
    throw Error(std::string("no current signing key: ") + e.what() + " (create one with: printguard keygen)");
  }
  return load(id);
}

std::vector<std::string> KeyStore::list() const {
  std::vector<std::string> ids;
  DIR* d = opendir(dir_.c_str());
  if (!d) return ids;
  while (auto* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.size() == 8 && n.substr(4) == ".key" && valid_key_id(n.substr(0, 4))) ids.push_back(n.substr(0, 4));
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::string KeyStore::generate(const std::string& want_id, bool activate) const {
  crypto_init();
  std::string id = want_id;
  if (!id.empty() && !valid_key_id(id))
    throw Error("invalid key id \"" + printable(id) + "\": use 4 characters from " + code_alphabet());
  if (mkdir(dir_.c_str(), 0750) != 0 && errno != EEXIST)
    throw Error("cannot create key directory " + dir_ + ": " + strerror(errno));
  struct group* lp = getgrnam("lp");
  if (geteuid() == 0 && lp) {
    if (chown(dir_.c_str(), 0, lp->gr_gid) != 0) {
      // keep going: the key file's own mode is what matters
    }
  }
  for (int attempt = 0; attempt < 32; attempt++) {
    if (want_id.empty()) {
      id.clear();
      for (int i = 0; i < 4; i++) id.push_back(code_alphabet()[randombytes_uniform(32)]);
    }
    std::string path = dir_ + "/" + id + ".key";
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) {
      if (!want_id.empty()) throw Error("key " + id + " already exists in " + dir_ + "; refusing to overwrite it");
      continue;
    }
    if (fd < 0) throw Error("cannot create key file " + path + ": " + strerror(errno));
    unsigned char raw[kKeyBytes];
    randombytes_buf(raw, sizeof raw);
    std::string text = hex(raw, sizeof raw) + "\n";
    sodium_memzero(raw, sizeof raw);
    bool ok = write_all(fd, text.data(), text.size()) && fsync(fd) == 0;
    sodium_memzero(text.data(), text.size());
    if (ok && geteuid() == 0 && lp) ok = fchown(fd, 0, lp->gr_gid) == 0;
    if (ok) ok = fchmod(fd, 0640) == 0;
    close(fd);
    if (!ok) {
      unlink(path.c_str());
      throw Error("cannot write key file " + path + ": " + strerror(errno));
    }
    if (activate) {
      std::string cur = dir_ + "/current", tmp = cur + ".tmp";
      int cf = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
      std::string line = id + "\n";
      if (cf < 0 || !write_all(cf, line.data(), line.size()) || fsync(cf) != 0 || close(cf) != 0 ||
          rename(tmp.c_str(), cur.c_str()) != 0)
        throw Error("key " + id + " created but could not be made current: " + strerror(errno));
    }
    return id;
  }
  throw Error("could not find a free key id in " + dir_);
}

}  // namespace pg
