#pragma once
// X.509 certificates: issuing CA and leaf certificates, PEM/DER round trips,
// and the facts status and the ledger need (serial, validity).
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "pki/key.h"

typedef struct x509_st X509;

namespace revoca::pki {

class Certificate {
 public:
  static Result<Certificate> fromPem(const std::string& pem);  // first cert in the text
  static Result<std::vector<Certificate>> allFromPem(const std::string& pem);
  static Result<Certificate> fromDer(const std::string& der);

  std::string toPem() const;
  std::string toDer() const;
  std::string serialHex() const;  // upper-case hex, no leading zeros, e.g. "4F0A..."
  TimePoint notBefore() const;
  TimePoint notAfter() const;
  std::string subjectCommonName() const;
  std::string subjectNameDer() const;           // DER of the subject Name
  std::string publicKeyBitString() const;       // the key bytes OCSP's issuerKeyHash hashes
  bool signedByItsOwnKey() const;               // a root: its own public key verifies its signature
  X509* get() const { return cert_.get(); }

 private:
  explicit Certificate(std::shared_ptr<X509> cert) : cert_(std::move(cert)) {}
  std::shared_ptr<X509> cert_;  // shared: immutable once signed
};

enum class CertType { Server, Client, Authority };

struct Subject {
  std::string commonName;
  std::string organization;        // optional
  std::string organizationalUnit;  // optional
  std::string country;             // optional, two letters
};

struct IssueRequest {
  CertType type = CertType::Server;
  Subject subject;
  std::vector<std::string> dnsNames;     // subjectAltName DNS entries
  std::vector<std::string> ipAddresses;  // subjectAltName IP entries
  std::string serialHex;                 // from newSerialHex()
  TimePoint notBefore;
  TimePoint notAfter;
  Digest digest = Digest::Sha256;
  std::vector<std::string> crlDistributionUrls;  // CRL Distribution Points
  std::vector<std::string> ocspUrls;             // Authority Information Access OCSP
  std::optional<int> pathLength;                 // Authority only
};

// A certificate as its issuer hands it out, with the facts the ledger keeps.
struct SignedCertificate {
  std::string der;
  std::string pem;
  std::string serialHex;  // as Certificate::serialHex() reads it
  TimePoint notBefore;    // whole seconds, as the certificate holds them
  TimePoint notAfter;
};

// Signs `request` for `subjectKey`. With no issuer the certificate is
// self-signed (a root CA). Extensions: basicConstraints (critical), keyUsage
// (critical), extendedKeyUsage (serverAuth or clientAuth, leaf only),
// subjectKeyIdentifier, authorityKeyIdentifier, subjectAltName, CRL DP, AIA.
Result<Certificate> issueCertificate(const IssueRequest& request, const PrivateKey& subjectKey,
                                     const Certificate* issuerCert, const PrivateKey* issuerKey);
// The same, without parsing the result back into a Certificate: under
// OpenSSL 3.0, d2i_X509 decodes the public key through an OSSL_DECODER, 1.5M
// instructions, six ECDSA signatures. For leaves, which revoca only hands out.
Result<SignedCertificate> signCertificate(const IssueRequest& request, const PrivateKey& subjectKey,
                                          const Certificate* issuerCert, const PrivateKey* issuerKey);

// 16 random bytes, first bit clear (positive, RFC 5280 allows 20 octets).
std::string newSerialHex();

// Canonical form of a serial typed by a person: upper case, no "0x", no
// colons, no leading zeros. Error if it is not hex.
Result<std::string> normalizeSerialHex(const std::string& text);
// True when `text` is exactly what normalizeSerialHex returns for it: 1 to
// 40 digits 0-9 A-F, no leading zero but for "0". Allocates nothing, for
// readers of 100,000s of stored serials.
bool isNormalizedSerialHex(std::string_view text);

// True when `key` is the private half of the public key `cert` carries.
bool keyMatchesCertificate(const Certificate& cert, const PrivateKey& key);

}  // namespace revoca::pki
