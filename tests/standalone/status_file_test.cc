#include "standalone/status_file.h"

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "tests/standalone/file_probes.h"
#include "testing/temp_dir.h"

namespace revoca {
namespace {

ObjectStatus readyWith(ObjectFacts facts) {
  ObjectStatus status;
  status.ready = true;
  status.reason = "Ready";
  status.facts = std::move(facts);
  return status;
}

ObjectStatus issued(std::string serial, std::optional<ReissueReason> reason = std::nullopt) {
  VaultSecretFacts facts;
  facts.serial = std::move(serial);
  facts.lastIssueReason = reason;
  return readyWith(facts);
}

std::string issueReasonIn(const StatusFile& file) {
  for (const auto& entry : file.snapshot())
    if (entry["name"] == "server-cert") return entry["facts"].value("lastIssueReason", "");
  return "<no entry>";
}

ObjectMeta serverCert() {
  ObjectMeta meta;
  meta.name = "server-cert";
  return meta;
}

// As a cluster's status keeps it: a pass that issued nothing does not know why
// the certificate was issued, and must not drop it.
TEST(StatusFile, TheIssueReasonStaysUntilTheNextIssueAndAcrossARestart) {
  testing::TempDir dir;
  std::string path = dir.file("status.json");
  {
    StatusFile file(path);
    file.report(Kind::VaultSecret, serverCert(), issued("0A", ReissueReason::Missing));
    file.report(Kind::VaultSecret, serverCert(), issued("0A"));
    EXPECT_EQ(issueReasonIn(file), "Missing");
    file.flush();
  }
  StatusFile restarted(path);
  restarted.report(Kind::VaultSecret, serverCert(), issued("0A"));
  EXPECT_EQ(issueReasonIn(restarted), "Missing");
  restarted.report(Kind::VaultSecret, serverCert(), issued("0B", ReissueReason::Revoked));
  EXPECT_EQ(issueReasonIn(restarted), "Revoked");
  // Another serial without a reason (issued by another run): nothing to say.
  restarted.report(Kind::VaultSecret, serverCert(), issued("0C"));
  EXPECT_EQ(issueReasonIn(restarted), "");
}

TEST(StatusFile, TheFileIsTheStatusesAsOneIndentedJsonArrayOfValidUtf8) {
  testing::TempDir dir;
  std::string path = dir.file("status.json");
  StatusFile file(path);
  ObjectMeta other;
  other.name = "other";
  other.source = "decl-\xff\n.yaml";  // whatever a file name holds
  file.report(Kind::VaultSecret, serverCert(), issued("0A"));
  file.report(Kind::Vault, other, readyWith({}));
  file.flush();
  EXPECT_EQ(*readFile(path), file.snapshot().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  EXPECT_FALSE(nlohmann::json::parse(*readFile(path), nullptr, false).is_discarded());
}

TEST(StatusFile, EveryFactIsTextTimesInRfc3339AndIntegersInDecimal) {
  testing::TempDir dir;
  StatusFile file(dir.file("status.json"));
  VaultSecretFacts facts;
  facts.serial = "0A";
  facts.notBefore = fromUnixSeconds(1'800'000'000);
  facts.notAfter = fromUnixSeconds(1'800'000'000) + std::chrono::milliseconds(1500);
  facts.renewalTime = fromUnixSeconds(1'800'086'400);
  facts.caVersion = 2;
  facts.lastIssueReason = ReissueReason::NearExpiry;
  facts.keyFile = KeyFileAccess{1000, 1001, 0440};
  file.report(Kind::VaultSecret, serverCert(), readyWith(facts));
  EXPECT_EQ(file.snapshot()[0]["facts"], nlohmann::json({{"serial", "0A"},
                                                         {"notBefore", "2027-01-15T08:00:00Z"},
                                                         {"notAfter", "2027-01-15T08:00:01Z"},
                                                         {"renewalTime", "2027-01-16T08:00:00Z"},
                                                         {"caVersion", "2"},
                                                         {"lastIssueReason", "NearExpiry"},
                                                         {"fileOwner", "1000:1001"},
                                                         {"fileMode", "0440"}}));
  ObjectMeta vault;
  vault.name = "mqtt-vault";
  file.report(Kind::Vault, vault, readyWith(VaultFacts{2}));
  EXPECT_EQ(file.snapshot()[0]["facts"], nlohmann::json({{"deployments", "2"}}));
}

TEST(StatusFile, AnUnreadableFileFromALastRunIsAFirstStart) {
  testing::TempDir dir;
  std::string path = dir.file("status.json");
  testing::appendRaw(path, "{not json");
  StatusFile file(path);
  file.report(Kind::VaultSecret, serverCert(), issued("0A"));
  EXPECT_EQ(issueReasonIn(file), "");
}

}  // namespace
}  // namespace revoca
