#pragma once
// The responder's own Prometheus counters. Every request touches them from
// several threads, so they are relaxed atomics in fixed arrays: no lock and
// no allocation on the request path; only rendering /metrics allocates.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "responder/revocation_source.h"

namespace revoca::responder {

// The `path` label: one per route, so label cardinality stays fixed whatever
// clients ask for.
enum class Route : std::uint8_t { Crl, CrlPem, Ocsp, CaBundle, Healthz, Readyz, Metrics, Other };

class Metrics {
 public:
  void countRequest(Route route, unsigned status);
  void countOcsp(OcspOutcome outcome, std::chrono::nanoseconds duration);
  // Text exposition format 0.0.4, HELP and TYPE included.
  std::string render() const;

 private:
  static constexpr std::size_t kRoutes = 8;
  static constexpr std::size_t kOutcomes = 6;
  static constexpr unsigned kMinStatus = 100;
  static constexpr unsigned kMaxStatus = 599;
  static constexpr std::array<double, 11> kBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,   0.1,   0.25,   0.5,   1.0};

  using Counter = std::atomic<std::uint64_t>;
  std::array<std::array<Counter, kMaxStatus - kMinStatus + 1>, kRoutes> requests_{};
  std::array<Counter, kOutcomes> outcomes_{};
  std::array<Counter, kBuckets.size() + 1> durationBuckets_{};  // not cumulative; last is +Inf
  Counter durationSumNanos_{0};
};

}  // namespace revoca::responder
