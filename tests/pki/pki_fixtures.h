#pragma once
// Shared fixtures for the pki tests: a CA and leaves issued through the real
// code, valid around the current time so OpenSSL's verifiers accept them.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include "pki/certificate.h"
#include "pki/key.h"

namespace revoca::pki::fixtures {

// Tests may throw; GoogleTest reports the message as the failure.
template <typename T>
T unwrap(Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}

inline TimePoint nowSeconds() {
  return std::chrono::time_point_cast<Seconds>(std::chrono::system_clock::now());
}

struct Issued {
  PrivateKey key;
  Certificate cert;
};

inline const std::string kCrlUrl = "http://revoca.example:4664/crl-pem/tenant/mqtt-ca/1";
inline const std::string kOcspUrl = "http://revoca.example:4664/ocsp/tenant/mqtt-ca/";

inline Issued makeCa(const std::string& name, KeySpec spec = {}, const Issued* parent = nullptr,
                     std::optional<int> pathLength = std::nullopt) {
  PrivateKey key = unwrap(PrivateKey::generate(spec));
  IssueRequest request;
  request.type = CertType::Authority;
  request.subject = {name, "revoca tests", "pki", "SE"};
  request.serialHex = newSerialHex();
  request.notBefore = nowSeconds() - std::chrono::hours(1);
  request.notAfter = nowSeconds() + std::chrono::hours(24 * 365);
  request.pathLength = pathLength;
  Certificate cert = unwrap(issueCertificate(request, key, parent ? &parent->cert : nullptr,
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
  request.notBefore = nowSeconds() - std::chrono::hours(1);
  request.notAfter = nowSeconds() + std::chrono::hours(24 * 30);
  request.crlDistributionUrls = {kCrlUrl};
  request.ocspUrls = {kOcspUrl};
  return request;
}

inline Issued makeLeaf(const Issued& ca, const std::string& host,
                       CertType type = CertType::Server, KeySpec spec = {}) {
  PrivateKey key = unwrap(PrivateKey::generate(spec));
  Certificate cert = unwrap(issueCertificate(leafRequest(host, type), key, &ca.cert, &ca.key));
  return {key, cert};
}

inline void writeFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

inline std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A fresh directory under /tmp, removed by the destructor.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/revoca-pki-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline bool haveOpensslCli() { return std::system("command -v openssl >/dev/null 2>&1") == 0; }

}  // namespace revoca::pki::fixtures
