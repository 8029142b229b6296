#pragma once
// revoca's view of the cluster: one informer per kind of ours, and one on
// the state Secrets revoca wrote (CA keys, ledgers, revocations), which the
// replicas that do not lead read to serve the responder. A declaration is
// converted once per spec, not once per pass; the informers then cache
// only what is read of the object afterwards.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/clock.h"
#include "declarations/kind.h"
#include "declarations/types.h"
#include "kube/api_client.h"
#include "kube/informer.h"

namespace revoca::kubernetes {

enum class Change {
  kDeclarations,  // a spec was created, changed or deleted: reconcile
  kState,         // a state Secret changed (another replica, or revocactl)
};

// Where one object's declaration and errors sit in a DeclarationSet, with
// the resourceVersion they were converted from.
struct DeclarationPlace {
  std::string resourceVersion;
  // What the declaration depends on beyond name and namespace. A status
  // write changes the resourceVersion only: the declaration is kept.
  struct Identity {
    std::size_t uidHash = 0;  // a deleted and re-created object starts over at generation 1
    std::int64_t generation = 0;
    bool deleting = false;
    bool operator==(const Identity&) const = default;
  } identity;
  std::optional<Kind> kind;  // which of the set's vectors holds its declaration; nullopt: none
  std::size_t at = 0;
  std::size_t firstError = 0;
  std::size_t errors = 0;

  // Where declarations() found the object this time.
  enum class Seen : std::uint8_t { kNew, kSameVersion, kNewVersion };
  Seen seen = Seen::kNew;
  std::uint32_t pass = 0;             // the last call that saw it cached; older: deleted
  kube::Informer* informer = nullptr;  // whose cache holds it
};

class ClusterObjects {
 public:
  // `namespaces` empty watches every namespace, else one informer per kind
  // and namespace. `onChange` is called from the informers' threads; it must
  // be quick (set a flag, wake a loop).
  ClusterObjects(kube::ApiClient& client, const Clock& clock, const std::vector<std::string>& namespaces,
                 std::function<void(Change)> onChange, kube::InformerOptions options = {});
  ~ClusterObjects();

  void start();
  void stop();
  bool waitForSync(std::chrono::milliseconds timeout) const;

  // What is kept of one of revoca's objects as the apiserver last sent it:
  // metadata.name, namespace, uid, resourceVersion, generation and
  // deletionTimestamp, spec.podTemplate (EmqxDeployment), and the summary
  // of its status (status_summary.h).
  std::optional<nlohmann::json> get(Kind kind, const std::string& namespace_, const std::string& name) const;
  // Every declaration, with the errors of the ones that do not parse. The
  // set stays as it is until the next call, which rebuilds it if a spec
  // changed: one thread (the engine's loop) calls this and reads the set in
  // between.
  const DeclarationSet& declarations();

 private:
  // An object in converted_: its kind and the informer's key ("ns/name").
  // Ordered by kind first, so each kind's objects come together.
  using PlaceKey = std::pair<Kind, std::string>;

  // The informers' transform for `kind`: the status summarized, and the
  // spec dropped unless the object's declaration still has to be converted
  // (declarations() then converts it and drops it: the spec is cached only
  // from an object's arrival to the next call).
  void trimConverted(Kind kind, nlohmann::json& object);
  // The declaration of an object whose cached copy lost its spec before it
  // was converted (no known way to get there): read from the apiserver
  // again. False when it cannot be read.
  bool convertFromServer(const PlaceKey& key, DeclarationSet& out);
  // Takes in the objects whose status changed and not their spec (a new
  // resourceVersion, the same identity) where they are. False when that was
  // all: the set stays as it is, and declarations() builds no new one.
  bool settleStatusChanges();

  kube::ApiClient& client_;
  std::vector<std::pair<Kind, std::unique_ptr<kube::Informer>>> informers_;
  std::vector<std::unique_ptr<kube::Informer>> stateSecrets_;
  std::mutex mutex_;
  // Where each object's declaration sits in all_, so that the next call
  // moves it over unless the object changed: one copy of them all.
  std::map<PlaceKey, DeclarationPlace> converted_;
  std::uint32_t pass_ = 0;
  DeclarationSet all_;
};

}  // namespace revoca::kubernetes
