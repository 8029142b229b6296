#pragma once
// The one CA every OCSP and HTTP fuzz target answers for: a real CaRegistry
// (the responder's RevocationSource in production) holding a fixed test CA,
// a few issued and revoked serials, a signed CRL and its trust bundle, built
// once per process.
//
// The CA is fixed rather than generated so that the committed seed requests
// (fuzz/make_seeds.py) name it by its hashes and reach the answering code,
// not only the "unauthorized" branch.
#include <memory>
#include <string>

#include "registry/ca_registry.h"
#include "testing/fake_clock.h"

namespace revoca::fuzz {

// The names the registry knows the CA by: /ocsp/default/fuzz-ca/...,
// /ocsp/<kTenantUuid>/fuzz-ca/..., /crl/default/fuzz-ca/1, /ca/default/fuzz-ca.
inline constexpr const char* kTenant = "default";
inline constexpr const char* kTenantUuid = "0c7d2a4e-5b1f-4e8a-9c3d-6f0e1a2b3c4d";
inline constexpr const char* kCaName = "fuzz-ca";

struct FuzzAuthority {
  // Stuck (const) at 2027-01-01T00:00:00Z: the same input always takes the
  // same path (answer caching, max-age), so a finding replays exactly.
  const testing::FakeClock clock{fromUnixSeconds(1798761600)};
  std::shared_ptr<CaRegistry> registry;
};

// Built on first use; aborts with a message if the embedded CA is unusable.
const FuzzAuthority& fuzzAuthority();

}  // namespace revoca::fuzz
