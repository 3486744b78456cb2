// pin.h - release-station PINs: argon2id hashes (libsodium crypto_pwhash).
#pragma once

#include <string>

namespace pg {

// validate_pin() - throws Error unless the PIN is 4 to 32 digits.
void validate_pin(const std::string& pin);

// pin_hash() - an argon2id hash string ("$argon2id$...") of the PIN.
std::string pin_hash(const std::string& pin);

// pin_verify() - whether pin matches hash (constant time, inside libsodium).
bool pin_verify(const std::string& hash, const std::string& pin);

}  // namespace pg
