#pragma once
// Test doubles for the responder: a gmock RevocationSource, and the instant
// the tests start their clock (testing/fake_clock.h) at.
#include <gmock/gmock.h>

#include "core/clock.h"
#include "responder/revocation_source.h"

namespace revoca::responder::testing {

class MockRevocationSource : public RevocationSource {
 public:
  MOCK_METHOD(std::optional<CrlDocument>, crl,
              (const std::string& tenant, const std::string& ca, const std::string& version),
              (const, override));
  MOCK_METHOD(std::optional<CaBundleDocument>, caBundle, (const std::string& tenant, const std::string& ca),
              (const, override));
  MOCK_METHOD(OcspReply, ocsp,
              (const std::string& tenant, const std::string& ca, const std::string& requestDer),
              (const, override));
  MOCK_METHOD(bool, ready, (), (const, override));
  MOCK_METHOD(bool, stopping, (), (const, override));
  MOCK_METHOD(void, appendMetricsText, (std::string&), (const, override));
  MOCK_METHOD(bool, appendPagedMetricsText, (std::string&, MetricsCursor&, std::size_t), (const, override));

  // gmock's default false would mean "more to come" for ever.
  MockRevocationSource() {
    ON_CALL(*this, appendPagedMetricsText).WillByDefault(::testing::Return(true));
  }
};

// 2024-05-01T12:00:00Z, a Wednesday.
inline const TimePoint kNow = fromUnixSeconds(1714564800);

}  // namespace revoca::responder::testing
