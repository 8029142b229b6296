#pragma once
// Reconciles a whole DeclarationSet in dependency order: tenants, CAs
// (parents before intermediates), revocations, vaults, vault secrets, EMQX
// deployments. The standalone backend runs it on every change and timer.
#include <map>
#include <string>

#include "declarations/types.h"
#include "reconcilers/reconcilers.h"
#include "registry/ca_registry.h"

namespace revoca {

class DeclarationPass {
 public:
  DeclarationPass(ReconcileContext context, CaRegistry& registry, StatusSink& status)
      : context_(context), registry_(registry), status_(status) {}

  // Returns the earliest time something needs looking at again.
  TimePoint run(const DeclarationSet& declarations);

 private:
  Result<TenantInfo> tenant(const std::string& namespace_);
  void reconcileAuthorities(const DeclarationSet& declarations, TimePoint& wakeup);

  ReconcileContext context_;
  CaRegistry& registry_;
  StatusSink& status_;
  std::map<std::string, TenantInfo> tenants_;
};

}  // namespace revoca
