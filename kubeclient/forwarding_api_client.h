#pragma once
// An ApiClient that passes every call on to another. A decorator derives
// from it and overrides only the calls it changes: the leader's write guard,
// and the tests' counting, answer-losing and expiring clients.
#include <functional>
#include <string>

#include "kubeclient/api_client.h"

namespace revoca::kubeclient {

class ForwardingApiClient : public ApiClient {
 public:
  explicit ForwardingApiClient(ApiClient& inner) : inner_(inner) {}

  ApiResult<nlohmann::json> get(const ResourceRef& object) override { return inner_.get(object); }
  ApiResult<nlohmann::json> list(const ResourceRef& collection, const ListOptions& options) override {
    return inner_.list(collection, options);
  }
  ApiError watch(const ResourceRef& collection, const WatchOptions& options,
                 const std::function<bool(const WatchEvent&)>& onEvent) override {
    return inner_.watch(collection, options, onEvent);
  }
  ApiResult<nlohmann::json> create(const ResourceRef& collection, const nlohmann::json& object) override {
    return inner_.create(collection, object);
  }
  ApiResult<nlohmann::json> update(const ResourceRef& object, const nlohmann::json& body) override {
    return inner_.update(object, body);
  }
  ApiResult<nlohmann::json> apply(const ResourceRef& object, const nlohmann::json& body,
                                  const std::string& fieldManager, bool force) override {
    return inner_.apply(object, body, fieldManager, force);
  }
  ApiResult<nlohmann::json> applyStatus(const ResourceRef& object, const nlohmann::json& body,
                                        const std::string& fieldManager) override {
    return inner_.applyStatus(object, body, fieldManager);
  }
  ApiError remove(const ResourceRef& object) override { return inner_.remove(object); }

 protected:
  ApiClient& inner_;
};

}  // namespace revoca::kubeclient
