// Certificate accessors and serial numbers; issuing is in issue.cc.
#include "pki/certificate.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdlib>
#include <string_view>

#include "core/text.h"
#include "pki/openssl_util.h"

namespace revoca::pki {

Result<Certificate> Certificate::fromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (cert == nullptr) return opensslFailure("no PEM certificate found");
  return Certificate(std::shared_ptr<X509>(cert, X509_free));
}

Result<std::vector<Certificate>> Certificate::allFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return opensslFailure("reading PEM certificates");
  std::vector<Certificate> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.push_back(Certificate(std::shared_ptr<X509>(cert, X509_free)));
  }
  // Running out of PEM blocks ends the loop with "no start line"; any other
  // reason means a block was there but broken.
  unsigned long last = ERR_peek_last_error();
  bool endOfText = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (!endOfText || certs.empty()) {
    return opensslFailure(certs.empty() ? "no PEM certificate found"
                                        : "broken PEM certificate after " +
                                              std::to_string(certs.size()) + " good ones");
  }
  ERR_clear_error();
  return certs;
}

Result<Certificate> Certificate::fromDer(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) return opensslFailure("not a DER certificate");
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return makeError("not a DER certificate: trailing bytes after it");
  }
  return Certificate(std::shared_ptr<X509>(cert.release(), X509_free));
}

std::string Certificate::toPem() const {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1) {
    opensslError();
    return "";
  }
  return bioContents(bio.get());
}

std::string Certificate::toDer() const { return derOf(i2d_X509, cert_.get()); }

std::string Certificate::serialHex() const {
  return serialHexOf(X509_get0_serialNumber(cert_.get()));
}

TimePoint Certificate::notBefore() const {
  auto t = fromAsn1Time(X509_get0_notBefore(cert_.get()));
  return t ? *t : TimePoint{};
}

TimePoint Certificate::notAfter() const {
  auto t = fromAsn1Time(X509_get0_notAfter(cert_.get()));
  return t ? *t : TimePoint{};
}

std::string Certificate::subjectCommonName() const {
  X509_NAME* name = X509_get_subject_name(cert_.get());
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, value);
  if (len < 0) {
    opensslError();
    return "";
  }
  std::string out(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

std::string Certificate::subjectNameDer() const {
  return derOf(i2d_X509_NAME, X509_get_subject_name(cert_.get()));
}

std::string Certificate::publicKeyBitString() const {
  const ASN1_BIT_STRING* bits = X509_get0_pubkey_bitstr(cert_.get());
  if (bits == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(bits)),
                     static_cast<std::size_t>(ASN1_STRING_length(bits)));
}

bool Certificate::signedByItsOwnKey() const {
  EVP_PKEY* key = X509_get0_pubkey(cert_.get());
  if (key != nullptr && X509_verify(cert_.get(), key) == 1) return true;
  ERR_clear_error();  // "bad signature" is the answer here, not a failure to report later
  return false;
}

std::string newSerialHex() {
  unsigned char bytes[16];
  do {
    // A predictable serial would weaken every certificate signed with it
    // (RFC 5280 asks for unpredictable ones); without randomness there is
    // nothing safe left to do.
    if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();
    bytes[0] &= 0x7F;  // positive as a DER INTEGER
    // A first nibble of 0 would make the text non-canonical (serialHex()
    // drops leading zeros); redrawing keeps every serial 32 digits long.
  } while (bytes[0] < 0x10);
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 0x0F];
  }
  return out;
}

Result<std::string> normalizeSerialHex(const std::string& text) {
  // Called once per CRL entry, so the happy path allocates only the result.
  auto fail = [&text](const char* problem) {
    return makeError("serial " + quotedText(text, 80) + " " + problem);
  };
  std::size_t begin = text.find_first_not_of(" \t\r\n");
  std::size_t end = text.find_last_not_of(" \t\r\n");
  std::string_view s;
  if (begin != std::string::npos) s = std::string_view(text).substr(begin, end - begin + 1);
  if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  std::string digits;
  digits.reserve(s.size());
  for (char c : s) {
    if (c == ':') continue;  // as printed by openssl x509 -text
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
    bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
    if (!hex) {
      return fail("is not hexadecimal: use digits 0-9 and A-F, optionally with 0x or colons");
    }
    if (c == '0' && digits.empty()) continue;  // leading zero
    digits += c;
  }
  if (digits.empty()) {
    bool anyDigit = s.find_first_not_of(':') != std::string_view::npos;
    if (!anyDigit) return fail("is empty: give it in hexadecimal");
    digits = "0";
  }
  if (digits.size() > 40) return fail("is longer than 20 octets (RFC 5280 4.1.2.2)");
  return digits;
}

bool isNormalizedSerialHex(std::string_view text) {
  if (text.empty() || text.size() > 40) return false;
  if (text[0] == '0') return text.size() == 1;
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

bool keyMatchesCertificate(const Certificate& cert, const PrivateKey& key) {
  EVP_PKEY* certKey = X509_get0_pubkey(cert.get());
  bool equal = certKey != nullptr && key.get() != nullptr && EVP_PKEY_eq(certKey, key.get()) == 1;
  opensslError();  // a mismatch may leave a reason queued; the answer is the bool
  return equal;
}

}  // namespace revoca::pki
