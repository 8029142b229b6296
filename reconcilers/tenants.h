#pragma once
// The tenants (namespaces) reconciled so far: each one's UUID read from the
// state store once and made known to the registry, which names tenants by
// UUID in the responder's URLs. Safe to call from several workers.
#include <map>
#include <mutex>
#include <string>

#include "core/result.h"
#include "reconcilers/authority_service.h"
#include "registry/ca_registry.h"
#include "ports/state_store.h"

namespace revoca {

class Tenants {
 public:
  Tenants(StateStore& store, CaRegistry& registry) : store_(store), registry_(registry) {}

  Result<TenantInfo> of(const std::string& namespace_);

 private:
  StateStore& store_;
  CaRegistry& registry_;
  std::mutex mutex_;
  std::map<std::string, TenantInfo> known_;
};

}  // namespace revoca
