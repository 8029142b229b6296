#pragma once
// An ApiClient for the leader's writes: reads pass through, and a write is
// refused here, without a request, once `leading()` says no. The elector's
// callback comes only after a renewal returns, and one may hang on a dead
// connection for the request timeout (30 s) while another replica takes the
// Lease after leaseDuration: without this, a pass in flight would go on
// writing as a second leader.
#include <functional>
#include <utility>

#include "kubeclient/forwarding_api_client.h"

namespace revoca::kubernetes {

class LeaderGuardedClient final : public kubeclient::ForwardingApiClient {
 public:
  LeaderGuardedClient(kubeclient::ApiClient& inner, std::function<bool()> leading)
      : ForwardingApiClient(inner), leading_(std::move(leading)) {}

  kubeclient::ApiResult<nlohmann::json> create(const kubeclient::ResourceRef& collection, const nlohmann::json& object) override {
    if (!leading_()) return refused(collection);
    return inner_.create(collection, object);
  }
  kubeclient::ApiResult<nlohmann::json> update(const kubeclient::ResourceRef& object, const nlohmann::json& body) override {
    if (!leading_()) return refused(object);
    return inner_.update(object, body);
  }
  kubeclient::ApiResult<nlohmann::json> apply(const kubeclient::ResourceRef& object, const nlohmann::json& body,
                                        const std::string& fieldManager, bool force) override {
    if (!leading_()) return refused(object);
    return inner_.apply(object, body, fieldManager, force);
  }
  kubeclient::ApiResult<nlohmann::json> applyStatus(const kubeclient::ResourceRef& object, const nlohmann::json& body,
                                              const std::string& fieldManager) override {
    if (!leading_()) return refused(object);
    return inner_.applyStatus(object, body, fieldManager);
  }
  kubeclient::ApiError remove(const kubeclient::ResourceRef& object) override {
    if (!leading_()) return refused(object).error;
    return inner_.remove(object);
  }

 private:
  static kubeclient::ApiResult<nlohmann::json> refused(const kubeclient::ResourceRef& object) {
    // Status 0 like an unreachable apiserver: callers retry on a later pass, as the leader if it still is.
    return {std::nullopt, kubeclient::ApiError{0, "NotLeader",
                                         "not written (" + object.path() +
                                             "): this replica no longer holds the Lease, or could not renew it "
                                             "within the renew deadline"}};
  }

  std::function<bool()> leading_;
};

}  // namespace revoca::kubernetes
