#include "kubernetes/status_summary.h"

#include <gtest/gtest.h>

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

json vaultSecretStatus() {
  return {{"observedGeneration", 2},
          {"conditions", json::array({{{"type", "Ready"},
                                       {"status", "True"},
                                       {"reason", "Ready"},
                                       {"message", "serial 0A is valid until 2026-12-28T01:02:17Z"},
                                       {"observedGeneration", 2},
                                       {"lastTransitionTime", "2026-11-28T01:02:17Z"}}})},
          {"serial", "0A"},
          {"notAfter", "2026-12-28T01:02:17Z"},
          {"caVersion", 1},
          {"lastIssueReason", "Missing"}};
}

TEST(StatusSummary, KeepsWhatTheStatusWriterReadsAndADigestOfTheRest) {
  json summary = summarizeStatus(vaultSecretStatus());
  EXPECT_EQ(summary["conditions"], json::array({{{"type", "Ready"},
                                                 {"status", "True"},
                                                 {"reason", "Ready"},
                                                 {"lastTransitionTime", "2026-11-28T01:02:17Z"}}}));
  EXPECT_EQ(summary["serial"], "0A");
  EXPECT_EQ(summary["lastIssueReason"], "Missing");
  EXPECT_FALSE(summary.contains("notAfter"));
  EXPECT_FALSE(summary.contains("caVersion"));
  EXPECT_LT(summary.dump().size(), vaultSecretStatus().dump().size());
}

TEST(StatusSummary, TellsItsStatusFromAnyOther) {
  json summary = summarizeStatus(vaultSecretStatus());
  EXPECT_TRUE(summarizes(summary, vaultSecretStatus()));
  json otherMessage = vaultSecretStatus();
  otherMessage["conditions"][0]["message"] = "another message";
  EXPECT_FALSE(summarizes(summary, otherMessage));
  json otherNumber = vaultSecretStatus();
  otherNumber["caVersion"] = 2;
  EXPECT_FALSE(summarizes(summary, otherNumber));
  EXPECT_FALSE(summarizes(json::object(), json::object()));  // no status: whatever comes is new
}

TEST(StatusSummary, ASummaryIsItsOwnSummaryAndNoStatusHasNone) {
  json summary = summarizeStatus(vaultSecretStatus());
  EXPECT_EQ(summarizeStatus(summary), summary);
  EXPECT_EQ(summarizeStatus(json::object()), json::object());
  EXPECT_EQ(summarizeStatus(json()), json::object());
}

}  // namespace
}  // namespace revoca::kubernetes
