// leak.cc - signature codes in leaked PDFs.
#include "leak.h"

#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <memory>
#include <regex>

#include "util.h"

namespace pg {

namespace {

// quiet_poppler() - Poppler's own error messages say nothing useful to our users.
void quiet_poppler(const std::string&, void*) {}

}  // namespace

std::vector<std::string> find_codes(const std::string& raw) {
  // Typographic dashes (U+2010 to U+2015, U+2212) as text extraction or OCR
  // may give them become '-' first: std::regex works on bytes.
  std::string text;
  for (size_t i = 0; i < raw.size(); i++) {
    auto b = [&](size_t k) { return static_cast<unsigned char>(raw[k]); };
    if (i + 2 < raw.size() && b(i) == 0xE2 && b(i + 1) == 0x80 && b(i + 2) >= 0x90 && b(i + 2) <= 0x95) {
      text.push_back('-');
      i += 2;
    } else if (i + 2 < raw.size() && b(i) == 0xE2 && b(i + 1) == 0x88 && b(i + 2) == 0x92) {
      text.push_back('-');
      i += 2;
    } else {
      text.push_back(raw[i]);
    }
  }
  static const std::regex re(
      R"((?:^|[^0-9A-Za-z])([0-9A-Za-z]{4}(?:[ \t]*[- ][ \t]*[0-9A-Za-z]{4}){4}[ \t]*[- ][ \t]*[0-9A-Za-z])(?![0-9A-Za-z]))");
  std::vector<std::string> out;
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it) out.push_back((*it)[1]);
  return out;
}

std::vector<std::string> pdf_page_texts(const std::string& path) {
  poppler::set_debug_error_function(quiet_poppler, nullptr);
  std::unique_ptr<poppler::document> doc(poppler::document::load_from_file(path));
  if (!doc) throw Error(path + " is not a readable PDF");
  if (doc->is_locked()) throw Error(path + " is encrypted with a password");
  std::vector<std::string> texts;
  for (int i = 0; i < doc->pages(); i++) {
    std::unique_ptr<poppler::page> p(doc->create_page(i));
    if (!p) {
      texts.emplace_back();
      continue;
    }
    auto utf8 = p->text().to_utf8();
    texts.emplace_back(utf8.begin(), utf8.end());
  }
  return texts;
}

std::vector<PageVerdict> verify_pdf(const std::string& path, AuditStore& audit, const KeyStore& keys) {
  std::vector<PageVerdict> out;
  auto texts = pdf_page_texts(path);
  for (size_t i = 0; i < texts.size(); i++) {
    PageVerdict v;
    v.page = static_cast<int>(i + 1);
    for (auto& c : find_codes(texts[i])) v.codes.push_back(verify_code(c, audit, keys));
    out.push_back(std::move(v));
  }
  return out;
}

int verify_pdf_exit_status(const std::vector<PageVerdict>& pages) {
  // Worse outcomes win: forged, then mistyped, redacted, unknown or no code.
  auto rank = [](int status) { return status == 3 ? 4 : status == 2 ? 3 : status == 5 ? 2 : status == 1 ? 1 : 0; };
  int worst = pages.empty() ? 1 : 0;
  for (auto& p : pages) {
    bool any = false;
    for (auto& c : p.codes) {
      if (c.status == VerifyStatus::Malformed) continue;
      any = true;
      int s = verify_exit_status(c.status);
      if (rank(s) > rank(worst)) worst = s;
    }
    if (!any && rank(1) > rank(worst)) worst = 1;  // a page without any code
  }
  return worst;
}

}  // namespace pg
