#pragma once
// What a replica that does not lead reconciles with: it reads the state the
// leader wrote, so its responder answers OCSP and serves CRLs too, but it
// writes nothing (the leader alone writes, or two replicas would hand out
// the same CRL number or rotate a CA twice).
#include <functional>

#include "ports/outputs.h"
#include "ports/state_store.h"

namespace revoca::kubernetes {

class ReadOnlyStateStore final : public StateStore {
 public:
  // revocactl's issue-cert appends to a ledger (the leader reads it back)
  // and writes nothing else.
  enum class Writes { kNone, kLedgerOnly };

  // `leaderStamp` answers the stamp of the CRL the leader last signed for a
  // CA version: a follower signs under the leader's number what the leader
  // signed, or nothing, instead of numbering CRLs of its own.
  using LeaderStamp = std::function<Result<std::optional<CrlStamp>>(const ObjectKey&, int)>;
  ReadOnlyStateStore(StateStore& store, LeaderStamp leaderStamp, Writes writes = Writes::kNone)
      : store_(store), leaderStamp_(std::move(leaderStamp)), writes_(writes) {}

  Result<std::string> tenantUuid(const std::string& ns) override { return store_.tenantUuid(ns); }
  Result<std::optional<CaRecord>> loadCa(const ObjectKey& ca) override { return store_.loadCa(ca); }
  Result<void> saveCa(const ObjectKey& ca, const CaRecord&) override { return refused(ca); }
  Result<std::optional<CrlStamp>> stampCrl(const ObjectKey& ca, int version, const CrlStamp&) override {
    return leaderStamp_(ca, version);
  }
  Result<std::vector<IssuedCertificate>> loadLedger(const ObjectKey& ca) override { return store_.loadLedger(ca); }
  void forgetLedger(const ObjectKey& ca) override { store_.forgetLedger(ca); }
  Result<void> appendIssued(const ObjectKey& ca, const IssuedCertificate& issued) override {
    return writes_ == Writes::kLedgerOnly ? store_.appendIssued(ca, issued) : refused(ca);
  }
  Result<std::vector<Revocation>> loadRevocations(const ObjectKey& ca) override { return store_.loadRevocations(ca); }
  Result<void> appendRevocation(const ObjectKey& ca, const Revocation&) override { return refused(ca); }
  // Only a status reads them, and a replica that does not lead reports none:
  // not read, which spares a follower a list per CA at each of its passes.
  Result<std::vector<CrlListing>> loadCrlListings(const ObjectKey&) override { return std::vector<CrlListing>(); }
  Result<void> appendCrlListing(const ObjectKey& ca, const CrlListing&) override { return refused(ca); }
  Result<std::optional<SecretRecord>> loadSecret(const ObjectKey& secret) override { return store_.loadSecret(secret); }
  Result<void> saveSecret(const ObjectKey& secret, const SecretRecord&) override { return refused(secret); }
  Result<std::optional<SecretRecord>> loadSecretWithPems(const ObjectKey& secret) override {
    return store_.loadSecretWithPems(secret);
  }

 private:
  static Result<void> refused(const ObjectKey& key) {
    return makeError(key.str() + ": this replica does not hold the leader Lease; only the leader writes");
  }
  StateStore& store_;
  LeaderStamp leaderStamp_;
  Writes writes_;
};

class DroppingOutput final : public OutputSink {
 public:
  Result<std::optional<KeyFileAccess>> publishSecret(const std::string&, const std::string&,
                                                     const SecretFiles&) override {
    return std::optional<KeyFileAccess>{};
  }
  Result<void> publishCaBundle(const std::string&, const std::string&, const std::string&,
                               const std::string&) override {
    return {};
  }
  Result<EmqxEnvFacts> publishEmqxEnv(const EmqxOutput&) override { return EmqxEnvFacts{}; }
};

class DroppingStatus final : public StatusSink {
 public:
  void report(Kind, const ObjectMeta&, const ObjectStatus&) override {}
};

}  // namespace revoca::kubernetes
