#pragma once
// An ApiClient that answers every call with one error. A test's fake
// derives from it and overrides only the calls it stands in for; anything
// else the code under test tries fails the way the fake chose.
#include <nlohmann/json.hpp>

#include "kubeclient/api_client.h"

namespace revoca::kubeclient::testing {

class RefusingApiClient : public ApiClient {
 public:
  explicit RefusingApiClient(ApiError refusal = {501, "", "not in this fake"}) : refusal_(std::move(refusal)) {}

  ApiResult<nlohmann::json> get(const ResourceRef&) override { return refused(); }
  ApiResult<nlohmann::json> list(const ResourceRef&, const ListOptions&) override { return refused(); }
  ApiError watch(const ResourceRef&, const WatchOptions&, const std::function<bool(const WatchEvent&)>&) override {
    return refusal_;
  }
  ApiResult<nlohmann::json> create(const ResourceRef&, const nlohmann::json&) override { return refused(); }
  ApiResult<nlohmann::json> update(const ResourceRef&, const nlohmann::json&) override { return refused(); }
  ApiResult<nlohmann::json> apply(const ResourceRef&, const nlohmann::json&, const std::string&, bool) override {
    return refused();
  }
  ApiResult<nlohmann::json> applyStatus(const ResourceRef&, const nlohmann::json&, const std::string&) override {
    return refused();
  }
  ApiError remove(const ResourceRef&) override { return refusal_; }

 protected:
  ApiResult<nlohmann::json> refused() const { return {std::nullopt, refusal_}; }

 private:
  ApiError refusal_;
};

}  // namespace revoca::kubeclient::testing
