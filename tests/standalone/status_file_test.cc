#include "standalone/status_file.h"

#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "tests/standalone/file_probes.h"
#include "testing/temp_dir.h"

namespace revoca {
namespace {

ObjectStatus readyWith(std::map<std::string, std::string> facts) {
  ObjectStatus status;
  status.ready = true;
  status.reason = "Ready";
  status.facts = std::move(facts);
  return status;
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
    file.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0A"}, {"lastIssueReason", "new"}}));
    file.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0A"}}));
    EXPECT_EQ(issueReasonIn(file), "new");
    file.flush();
  }
  StatusFile restarted(path);
  restarted.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0A"}}));
  EXPECT_EQ(issueReasonIn(restarted), "new");
  restarted.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0B"}, {"lastIssueReason", "revoked"}}));
  EXPECT_EQ(issueReasonIn(restarted), "revoked");
  // Another serial without a reason (issued by another run): nothing to say.
  restarted.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0C"}}));
  EXPECT_EQ(issueReasonIn(restarted), "");
}

TEST(StatusFile, TheFileIsTheStatusesAsOneIndentedJsonArrayOfValidUtf8) {
  testing::TempDir dir;
  std::string path = dir.file("status.json");
  StatusFile file(path);
  ObjectMeta other;
  other.name = "other";
  other.source = "decl-\xff\n.yaml";  // whatever a file name holds
  file.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0A"}}));
  file.report(Kind::Vault, other, readyWith({}));
  file.flush();
  EXPECT_EQ(*readFile(path), file.snapshot().dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  EXPECT_FALSE(nlohmann::json::parse(*readFile(path), nullptr, false).is_discarded());
}

TEST(StatusFile, AnUnreadableFileFromALastRunIsAFirstStart) {
  testing::TempDir dir;
  std::string path = dir.file("status.json");
  testing::appendRaw(path, "{not json");
  StatusFile file(path);
  file.report(Kind::VaultSecret, serverCert(), readyWith({{"serial", "0A"}}));
  EXPECT_EQ(issueReasonIn(file), "");
}

}  // namespace
}  // namespace revoca
