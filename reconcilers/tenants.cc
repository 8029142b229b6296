#include "reconcilers/tenants.h"

namespace revoca {

Result<TenantInfo> Tenants::of(const std::string& namespace_) {
  {
    std::lock_guard lock(mutex_);
    if (auto known = known_.find(namespace_); known != known_.end()) return known->second;
  }
  // Read outside the lock: in a cluster it is a request to the apiserver.
  auto uuid = store_.tenantUuid(namespace_);
  if (!uuid) return uuid.error();
  TenantInfo info{namespace_, *uuid};
  registry_.setTenant(namespace_, *uuid);
  std::lock_guard lock(mutex_);
  known_[namespace_] = info;
  return info;
}

}  // namespace revoca
