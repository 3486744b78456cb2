// leak.h - trace a leaked document: find the signature codes printed on each
// page of a PDF (Poppler text extraction) and verify each one.
#pragma once

#include <string>
#include <vector>

#include "verify.h"

namespace pg {

// find_codes() - signature-code candidates in text: 21 symbols in groups of
// 4-4-4-4-4-1, dashes or spaces between groups (as OCR gives them).
std::vector<std::string> find_codes(const std::string& text);

// pdf_page_texts() - the text of every page of a PDF (Poppler); throws Error.
std::vector<std::string> pdf_page_texts(const std::string& path);

// PageVerdict - the codes found on one page and what each is.
struct PageVerdict {
  int page = 0;
  std::vector<VerifyResult> codes;
};

// verify_pdf() - every page's codes, verified against the audit store and keys.
std::vector<PageVerdict> verify_pdf(const std::string& path, AuditStore& audit, const KeyStore& keys);

// verify_pdf_exit_status() - 0 every page carries a valid code; otherwise the
// worst: 3 forged, 2 mistyped, 5 redacted, 1 unknown or no code on a page.
int verify_pdf_exit_status(const std::vector<PageVerdict>& pages);

}  // namespace pg
