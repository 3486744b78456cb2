// pin.cc - PIN hashing with argon2id.
#include "pin.h"

#include <sodium.h>

#include "util.h"

namespace pg {

void validate_pin(const std::string& pin) {
  if (pin.size() < 4 || pin.size() > 32) throw Error("a PIN has 4 to 32 digits");
  for (char c : pin)
    if (c < '0' || c > '9') throw Error("a PIN has digits only");
}

std::string pin_hash(const std::string& pin) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, pin.data(), pin.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0)
    throw Error("cannot hash the PIN (out of memory?)");
  return out;
}

bool pin_verify(const std::string& hash, const std::string& pin) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES || pin.empty() || pin.size() > 32) return false;
  return crypto_pwhash_str_verify(hash.c_str(), pin.data(), pin.size()) == 0;
}

}  // namespace pg
