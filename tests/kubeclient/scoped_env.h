#pragma once
// Environment variables for the kube module's tests (KUBECONFIG, HOME, the
// in-cluster service variables), put back as they were when the test ends.
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>

namespace revoca::kubeclient::testing {

// Sets (or with nullopt, unsets) a variable for the test's scope.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::optional<std::string>& value) : name_(std::move(name)) {
    if (const char* old = std::getenv(name_.c_str())) old_ = old;
    if (value) setenv(name_.c_str(), value->c_str(), 1);
    else unsetenv(name_.c_str());
  }
  ~ScopedEnv() {
    if (old_) setenv(name_.c_str(), old_->c_str(), 1);
    else unsetenv(name_.c_str());
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

}  // namespace revoca::kubeclient::testing
