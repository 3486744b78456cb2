// lazy_gnutls.cc - GnuTLS's crypto entry points for a filter linked with the
// static libqpdf: each forwards to the shared GnuTLS, loaded on first use.
//
// qpdf calls GnuTLS only to decrypt or encrypt a PDF, to make a new file /ID
// (MD5) and for random bytes. Loading GnuTLS (and its eight libraries) at every
// start would cost the filter more than stamping a short document; loading it
// when qpdf first needs it costs nothing on the usual incremental path. No
// cryptography is done here: every call is GnuTLS's own. If GnuTLS cannot be
// loaded, each call fails with a GnuTLS error code, which qpdf reports as an
// exception: the document is not printed (fail closed).
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <string>

#include "lazylib.h"

#ifndef PG_GNUTLS_SONAME
#error "PG_GNUTLS_SONAME (GnuTLS's soname) comes from configure"
#endif

namespace {

// gnutls() - the shared GnuTLS, loaded when qpdf first calls it.
pg::LazyLibrary& gnutls() {
  static pg::LazyLibrary lib(PG_GNUTLS_SONAME);
  return lib;
}

// load_error() - why GnuTLS could not be loaded, for gnutls_strerror().
const char* load_error() {
  static const std::string why = "printguard: " + gnutls().error() + " (qpdf needs it for this document)";
  return why.c_str();
}

}  // namespace

// Each function below has GnuTLS's prototype (from its headers, so the compiler
// checks it) and calls the function of the same name in the shared GnuTLS.
#define PG_REAL(name) static const auto fn = gnutls().symbol<decltype(&name)>(#name)

extern "C" {

int gnutls_hash_init(gnutls_hash_hd_t* dig, gnutls_digest_algorithm_t algorithm) {
  PG_REAL(gnutls_hash_init);
  return fn ? fn(dig, algorithm) : GNUTLS_E_CRYPTO_INIT_FAILED;
}

int gnutls_hash(gnutls_hash_hd_t handle, const void* text, size_t textlen) {
  PG_REAL(gnutls_hash);
  return fn ? fn(handle, text, textlen) : GNUTLS_E_CRYPTO_INIT_FAILED;
}

void gnutls_hash_deinit(gnutls_hash_hd_t handle, void* digest) {
  PG_REAL(gnutls_hash_deinit);
  if (fn) fn(handle, digest);  // a handle exists only if GnuTLS was loaded
}

int gnutls_cipher_init(gnutls_cipher_hd_t* handle, gnutls_cipher_algorithm_t cipher, const gnutls_datum_t* key,
                       const gnutls_datum_t* iv) {
  PG_REAL(gnutls_cipher_init);
  return fn ? fn(handle, cipher, key, iv) : GNUTLS_E_CRYPTO_INIT_FAILED;
}

int gnutls_cipher_encrypt2(gnutls_cipher_hd_t handle, const void* ptext, size_t ptext_len, void* ctext,
                           size_t ctext_len) {
  PG_REAL(gnutls_cipher_encrypt2);
  return fn ? fn(handle, ptext, ptext_len, ctext, ctext_len) : GNUTLS_E_CRYPTO_INIT_FAILED;
}

int gnutls_cipher_decrypt2(gnutls_cipher_hd_t handle, const void* ctext, size_t ctext_len, void* ptext,
                           size_t ptext_len) {
  PG_REAL(gnutls_cipher_decrypt2);
  return fn ? fn(handle, ctext, ctext_len, ptext, ptext_len) : GNUTLS_E_CRYPTO_INIT_FAILED;
}

void gnutls_cipher_deinit(gnutls_cipher_hd_t handle) {
  PG_REAL(gnutls_cipher_deinit);
  if (fn) fn(handle);
}

size_t gnutls_cipher_get_key_size(gnutls_cipher_algorithm_t algorithm) {
  PG_REAL(gnutls_cipher_get_key_size);
  return fn ? fn(algorithm) : 0;
}

int gnutls_rnd(gnutls_rnd_level_t level, void* data, size_t len) {
  PG_REAL(gnutls_rnd);
  return fn ? fn(level, data, len) : GNUTLS_E_CRYPTO_INIT_FAILED;
}

const char* gnutls_strerror(int error) {
  PG_REAL(gnutls_strerror);
  return fn ? fn(error) : load_error();
}

}  // extern "C"
