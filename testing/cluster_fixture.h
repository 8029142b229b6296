#pragma once
// Integration tests against a real kube-apiserver: tests/kubeclient/run_integration.sh
// starts one and sets REVOCA_TEST_KUBECONFIG; without it these tests skip.
// Each test gets a fresh namespace: this control plane has no namespace
// controller, so namespaces are never deleted, only abandoned.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "kubeclient/api_client.h"
#include "kubeclient/kubeconfig.h"
#include "kubeclient/rest_client.h"

namespace revoca::kubeclient::testing {

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* path = std::getenv("REVOCA_TEST_KUBECONFIG");
    if (!path || !*path) GTEST_SKIP() << "REVOCA_TEST_KUBECONFIG is not set (tests/kubeclient/run_integration.sh sets it)";
    auto config = loadKubeconfig(path);
    ASSERT_TRUE(config) << config.error().message;
    config_ = *config;
    auto client = makeRestClient(config_);
    ASSERT_TRUE(client) << client.error().message;
    client_ = std::move(*client);
    namespace_ = createNamespace();
    ASSERT_FALSE(namespace_.empty());
  }

  // A new namespace "revoca-kube-test-xxxxx", or "" after a test failure.
  std::string createNamespace() {
    auto ns = client_->create({"", "v1", "namespaces", "", ""},
                              {{"apiVersion", "v1"}, {"kind", "Namespace"},
                               {"metadata", {{"generateName", "revoca-kube-test-"}}}});
    EXPECT_TRUE(ns.ok()) << ns.error.message;
    return ns.ok() ? (*ns.value)["metadata"]["name"].get<std::string>() : "";
  }

  ResourceRef configMaps(const std::string& name = "") const { return {"", "v1", "configmaps", namespace_, name}; }

  nlohmann::json configMap(const std::string& name, const nlohmann::json& data,
                           const nlohmann::json& labels = nlohmann::json::object()) const {
    return {{"apiVersion", "v1"},
            {"kind", "ConfigMap"},
            {"metadata", {{"name", name}, {"namespace", namespace_}, {"labels", labels}}},
            {"data", data}};
  }

  ResourceRef widgets(const std::string& name = "") const {
    return {"kubetest.revoca.io", "v1", "widgets", namespace_, name};
  }

  // A CRD with a status subresource, applied by each test that needs it
  // (apply is idempotent). Its watch cache starts when it is created, long
  // after resourceVersion 1, so a watch from "1" is surely 410 Gone.
  void ensureWidgetCrd() {
    nlohmann::json schema = {
        {"type", "object"},
        {"properties",
         {{"spec", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}},
          {"status", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}}}}};
    nlohmann::json version = {{"name", "v1"},
                              {"served", true},
                              {"storage", true},
                              {"subresources", {{"status", nlohmann::json::object()}}},
                              {"schema", {{"openAPIV3Schema", schema}}}};
    nlohmann::json crd = {{"apiVersion", "apiextensions.k8s.io/v1"},
                          {"kind", "CustomResourceDefinition"},
                          {"metadata", {{"name", "widgets.kubetest.revoca.io"}}},
                          {"spec",
                           {{"group", "kubetest.revoca.io"},
                            {"scope", "Namespaced"},
                            {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}}},
                            {"versions", nlohmann::json::array({version})}}}};
    auto applied = client_->apply(
        {"apiextensions.k8s.io", "v1", "customresourcedefinitions", "", "widgets.kubetest.revoca.io"}, crd,
        "revoca-test");
    ASSERT_TRUE(applied.ok()) << applied.error.message;
    // The endpoint is served a moment after the CRD is established.
    ASSERT_TRUE(eventually([&] { return client_->list(widgets(), {}).ok(); }));
  }

  nlohmann::json widget(const std::string& name, const nlohmann::json& spec) const {
    return {{"apiVersion", "kubetest.revoca.io/v1"},
            {"kind", "Widget"},
            {"metadata", {{"name", name}, {"namespace", namespace_}}},
            {"spec", spec}};
  }

  // Polls `done` until it holds or 10 s pass.
  template <typename Predicate>
  static bool eventually(Predicate done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  ConnectionConfig config_;
  std::unique_ptr<ApiClient> client_;
  std::string namespace_;
};

}  // namespace revoca::kubeclient::testing
