// pdftext.h - text for PDF content: UTF-8 to WinAnsi (Helvetica), escaping, widths.
#pragma once

#include <string>
#include <vector>

namespace pg {

// WinAnsiText - encoded bytes plus the code points the font could not show.
struct WinAnsiText {
  std::string bytes;
  std::vector<char32_t> replaced;  // each shown as '?'; U+FFFD for invalid UTF-8
};

// encode_winansi() - UTF-8 to WinAnsiEncoding; unmappable characters become '?'.
WinAnsiText encode_winansi(const std::string& utf8);

// pdf_literal() - a PDF literal string "(...)" for bytes: backslash, parentheses
// and every byte outside printable ASCII are escaped.
std::string pdf_literal(const std::string& bytes);

// helvetica_width() - width in points of WinAnsi bytes set in Helvetica at size.
double helvetica_width(const std::string& bytes, double size);

// codepoint_name() - "U+XXXX" for log messages.
std::string codepoint_name(char32_t c);

}  // namespace pg
