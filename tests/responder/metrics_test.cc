#include "responder/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace revoca::responder {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(MetricsTest, CountsRequestsByRouteAndCode) {
  Metrics metrics;
  metrics.countRequest(Route::Crl, 200);
  metrics.countRequest(Route::Crl, 200);
  metrics.countRequest(Route::CrlPem, 404);
  std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# HELP revoca_http_requests_total "));
  EXPECT_THAT(text, HasSubstr("revoca_http_requests_total{path=\"crl\",code=\"200\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("revoca_http_requests_total{path=\"crl-pem\",code=\"404\"} 1\n"));
  EXPECT_THAT(text, Not(HasSubstr("path=\"ocsp\"")));
}

TEST(MetricsTest, EveryOcspResultIsListed) {
  Metrics metrics;
  metrics.countOcsp(OcspOutcome::Revoked, std::chrono::microseconds(100));
  std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_responses_total{result=\"revoked\"} 1\n"));
  for (const char* result : {"good", "unknown", "unauthorized", "malformed", "mixed"}) {
    EXPECT_THAT(text, HasSubstr("revoca_ocsp_responses_total{result=\"" + std::string(result) +
                                "\"} 0\n"));
  }
}

TEST(MetricsTest, HistogramBucketsAreCumulative) {
  Metrics metrics;
  metrics.countOcsp(OcspOutcome::Good, std::chrono::microseconds(100));   // <= 0.0005
  metrics.countOcsp(OcspOutcome::Good, std::chrono::milliseconds(3));     // <= 0.005
  metrics.countOcsp(OcspOutcome::Good, std::chrono::seconds(2));          // +Inf only
  std::string text = metrics.render();
  EXPECT_THAT(text, HasSubstr("# TYPE revoca_ocsp_request_duration_seconds histogram\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_bucket{le=\"0.0005\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_bucket{le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_bucket{le=\"0.005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_bucket{le=\"1\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_bucket{le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_sum 2.003100000\n"));
  EXPECT_THAT(text, HasSubstr("revoca_ocsp_request_duration_seconds_count 3\n"));
}

}  // namespace
}  // namespace revoca::responder
