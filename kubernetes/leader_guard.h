#pragma once
// An ApiClient for the leader's writes: reads pass through, and a write is
// refused here, without a request, once `leading()` says no. The elector's
// callback comes only after a renewal returns, and one may hang on a dead
// connection for the request timeout (30 s) while another replica takes the
// Lease after leaseDuration: without this, a pass in flight would go on
// writing as a second leader.
#include <functional>
#include <utility>

#include "kube/forwarding_api_client.h"

namespace revoca::kubernetes {

class LeaderGuardedClient final : public kube::ForwardingApiClient {
 public:
  LeaderGuardedClient(kube::ApiClient& inner, std::function<bool()> leading)
      : ForwardingApiClient(inner), leading_(std::move(leading)) {}

  kube::ApiResult<nlohmann::json> create(const kube::ResourceRef& collection, const nlohmann::json& object) override {
    if (!leading_()) return refused(collection);
    return inner_.create(collection, object);
  }
  kube::ApiResult<nlohmann::json> update(const kube::ResourceRef& object, const nlohmann::json& body) override {
    if (!leading_()) return refused(object);
    return inner_.update(object, body);
  }
  kube::ApiResult<nlohmann::json> apply(const kube::ResourceRef& object, const nlohmann::json& body,
                                        const std::string& fieldManager, bool force) override {
    if (!leading_()) return refused(object);
    return inner_.apply(object, body, fieldManager, force);
  }
  kube::ApiResult<nlohmann::json> applyStatus(const kube::ResourceRef& object, const nlohmann::json& body,
                                              const std::string& fieldManager) override {
    if (!leading_()) return refused(object);
    return inner_.applyStatus(object, body, fieldManager);
  }
  kube::ApiError remove(const kube::ResourceRef& object) override {
    if (!leading_()) return refused(object).error;
    return inner_.remove(object);
  }

 private:
  static kube::ApiResult<nlohmann::json> refused(const kube::ResourceRef& object) {
    // Status 0 like an unreachable apiserver: callers retry on a later pass, as the leader if it still is.
    return {std::nullopt, kube::ApiError{0, "NotLeader",
                                         "not written (" + object.path() +
                                             "): this replica no longer holds the Lease, or could not renew it "
                                             "within the renew deadline"}};
  }

  std::function<bool()> leading_;
};

}  // namespace revoca::kubernetes
