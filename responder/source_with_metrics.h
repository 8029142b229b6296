#pragma once
// A RevocationSource whose /metrics also carries another part's series (the
// reconcile loop's, one per object: written a piece at a time), so the
// responder stays the one place Prometheus scrapes.
#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "responder/revocation_source.h"

namespace revoca::responder {

class SourceWithMetrics final : public RevocationSource {
 public:
  // `appendMoreMetrics` has the contract of appendPagedMetricsText.
  using PagedMetrics = std::function<bool(std::string&, MetricsCursor&, std::size_t)>;
  SourceWithMetrics(std::shared_ptr<const RevocationSource> source, PagedMetrics appendMoreMetrics)
      : source_(std::move(source)), appendMoreMetrics_(std::move(appendMoreMetrics)) {}

  std::optional<CrlDocument> crl(const std::string& tenant, const std::string& ca,
                                 const std::string& version) const override {
    return source_->crl(tenant, ca, version);
  }
  std::optional<CaBundleDocument> caBundle(const std::string& tenant, const std::string& ca) const override {
    return source_->caBundle(tenant, ca);
  }
  OcspReply ocsp(const std::string& tenant, const std::string& ca, const std::string& requestDer) const override {
    return source_->ocsp(tenant, ca, requestDer);
  }
  bool ready() const override { return source_->ready(); }
  bool stopping() const override { return stopping_.load(); }
  // From the first stop signal on; never undone.
  void setStopping() { stopping_ = true; }
  void appendMetricsText(std::string& out) const override {
    source_->appendMetricsText(out);
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  bool appendPagedMetricsText(std::string& out, MetricsCursor& cursor, std::size_t budget) const override {
    return appendMoreMetrics_(out, cursor, budget);
  }

 private:
  std::shared_ptr<const RevocationSource> source_;
  PagedMetrics appendMoreMetrics_;
  std::atomic<bool> stopping_{false};
};

}  // namespace revoca::responder
