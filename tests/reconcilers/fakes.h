#pragma once
// Test doubles for the reconcilers: an in-memory StateStore, an output sink
// that records what it was handed, and gmock mocks of the ports (and the
// clock) where the calls themselves are what a test checks. The clock a test
// moves is testing/fake_clock.h; the status sink that records is
// testing/recording_status_sink.h (the metrics' tests use it too).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "pki/digest.h"
#include "ports/outputs.h"
#include "ports/state_store.h"
#include "testing/recording_status_sink.h"

namespace revoca::testing {

constexpr Seconds kDay{86400};
constexpr Seconds kHour{3600};

class MockClock : public Clock {
 public:
  MOCK_METHOD(TimePoint, now, (), (const, override));
};

// Everything in maps; counts the writes so tests can tell "nothing happened".
class FakeStateStore : public StateStore {
 public:
  Result<std::string> tenantUuid(const std::string& namespace_) override {
    auto& uuid = tenants[namespace_];
    if (uuid.empty()) {
      char text[37];
      std::snprintf(text, sizeof text, "00000000-0000-4000-8000-%012zx", tenants.size());
      uuid = text;
    }
    return uuid;
  }
  Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) override {
    if (loadCaError) return makeError(*loadCaError);
    auto it = cas.find(ca);
    if (it == cas.end()) return std::optional<CaRecord>();
    return std::optional<CaRecord>(it->second);
  }
  Result<void> saveCa(const ObjectKey& ca, const CaRecord& record) override {
    if (failSaveCa) return makeError("disk full");
    ++saveCaCalls;
    cas[ca] = record;
    return {};
  }
  Result<std::optional<CrlStamp>> stampCrl(const ObjectKey& ca, int version, const CrlStamp& draft) override {
    if (followsStamps) {  // as a replica that does not lead: the leader's stamp, if any
      auto it = stamps.find({ca, version});
      return it == stamps.end() ? std::nullopt : std::optional(it->second);
    }
    CrlStamp stamp = draft;
    stamp.number = ++crlNumbers[ca];
    stamps[{ca, version}] = stamp;
    return std::optional(stamp);
  }
  Result<void> saveCrl(const ObjectKey& ca, int version, const pki::SignedCrl& crl) override {
    savedCrls[ca][version] = crl;
    return {};
  }
  Result<std::map<int, pki::SignedCrl>> loadCrls(const ObjectKey& ca) override { return savedCrls[ca]; }
  Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) override {
    if (loadLedgerError) return makeError(*loadLedgerError);
    return ledgers[ca];
  }
  Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) override {
    if (failAppendIssued) return makeError("disk full");
    ledgers[ca].push_back(issued);
    return {};
  }
  Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) override { return revocations[ca]; }
  Result<void> appendRevocation(const ObjectKey& ca, const Revocation& revocation) override {
    revocations[ca].push_back(revocation);
    return {};
  }
  Result<std::vector<CrlListing>> loadCrlListings(const ObjectKey& ca) override { return crlListings[ca]; }
  Result<void> appendCrlListing(const ObjectKey& ca, const CrlListing& listing) override {
    if (failAppendCrlListing) return makeError("disk full");
    crlListings[ca].push_back(listing);
    return {};
  }
  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& vaultSecret) override {
    auto it = secrets.find(vaultSecret);
    if (it == secrets.end()) return std::optional<SecretRecord>();
    SecretRecord record = it->second;
    if (keepsPemsOut) {  // as SecretStateStore keeps them
      record.certDigest = pki::sha256(record.certPem);
      record.keyDigest = pki::sha256(record.keyPem);
      record.certPem.clear();
      record.keyPem.clear();
    }
    return std::optional<SecretRecord>(record);
  }
  Result<std::optional<SecretRecord>> loadSecretWithPems(const ObjectKey& vaultSecret) override {
    ++loadSecretWithPemsCalls;
    auto it = secrets.find(vaultSecret);
    if (it == secrets.end()) return std::optional<SecretRecord>();
    return std::optional<SecretRecord>(it->second);
  }
  Result<void> saveSecret(const ObjectKey& vaultSecret, const SecretRecord& record) override {
    ++saveSecretCalls;
    secrets[vaultSecret] = record;
    return {};
  }

  std::map<std::string, std::string> tenants;
  std::map<ObjectKey, CaRecord> cas;
  std::map<ObjectKey, std::uint64_t> crlNumbers;
  std::map<std::pair<ObjectKey, int>, CrlStamp> stamps;  // the last stamp of each version
  bool followsStamps = false;  // stampCrl gives `stamps`, makes none
  std::map<ObjectKey, std::map<int, pki::SignedCrl>> savedCrls;
  std::map<ObjectKey, std::vector<IssuedCertificate>> ledgers;
  std::map<ObjectKey, std::vector<Revocation>> revocations;
  std::map<ObjectKey, std::vector<CrlListing>> crlListings;
  std::map<ObjectKey, SecretRecord> secrets;
  int saveCaCalls = 0;
  int saveSecretCalls = 0;
  int loadSecretWithPemsCalls = 0;
  bool keepsPemsOut = false;  // loadSecret gives records without their PEMs
  bool failSaveCa = false;
  bool failAppendIssued = false;
  bool failAppendCrlListing = false;
  std::optional<std::string> loadCaError;      // loadCa fails with this message
  std::optional<std::string> loadLedgerError;  // loadLedger fails with this message
};

class RecordingOutputSink : public OutputSink {
 public:
  struct Secret {
    std::string namespace_, deployment;
    SecretFiles files;
  };
  struct Bundle {
    std::string namespace_, deployment, caName, pem;
  };
  struct Env {
    std::string namespace_, deployment;
    std::vector<EnvVar> env;
  };

  Result<std::optional<KeyFileAccess>> publishSecret(const std::string& namespace_, const std::string& deployment,
                                                     const SecretFiles& files) override {
    secrets.push_back({namespace_, deployment, files});
    return keyFile;
  }
  Result<void> publishCaBundle(const std::string& namespace_, const std::string& deployment,
                               const std::string& caName, const std::string& pem) override {
    bundles.push_back({namespace_, deployment, caName, pem});
    return {};
  }
  Result<EmqxEnvFacts> publishEmqxEnv(const EmqxOutput& emqx) override {
    envs.push_back({emqx.namespace_, emqx.deployment, emqx.env});
    return EmqxEnvFacts{};
  }

  std::vector<Secret> secrets;
  std::vector<Bundle> bundles;
  std::vector<Env> envs;
  std::optional<KeyFileAccess> keyFile;  // what publishSecret answers
};

class MockOutputSink : public OutputSink {
 public:
  MOCK_METHOD((Result<std::optional<KeyFileAccess>>), publishSecret,
              (const std::string& namespace_, const std::string& deployment, const SecretFiles& files), (override));
  MOCK_METHOD(Result<void>, publishCaBundle,
              (const std::string& namespace_, const std::string& deployment, const std::string& caName,
               const std::string& pem),
              (override));
  MOCK_METHOD((Result<EmqxEnvFacts>), publishEmqxEnv, (const EmqxOutput& emqx), (override));
};

class MockStatusSink : public StatusSink {
 public:
  MOCK_METHOD(void, report, (Kind kind, const ObjectMeta& meta, const ObjectStatus& status), (override));
};

}  // namespace revoca::testing
