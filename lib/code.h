// code.h - human-typeable signature codes: key id + 80 bits of MAC + check character,
// in Crockford base32 (no I, L, O, U), grouped by four.
#pragma once

#include <string>

#include "keys.h"

namespace pg {

constexpr size_t kCodeMacChars = 16;  // 80 bits

// code_alphabet() - the 32 symbols, in value order.
const std::string& code_alphabet();

// code_check_char() - Luhn mod 32 check symbol over the symbols of s.
char code_check_char(const std::string& s);

// make_code() - "KKKK-MMMM-MMMM-MMMM-MMMM-C" from a key id and a MAC.
std::string make_code(const std::string& key_id, const Mac& mac);

// mac_prefix_symbols() - the first 80 bits of mac as 16 symbols.
std::string mac_prefix_symbols(const Mac& mac);

enum class CodeStatus { Ok, Malformed, BadCheck };

// parse_code() - normalise what a person typed (case, dashes, spaces, O/0 and I/L/1)
// and check it. On Ok, `canonical` is the grouped form.
CodeStatus parse_code(const std::string& typed, std::string& canonical);

}  // namespace pg
