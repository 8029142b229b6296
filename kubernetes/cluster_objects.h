#pragma once
// revoca's view of the cluster: one informer per kind of ours, and one on
// the state Secrets revoca wrote (CA keys, ledgers, revocations), which the
// replicas that do not lead read to serve the responder. Each object's
// declaration is converted once per spec, as it arrives (the listers of
// client-go's controllers); the informers then cache only what is read of
// the object afterwards, and an index tells which objects name which.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "declarations/kind.h"
#include "declarations/types.h"
#include "kubeclient/api_client.h"
#include "kubeclient/informer.h"
#include "reconcilers/dependencies.h"

namespace revoca::kubernetes {

enum class Change {
  kDeclarations,  // a spec was created, changed or deleted: reconcile that object
  kState,         // a state Secret changed (another replica, or revocactl)
};

// One object's declaration, or the errors that refused it.
using Declared = std::shared_ptr<const ObjectDeclaration>;

// The deployments a Vault's declaration distributes to; none for anything else.
const std::vector<std::string>& deploymentsOf(const Declared& declared);

// What a declaration depends on beyond name and namespace. A status write
// changes the resourceVersion only: the declaration is kept.
struct SpecIdentity {
  std::size_t uidHash = 0;  // a deleted and re-created object starts over at generation 1
  std::int64_t generation = 0;
  bool deleting = false;
  bool operator==(const SpecIdentity&) const = default;
};

class ClusterObjects {
 public:
  // `namespaces` empty watches every namespace, else one informer per kind
  // and namespace. `onChange` is called from the informers' threads with
  // the object whose spec changed (none for kState); it must be quick (add
  // to a queue, wake a loop).
  using OnChange = std::function<void(Change, const ObjectRef* changed)>;
  ClusterObjects(kubeclient::ApiClient& client, const Clock& clock, const std::vector<std::string>& namespaces,
                 OnChange onChange, kubeclient::InformerOptions options = {});
  ~ClusterObjects();

  void start();
  void stop();
  bool waitForSync(std::chrono::milliseconds timeout) const;
  // Whether the informers of `kind` have listed everything once.
  bool synced(Kind kind) const;

  // What is kept of one of revoca's objects as the apiserver last sent it:
  // metadata.name, namespace, uid, resourceVersion, generation and
  // deletionTimestamp, spec.podTemplate (EmqxDeployment), and the summary
  // of its status (status_summary.h).
  std::optional<nlohmann::json> get(Kind kind, const std::string& namespace_, const std::string& name) const;

  // The object's declaration as converted from its current spec; nullptr
  // when it does not exist or is being deleted (nothing to reconcile).
  Declared declared(const ObjectRef& object) const;
  // Every object of `kind` that has a declaration (or errors).
  std::vector<ObjectRef> objectsOf(Kind kind) const;
  // The objects whose spec names `named` (its dependents).
  std::vector<ObjectRef> naming(const ObjectRef& named) const;
  // The Vaults (by name) in `namespace_` whose spec.distributeDeployments
  // lists `deployment`.
  std::vector<std::string> vaultsDistributingTo(const std::string& namespace_, const std::string& deployment) const;
  // Every declaration and error of the kinds in `kinds`, in one set: a
  // follower's pass over the CAs, the tests.
  DeclarationSet snapshot(const std::vector<Kind>& kinds = {kAllKinds.begin(), kAllKinds.end()}) const;

 private:
  struct Entry {
    Declared declared;
    SpecIdentity identity;
  };
  using Node = std::map<ObjectRef, Entry>::value_type;
  // The informers' transform for `kind`: converts a spec not converted yet,
  // then keeps only what get() answers with.
  void convert(Kind kind, nlohmann::json& object);
  void forget(Kind kind, const std::string& key);
  // Moves the entry `node` in the indexes from what `before` names (and
  // distributes to) to what `after` does.
  void indexLocked(const Node* node, const Declared& before, const Declared& after);

  // An index maps the hash of a name to the entries whose declaration names
  // it, pointing at them rather than copying keys: a node of three words
  // each. A lookup checks each candidate's declaration, so two names with
  // one hash cost a comparison, never a wrong answer. An entry leaves the
  // indexes before it is erased.
  using Index = std::unordered_multimap<std::size_t, const Node*>;
  static void unindex(Index& index, std::size_t hash, const Node* node);

  std::vector<std::pair<Kind, std::unique_ptr<kubeclient::Informer>>> informers_;
  std::vector<std::unique_ptr<kubeclient::Informer>> stateSecrets_;
  mutable std::mutex mutex_;
  std::map<ObjectRef, Entry> entries_;
  Index namedByIndex_;  // hash of a named ObjectRef -> the objects naming it
  Index distributors_;  // hash of namespace/deployment -> the Vaults distributing to it
};

}  // namespace revoca::kubernetes
