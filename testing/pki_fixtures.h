#pragma once
// A CA and leaves issued through the real pki code, valid around the current
// time so OpenSSL's verifiers accept them: for the tests of pki and of what
// signs with it (registry).
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>

#include "pki/certificate.h"
#include "pki/key.h"
#include "testing/fake_clock.h"
#include "testing/unwrap.h"

namespace revoca::pki::fixtures {

struct Issued {
  PrivateKey key;
  Certificate cert;
};

inline const std::string kCrlUrl = "http://revoca.example:4664/crl-pem/tenant/mqtt-ca/1";
inline const std::string kOcspUrl = "http://revoca.example:4664/ocsp/tenant/mqtt-ca/";

inline Issued makeCa(const std::string& name, KeySpec spec = {}, const Issued* parent = nullptr,
                     std::optional<int> pathLength = std::nullopt) {
  PrivateKey key = testing::unwrap(PrivateKey::generate(spec));
  IssueRequest request;
  request.type = CertType::Authority;
  request.subject = {name, "revoca tests", "pki", "SE"};
  request.serialHex = newSerialHex();
  request.notBefore = testing::nowSeconds() - std::chrono::hours(1);
  request.notAfter = testing::nowSeconds() + std::chrono::hours(24 * 365);
  request.pathLength = pathLength;
  Certificate cert = testing::unwrap(issueCertificate(request, key, parent ? &parent->cert : nullptr,
                                             parent ? &parent->key : nullptr));
  return {key, cert};
}

inline IssueRequest leafRequest(const std::string& host, CertType type = CertType::Server) {
  IssueRequest request;
  request.type = type;
  request.subject.commonName = host;
  request.dnsNames = {host};
  request.ipAddresses = {"10.0.0.1", "2001:db8::1"};
  request.serialHex = newSerialHex();
  request.notBefore = testing::nowSeconds() - std::chrono::hours(1);
  request.notAfter = testing::nowSeconds() + std::chrono::hours(24 * 30);
  request.crlDistributionUrls = {kCrlUrl};
  request.ocspUrls = {kOcspUrl};
  return request;
}

inline Issued makeLeaf(const Issued& ca, const std::string& host,
                       CertType type = CertType::Server, KeySpec spec = {}) {
  PrivateKey key = testing::unwrap(PrivateKey::generate(spec));
  Certificate cert = testing::unwrap(issueCertificate(leafRequest(host, type), key, &ca.cert, &ca.key));
  return {key, cert};
}

inline bool haveOpensslCli() { return std::system("command -v openssl >/dev/null 2>&1") == 0; }

}  // namespace revoca::pki::fixtures
