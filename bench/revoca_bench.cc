// revoca_bench: the in-process halves of bench/issuance.py and bench/crl.py.
// It drives revoca's own code (AuthorityService on a FileStateStore, the
// CaRegistry, pki::signCrl) on the CA of a declaration directory, and prints
// one JSON object of figures on stdout. Not built by default:
//   cmake --build build --target revoca_bench
//
//   revoca_bench issue --declarations DIR --state DIR [--count 2000]
//   revoca_bench crl   --declarations DIR --state DIR [--repeat 5]
//   revoca_bench ocsp  --declarations DIR --state DIR [--count 2000]
//
// `issue` times AuthorityService::issue, the path a VaultSecret and
// `revocactl issue-cert` take (P-256 key, signing, PEM, durable ledger
// append), and the CPU time it used, then each step alone. `crl` loads the CA's ledger and revocations
// from STATE as a restart does, signs its CRL with pki::signCrl, then times
// one more revocation through AuthorityService::revoke (append, registry,
// new CRL). `ocsp` answers an OCSP request with a nonce (signed for it)
// through CaRegistry::ocsp, the responder's path without HTTP, and signs a
// digest alone with the CA's key as `openssl speed` does: what an answer
// costs beside its signature. All write to STATE: give them a copy.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include "declarations/parse.h"
#include "reconcilers/authority_service.h"
#include "reconcilers/crl_retention.h"
#include "standalone/file_state_store.h"
#include "testing/ocsp_request_builder.h"

namespace revoca {
namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void die(const std::string& message) {
  std::cerr << "revoca_bench: " << message << "\n";
  std::exit(1);
}

template <typename T>
T unwrap(Result<T> result, const std::string& what) {
  if (!result) die(what + ": " + result.error().message);
  return std::move(*result);
}

void check(Result<void> result, const std::string& what) {
  if (!result) die(what + ": " + result.error().message);
}

// CPU time of this process: on a shared machine, a figure the others'
// disk writes do not move (the ledger's fsync waits without using any).
double cpuSeconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The first CertificateAuthority of the declarations, reconciled on STATE.
struct Fixture {
  SystemClock clock;
  std::unique_ptr<FileStateStore> store;
  std::unique_ptr<CaRegistry> registry;
  std::unique_ptr<AuthorityService> service;
  ObjectKey ca;

  Fixture(const std::string& declarations, const std::string& state) {
    DeclarationSet set = loadDeclarationDirectory(declarations);
    if (set.authorities.empty()) die(declarations + ": no CertificateAuthority");
    const CertificateAuthority& declaration = set.authorities.front();
    ca = declaration.key();
    store = unwrap(FileStateStore::open(state), "--state " + state);
    registry = std::make_unique<CaRegistry>(clock);
    service = std::make_unique<AuthorityService>(*store, *registry, clock);
    TenantInfo tenant{ca.namespace_, unwrap(store->tenantUuid(ca.namespace_), "tenant")};
    registry->setTenant(tenant.name, tenant.uuid);
    unwrap(service->reconcileCa(declaration, tenant), "reconciling " + ca.str());
  }
  const ActiveCa& active() const { return *service->active(ca); }
};

nlohmann::json benchIssue(Fixture& fixture, int count) {
  nlohmann::json out;
  const ActiveCa& ca = fixture.active();
  LeafRequest leaf{"", {}, pki::CertType::Client, Seconds(86400)};

  auto start = Clock::now();
  double cpuStart = cpuSeconds();
  for (int i = 0; i < count; ++i) {
    leaf.host = "client-" + std::to_string(i) + ".bench";
    unwrap(fixture.service->issue(fixture.ca, leaf), "issuing");
  }
  double total = secondsSince(start);
  out["count"] = count;
  out["seconds"] = total;
  out["certsPerSecond"] = count / total;
  out["cpuMicroseconds"] = (cpuSeconds() - cpuStart) / count * 1e6;

  // Each step alone, on the same inputs issue() builds.
  std::map<std::string, double> steps;
  std::vector<pki::PrivateKey> keys;
  start = Clock::now();
  for (int i = 0; i < count; ++i) keys.push_back(unwrap(pki::PrivateKey::generate(ca.spec.key), "key"));
  steps["keygen"] = secondsSince(start);

  const CaVersionMaterial& signer = ca.current();
  pki::IssueRequest request;
  request.type = pki::CertType::Client;
  request.notBefore = fixture.clock.now();
  request.notAfter = request.notBefore + Seconds(86400);
  request.crlDistributionUrls = ca.crlUrls(signer.version);
  request.ocspUrls = ca.ocspUrls(signer.version);
  std::vector<pki::SignedCertificate> certs;
  start = Clock::now();
  for (int i = 0; i < count; ++i) {
    request.subject.commonName = "client-" + std::to_string(i) + ".bench";
    request.dnsNames = {request.subject.commonName};
    request.serialHex = pki::newSerialHex();
    certs.push_back(unwrap(pki::signCertificate(request, keys[i], &signer.cert, &signer.key), "signing"));
  }
  steps["sign"] = secondsSince(start);

  std::size_t bytes = 0;
  start = Clock::now();
  for (int i = 0; i < count; ++i) bytes += keys[i].toPem().size();  // the certificate's PEM is signCertificate's
  steps["pem"] = secondsSince(start);

  ObjectKey ledgerOnly{ca.key.namespace_, ca.key.name + "-ledger-only"};
  start = Clock::now();
  for (int i = 0; i < count; ++i) {
    IssuedCertificate issued{certs[i].serialHex, signer.version, certs[i].notAfter, "client.bench"};
    check(fixture.store->appendIssued(ledgerOnly, issued), "appending to the ledger");
  }
  steps["ledger"] = secondsSince(start);
  for (const auto& [name, seconds] : steps) out["stepMicroseconds"][name] = seconds / count * 1e6;
  out["keyPemBytes"] = bytes / count;
  return out;
}

nlohmann::json benchOcsp(Fixture& fixture, int count) {
  nlohmann::json out;
  const ActiveCa& ca = fixture.active();
  const CaVersionMaterial& signer = ca.current();
  LeafRequest leafRequest{"client.bench", {}, pki::CertType::Client, Seconds(86400)};
  IssuedLeaf leaf = unwrap(fixture.service->issue(fixture.ca, leafRequest), "issuing");
  pki::Certificate leafCert = unwrap(pki::Certificate::fromPem(leaf.certPem), "the leaf");
  // A request with a nonce, as `openssl ocsp` sends it.
  std::string request =
      testing::OcspRequestBuilder().add(OCSP_cert_to_id(nullptr, leafCert.get(), signer.cert.get())).nonce().der();
  // The signature alone: one context, a SHA-256 digest signed again and again.
  EVP_PKEY_CTX* context = EVP_PKEY_CTX_new_from_pkey(nullptr, signer.key.get(), nullptr);
  if (!context || EVP_PKEY_sign_init(context) != 1) die("preparing the signing context");
  auto signAlone = [&] {
    unsigned char digest[32] = {1, 2, 3};
    unsigned char signature[512];
    double start = cpuSeconds();
    for (int i = 0; i < count; ++i) {
      std::size_t length = sizeof signature;
      if (EVP_PKEY_sign(context, signature, &length, digest, sizeof digest) != 1) die("signing");
      digest[0] = static_cast<unsigned char>(i);
    }
    return (cpuSeconds() - start) / count * 1e6;
  };
  std::size_t answerBytes = 0;
  auto answers = [&] {
    double start = cpuSeconds();
    for (int i = 0; i < count; ++i) {
      auto reply = fixture.registry->ocsp(fixture.ca.namespace_, fixture.ca.name, request);
      if (reply.outcome != responder::OcspOutcome::Good) die("the OCSP answer is not Good");
      answerBytes = reply.der.size();
    }
    return (cpuSeconds() - start) / count * 1e6;
  };
  // Alternated, five times each, the lowest kept: on a shared machine
  // others' work only ever adds.
  double sign = 1e9, answer = 1e9;
  for (int round = 0; round < 5; ++round) {
    sign = std::min(sign, signAlone());
    answer = std::min(answer, answers());
  }
  EVP_PKEY_CTX_free(context);
  out["count"] = count;
  out["answerMicroseconds"] = answer;  // parse, look up, build, sign, encode
  out["signMicroseconds"] = sign;
  out["answerBytes"] = answerBytes;
  return out;
}

nlohmann::json benchCrl(Fixture& fixture, int repeat) {
  nlohmann::json out;
  const ActiveCa& ca = fixture.active();
  const CaVersionMaterial& signer = ca.current();

  // What a restart does before it can sign: read the ledger and revocations
  // and index them (the Fixture already did once; this times it again).
  auto start = Clock::now();
  auto ledger = unwrap(fixture.store->loadLedger(fixture.ca), "ledger");
  auto revocations = unwrap(fixture.store->loadRevocations(fixture.ca), "revocations");
  out["loadFilesSeconds"] = secondsSince(start);
  start = Clock::now();
  CaRegistry fresh(fixture.clock);
  fresh.loadHistory(fixture.ca, ledger, revocations);
  out["indexSeconds"] = secondsSince(start);
  out["ledgerEntries"] = ledger.size();
  out["revocations"] = revocations.size();

  start = Clock::now();
  std::vector<pki::RevokedEntry> entries = fixture.registry->crlEntries(
      fixture.ca, signer.version, fixture.clock.now(), crlRetentionAfterExpiry(ca.spec.crlValidity));
  out["crlEntriesSeconds"] = secondsSince(start);
  out["entries"] = entries.size();
  // What a cluster's leader adds to each CRL: the digest it records with
  // the number, which a follower computes again before signing under it.
  start = Clock::now();
  pki::Sha256 digest = pki::entriesDigest(entries);
  out["entriesDigestSeconds"] = secondsSince(start);
  (void)digest;

  pki::CrlRequest request;
  request.entries = std::move(entries);
  request.thisUpdate = fixture.clock.now();
  request.nextUpdate = request.thisUpdate + ca.spec.crlValidity;
  auto urls = ca.crlUrls(signer.version);
  if (!urls.empty()) request.issuingDistributionPointUrl = urls.front();
  request.digest = ca.spec.digest;
  std::vector<double> times;
  pki::SignedCrl crl;
  for (int i = 0; i < repeat; ++i) {
    start = Clock::now();
    crl = unwrap(pki::signCrl(request, signer.cert, signer.key), "signing the CRL");
    times.push_back(secondsSince(start));
  }
  out["signCrlSeconds"] = median(times);
  out["signCrlSecondsMin"] = *std::min_element(times.begin(), times.end());
  out["derBytes"] = crl.der.size();
  out["pemBytes"] = crl.pem.size();

  // One more revocation, as `revocactl revoke-cert` makes it: durable append,
  // registry, and a new CRL signed before it returns.
  auto leaf = unwrap(fixture.service->issue(fixture.ca, LeafRequest{"revoked.bench", {}, pki::CertType::Client,
                                                                    Seconds(86400)}),
                     "issuing");
  start = Clock::now();
  Revocation revocation{leaf.serialHex, fixture.clock.now(), pki::RevocationReason::KeyCompromise, std::nullopt};
  if (!unwrap(fixture.service->revoke(fixture.ca, revocation), "revoking")) die("the serial was already revoked");
  out["revokeSeconds"] = secondsSince(start);
  auto published = fixture.registry->crlOf(fixture.ca, signer.version);
  out["revokedCrlBytes"] = published ? published->der.size() : 0;
  return out;
}

int run(int argc, char** argv) {
  if (argc < 2) die("usage: revoca_bench issue|crl|ocsp --declarations DIR --state DIR [--count N] [--repeat N]");
  std::string mode = argv[1];
  std::map<std::string, std::string> flags{{"--count", "2000"}, {"--repeat", "5"}};
  for (int i = 2; i + 1 < argc; i += 2) flags[argv[i]] = argv[i + 1];
  if (!flags.count("--declarations") || !flags.count("--state")) die("--declarations and --state are required");
  auto start = Clock::now();
  Fixture fixture(flags["--declarations"], flags["--state"]);
  double setup = secondsSince(start);
  nlohmann::json out;
  if (mode == "issue") {
    out = benchIssue(fixture, std::stoi(flags["--count"]));
  } else if (mode == "crl") {
    out = benchCrl(fixture, std::stoi(flags["--repeat"]));
  } else if (mode == "ocsp") {
    out = benchOcsp(fixture, std::stoi(flags["--count"]));
  } else {
    die("unknown mode " + mode + "; use issue, crl or ocsp");
  }
  out["setupSeconds"] = setup;  // reading the state, reconciling the CA and signing its first CRL
  std::cout << out.dump() << "\n";
  return 0;
}

}  // namespace
}  // namespace revoca

int main(int argc, char** argv) { return revoca::run(argc, argv); }
