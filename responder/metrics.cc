#include "responder/metrics.h"

#include <algorithm>
#include <cstdio>

namespace revoca::responder {
namespace {

constexpr const char* kRouteNames[] = {"crl",     "crl-pem", "ocsp",    "ca",
                                       "healthz", "readyz",  "metrics", "other"};
constexpr const char* kOutcomeNames[] = {"good",         "revoked",   "unknown",
                                         "unauthorized", "malformed", "mixed"};

void appendf(std::string& out, const char* format, auto... args) {
  char line[160];
  int n = std::snprintf(line, sizeof line, format, args...);
  if (n > 0) out.append(line, static_cast<std::size_t>(std::min<int>(n, sizeof line - 1)));
}

}  // namespace

void Metrics::countRequest(Route route, unsigned status) {
  if (status < kMinStatus || status > kMaxStatus) status = 500;
  requests_[static_cast<std::size_t>(route)][status - kMinStatus].fetch_add(
      1, std::memory_order_relaxed);
}

void Metrics::countOcsp(OcspOutcome outcome, std::chrono::nanoseconds duration) {
  auto index = static_cast<std::size_t>(outcome);
  if (index < kOutcomes) outcomes_[index].fetch_add(1, std::memory_order_relaxed);
  double seconds = std::chrono::duration<double>(duration).count();
  std::size_t bucket = 0;
  while (bucket < kBuckets.size() && seconds > kBuckets[bucket]) ++bucket;
  durationBuckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  durationSumNanos_.fetch_add(static_cast<std::uint64_t>(duration.count()),
                              std::memory_order_relaxed);
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(4096);
  out +=
      "# HELP revoca_http_requests_total HTTP requests answered by the responder, by route and "
      "status code.\n"
      "# TYPE revoca_http_requests_total counter\n";
  for (std::size_t r = 0; r < kRoutes; ++r) {
    for (std::size_t s = 0; s < requests_[r].size(); ++s) {
      std::uint64_t n = requests_[r][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      appendf(out, "revoca_http_requests_total{path=\"%s\",code=\"%u\"} %llu\n", kRouteNames[r],
              static_cast<unsigned>(s + kMinStatus), static_cast<unsigned long long>(n));
    }
  }

  out +=
      "# HELP revoca_ocsp_responses_total OCSP responses sent, by result.\n"
      "# TYPE revoca_ocsp_responses_total counter\n";
  for (std::size_t o = 0; o < kOutcomes; ++o) {
    appendf(out, "revoca_ocsp_responses_total{result=\"%s\"} %llu\n", kOutcomeNames[o],
            static_cast<unsigned long long>(outcomes_[o].load(std::memory_order_relaxed)));
  }

  out +=
      "# HELP revoca_ocsp_request_duration_seconds Time to answer an OCSP request.\n"
      "# TYPE revoca_ocsp_request_duration_seconds histogram\n";
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < kBuckets.size(); ++b) {
    cumulative += durationBuckets_[b].load(std::memory_order_relaxed);
    appendf(out, "revoca_ocsp_request_duration_seconds_bucket{le=\"%g\"} %llu\n", kBuckets[b],
            static_cast<unsigned long long>(cumulative));
  }
  cumulative += durationBuckets_[kBuckets.size()].load(std::memory_order_relaxed);
  appendf(out, "revoca_ocsp_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
          static_cast<unsigned long long>(cumulative));
  appendf(out, "revoca_ocsp_request_duration_seconds_sum %.9f\n",
          static_cast<double>(durationSumNanos_.load(std::memory_order_relaxed)) / 1e9);
  appendf(out, "revoca_ocsp_request_duration_seconds_count %llu\n",
          static_cast<unsigned long long>(cumulative));
  return out;
}

}  // namespace revoca::responder
