#include "fuzz/fuzz_authority.h"

#include <cstdio>
#include <cstdlib>

#include "pki/certificate.h"
#include "pki/crl.h"
#include "pki/key.h"
#include "pki/ocsp.h"

namespace revoca::fuzz {
namespace {

// A throwaway P-256 CA made for these targets only (openssl req -x509, valid
// 2026-2126). It signs nothing outside the fuzzers; fuzz/make_seeds.py
// writes the same PEMs out to build the seed requests.
constexpr const char* kCaCertPem = R"(
-----BEGIN CERTIFICATE-----
MIIBvjCCAWWgAwIBAgICDw8wCgYIKoZIzj0EAwIwNTEXMBUGA1UEAwwOcmV2b2Nh
IGZ1enogQ0ExGjAYBgNVBAoMEXJldm9jYSBmdXp6IHRlc3RzMCAXDTI2MTEyNzA5
MjcwOFoYDzIxMjYxMTAzMDkyNzA4WjA1MRcwFQYDVQQDDA5yZXZvY2EgZnV6eiBD
QTEaMBgGA1UECgwRcmV2b2NhIGZ1enogdGVzdHMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATtEOfpPonFUAo6KGz9vPTIkiaXEUVNTmNcbss6dgN+m/oKTq23/LDK
P4HGosAGRpd/bQZu+KhM5DJ+6MBCMaRso2MwYTAdBgNVHQ4EFgQUkrmpZ7xFgJfv
0SnT5PwmQD9mvFswHwYDVR0jBBgwFoAUkrmpZ7xFgJfv0SnT5PwmQD9mvFswDwYD
VR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAYYwCgYIKoZIzj0EAwIDRwAwRAIg
Qu1lOP6hCBtDPKvskoHhNHOQ9mawrQGXCMJSyTdhS7UCIDwe+sE2wu0sgbHVmTrQ
NM9Tab0CWo90KaHmOutgldn0
-----END CERTIFICATE-----)";

constexpr const char* kCaKeyPem = R"(
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgcojtpFthroj6XJbK
nxYcrqmNd00G54TsoojcWwN/WcyhRANCAATtEOfpPonFUAo6KGz9vPTIkiaXEUVN
TmNcbss6dgN+m/oKTq23/LDKP4HGosAGRpd/bQZu+KhM5DJ+6MBCMaRs
-----END PRIVATE KEY-----)";

[[noreturn]] void die(const std::string& why) {
  std::fprintf(stderr, "fuzz_authority: %s\n", why.c_str());
  std::abort();
}

template <typename T>
T need(Result<T> result, const char* what) {
  if (!result) die(std::string(what) + ": " + result.error().message);
  return std::move(result).value();
}

FuzzAuthority* build() {
  auto* out = new FuzzAuthority;  // lives for the process, like a responder's registry
  pki::Certificate cert = need(pki::Certificate::fromPem(kCaCertPem), "the embedded CA certificate");
  pki::PrivateKey key = need(pki::PrivateKey::fromPem(kCaKeyPem), "the embedded CA key");
  TimePoint now = out->clock.now();

  auto registry = std::make_shared<CaRegistry>(out->clock);
  ObjectKey ca{kTenant, kCaName};
  registry->setTenant(kTenant, kTenantUuid);
  registry->setAuthority(ca, {CaVersionMaterial{1, cert, key, pki::issuerHashesOf(cert)}},
                         AuthoritySettings{pki::Digest::Sha256, Seconds(3600)});
  // Serials 1001 (good), 1002 (revoked, keyCompromise), 1003 (revoked, no
  // reason); 1004 was never issued (unknown), but 1005 was revoked anyway.
  for (const char* serial : {"1001", "1002", "1003"})
    registry->recordIssued(ca, IssuedCertificate{serial, 1, now + Seconds(86400 * 30), "fuzz leaf"});
  registry->recordRevocation(ca, Revocation{"1002", now - Seconds(600), pki::RevocationReason::KeyCompromise, {}});
  registry->recordRevocation(ca, Revocation{"1003", now - Seconds(60), pki::RevocationReason::Unspecified, {}});
  registry->recordRevocation(ca, Revocation{"1005", now - Seconds(60), pki::RevocationReason::Superseded, {}});

  pki::CrlRequest crl;
  crl.entries = registry->crlEntries(ca, 1, now, Seconds(86400));
  crl.crlNumber = 7;
  crl.thisUpdate = now;
  crl.nextUpdate = now + Seconds(86400);
  registry->setCrl(ca, 1, need(pki::signCrl(crl, cert, key), "signing the fuzz CA's CRL"));
  registry->setTrustBundle(ca, cert.toPem());
  registry->markReady();
  out->registry = std::move(registry);
  return out;
}

}  // namespace

const FuzzAuthority& fuzzAuthority() {
  static const FuzzAuthority* authority = build();
  return *authority;
}

}  // namespace revoca::fuzz
