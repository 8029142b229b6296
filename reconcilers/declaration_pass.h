#pragma once
// Reconciles a whole DeclarationSet in dependency order: tenants, CAs
// (parents before intermediates), revocations, vaults, vault secrets, EMQX
// deployments. The standalone backend runs it on every change and timer.
#include <map>
#include <string>

#include "declarations/types.h"
#include "reconcilers/reconcilers.h"
#include "reconcilers/tenants.h"
#include "registry/ca_registry.h"

namespace revoca {

// Reports a declaration that does not parse as InvalidSpec on its object:
// what it issued before stays in place.
void reportRefusal(const DeclarationError& error, StatusSink& status);

// When a CA's status next changes on its own, before `latest`: its
// renewal, or the time a new version starts signing. A renewal time
// already past is one the CA waits out (an intermediate waits for its
// parent to rotate): `latest` looks again.
TimePoint nextCaChange(const ActiveCa& active, TimePoint now, TimePoint latest);

class DeclarationPass {
 public:
  DeclarationPass(ReconcileContext context, CaRegistry& registry, StatusSink& status)
      : context_(context), registry_(registry), status_(status), tenants_(context.store, registry) {}

  // Returns the earliest time something needs looking at again.
  TimePoint run(const DeclarationSet& declarations);

 private:
  void reconcileAuthorities(const DeclarationSet& declarations, TimePoint& wakeup);

  ReconcileContext context_;
  CaRegistry& registry_;
  StatusSink& status_;
  Tenants tenants_;
};

}  // namespace revoca
