#include "metrics/object_metrics.h"

#include <gtest/gtest.h>

#include "testing/recording_status_sink.h"

namespace revoca {
namespace {

using testing::RecordingStatusSink;

ObjectMeta meta(const std::string& namespace_, const std::string& name) {
  ObjectMeta meta;
  meta.namespace_ = namespace_;
  meta.name = name;
  return meta;
}

ObjectStatus readyCertificate() {
  ObjectStatus status;
  status.ready = true;
  status.reason = "Issued";
  VaultSecretFacts facts;
  facts.notAfter = fromUnixSeconds(1798342869);     // 2026-12-27T03:41:09Z
  facts.renewalTime = fromUnixSeconds(1797019803);  // 2026-12-11T20:10:03Z
  status.facts = facts;
  return status;
}

TEST(ObjectMetrics, ForwardsEveryReportAndExportsReadinessAndCertificateTimes) {
  RecordingStatusSink backend;
  ObjectMetrics metrics(backend);
  metrics.measurePass([&] {
    metrics.report(Kind::VaultSecret, meta("mqtt", "server-cert"), readyCertificate());
    return 0;
  });
  ASSERT_EQ(backend.reports.size(), 1u);
  std::string text = metrics.render();
  EXPECT_NE(text.find("revoca_object_ready{kind=\"VaultSecret\",namespace=\"mqtt\",name=\"server-cert\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("revoca_certificate_expiration_timestamp_seconds{kind=\"VaultSecret\",namespace=\"mqtt\","
                      "name=\"server-cert\"} 1798342869\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("revoca_certificate_renewal_timestamp_seconds{kind=\"VaultSecret\",namespace=\"mqtt\","
                      "name=\"server-cert\"} 1797019803\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("revoca_reconcile_total{kind=\"VaultSecret\",result=\"ready\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("revoca_reconcile_pass_duration_seconds_count 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE revoca_reconcile_errors_total counter\n"), std::string::npos);
}

TEST(ObjectMetrics, CountsFailuresByReason) {
  RecordingStatusSink backend;
  ObjectMetrics metrics(backend);
  ObjectStatus broken;
  broken.reason = "InvalidSpec";
  metrics.report(Kind::CertificateAuthority, meta("mqtt", "ca"), broken);
  metrics.report(Kind::CertificateAuthority, meta("mqtt", "ca"), broken);
  std::string text = metrics.render();
  EXPECT_NE(text.find("revoca_reconcile_errors_total{kind=\"CertificateAuthority\",reason=\"InvalidSpec\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("revoca_object_ready{kind=\"CertificateAuthority\",namespace=\"mqtt\",name=\"ca\"} 0\n"),
            std::string::npos);
}

TEST(ObjectMetrics, AnObjectThePassNoLongerReportsLosesItsSeries) {
  RecordingStatusSink backend;
  ObjectMetrics metrics(backend);
  metrics.measurePass([&] {
    metrics.report(Kind::Vault, meta("mqtt", "kept"), readyCertificate());
    metrics.report(Kind::Vault, meta("mqtt", "deleted"), readyCertificate());
    return 0;
  });
  metrics.measurePass([&] {
    metrics.report(Kind::Vault, meta("mqtt", "kept"), readyCertificate());
    return 0;
  });
  std::string text = metrics.render();
  EXPECT_NE(text.find("name=\"kept\""), std::string::npos);
  EXPECT_EQ(text.find("name=\"deleted\""), std::string::npos) << text;
}

TEST(ObjectMetrics, ReportsGoWhereForwardToSays) {
  RecordingStatusSink leader, dropped;
  ObjectMetrics metrics(dropped);
  metrics.forwardTo(leader);
  metrics.setLeader(true);
  metrics.setQueueDepth(3);
  metrics.report(Kind::Vault, meta("mqtt", "v"), readyCertificate());
  EXPECT_EQ(leader.reports.size(), 1u);
  EXPECT_TRUE(dropped.reports.empty());
  std::string text = metrics.render();
  EXPECT_NE(text.find("revoca_leader 1\n"), std::string::npos);
  EXPECT_NE(text.find("revoca_workqueue_depth 3\n"), std::string::npos);
}

// Every piece ends at a line, and the pieces together are the page written whole.
TEST(ObjectMetrics, APageWrittenInPiecesIsThePageWrittenWhole) {
  RecordingStatusSink backend;
  ObjectMetrics metrics(backend);
  for (int i = 0; i < 50; ++i) {
    metrics.report(Kind::VaultSecret, meta("mqtt", "cert-" + std::to_string(i)), readyCertificate());
    metrics.report(Kind::Vault, meta("mqtt", "vault-" + std::to_string(i)), ObjectStatus{});
  }
  std::string pieces;
  MetricsCursor cursor;
  int count = 0;
  for (bool done = false; !done; ++count) {
    std::string piece;
    done = metrics.renderPiece(piece, cursor, 500);
    ASSERT_TRUE(piece.empty() || piece.back() == '\n') << piece;
    // The budget, overrun by one series at most; the last piece holds the totals.
    if (!done) {
      EXPECT_LT(piece.size(), 500u + 200u);
    }
    pieces += piece;
  }
  EXPECT_EQ(pieces, metrics.render());
  EXPECT_GT(count, 20);
}

TEST(ObjectMetrics, AnObjectGoneOrAddedBetweenPiecesIsOutOfOrInTheRestOfThePage) {
  RecordingStatusSink backend;
  ObjectMetrics metrics(backend);
  metrics.measurePass([&] {
    for (const char* name : {"a", "b", "c", "e"}) metrics.report(Kind::Vault, meta("mqtt", name), readyCertificate());
    return 0;
  });
  std::string text;
  MetricsCursor cursor;
  ASSERT_FALSE(metrics.renderPiece(text, cursor, 1));  // the header and "a"
  EXPECT_NE(text.find("name=\"a\"} 1\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("name=\"b\""), std::string::npos) << text;
  metrics.measurePass([&] {  // "b" gone, "d" new
    for (const char* name : {"a", "c", "d", "e"}) metrics.report(Kind::Vault, meta("mqtt", name), readyCertificate());
    return 0;
  });
  while (!metrics.renderPiece(text, cursor, SIZE_MAX)) {
  }
  std::string ready = text.substr(0, text.find("# HELP revoca_certificate_expiration"));
  EXPECT_EQ(ready.find("name=\"b\""), std::string::npos) << ready;
  for (const char* name : {"a", "c", "d", "e"})
    EXPECT_NE(ready.find("name=\"" + std::string(name) + "\"} 1\n"), std::string::npos) << name << ready;
  EXPECT_EQ(text.find("# TYPE revoca_object_ready"), text.rfind("# TYPE revoca_object_ready"));  // one header
}

}  // namespace
}  // namespace revoca
