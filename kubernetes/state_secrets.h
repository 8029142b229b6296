#pragma once
// The Secrets revoca keeps its state in, read and written whole: each of
// type Opaque, labelled app.kubernetes.io/managed-by=revoca and
// revoca.io/state=<what>, with no ownerReferences (deleting a
// CertificateAuthority must never garbage-collect its key). An update
// carries the resourceVersion it read, so another writer's change is a 409,
// never lost. What the API sends back is never put into an error message:
// it may be a key.
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "kubeclient/api_client.h"

namespace revoca::kubernetes {

using SecretData = std::map<std::string, std::string>;  // a Secret's data, decoded
using SecretLabels = std::map<std::string, std::string>;

// A Secret as last read or written: the object without its data and
// managedFields (so a write keeps the labels, annotations and finalizers
// others put on it), and the data decoded. No resourceVersion: not in the
// API yet.
struct StoredSecret {
  nlohmann::json object;
  SecretData data;
  std::string resourceVersion() const;
};

// The labels of a state Secret: managed-by, revoca.io/state=`state`, and `label`=`value`.
SecretLabels stateLabels(const std::string& state, const char* label, const std::string& value);

// Conflicts a write retries before it gives up: two writers (the leader and
// revocactl) rarely collide twice in a row, and this leaves room for a burst
// without spinning forever.
inline constexpr int kConflictRetries = 20;
// After a 409, a random pause that grows with the conflicts, so two writers
// appending to one Secret in tight loops stop colliding (client-go's
// RetryOnConflict backs off too).
void pauseAfterConflict(int conflicts);

// A failed request about a state Secret; a 403 asks for all the store needs.
Error stateSecretError(const std::string& verb, const std::string& namespace_, const std::string& name,
                       const kubeclient::ApiError& error);

// A Secret from the API (a list item too), its data decoded. Error: a value
// that is not base64, named by its key.
Result<StoredSecret> storedSecret(nlohmann::json object, const std::string& namespace_, const std::string& name);

class StateSecrets {
 public:
  explicit StateSecrets(kubeclient::ApiClient& api) : api_(api) {}

  kubeclient::ApiClient& api() { return api_; }

  // Nothing (nullopt) when there is no such Secret.
  Result<std::optional<StoredSecret>> read(const std::string& namespace_, const std::string& name);
  // Writes `data` over `base`: an update with its resourceVersion, or a
  // create when it has none. The ApiError comes back as it is, for the
  // caller to retry a 409.
  kubeclient::ApiResult<StoredSecret> write(const std::string& namespace_, const std::string& name,
                                      const SecretLabels& labels, const StoredSecret* base, SecretData data);
  // Reads (or takes `known`), changes, writes back with that
  // resourceVersion; on a 409 reads again and redoes the change. `known`
  // is kept for the next call: what was written, or nullopt once a write
  // failed (what it held is stale then).
  Result<void> modify(const std::string& namespace_, const std::string& name, const SecretLabels& labels,
                      std::optional<StoredSecret>& known, const std::function<Result<void>(SecretData&)>& change);
  // Sets `data`'s keys and `labels` on the Secret as it was at
  // `resourceVersion`, without reading it first: a server-side apply with
  // that resourceVersion as its precondition, so anyone's write since is a
  // 409 (and a deletion a 404 or a 409), never lost; the Secret's other keys,
  // labels and annotations stay as they are. Gives the new resourceVersion.
  kubeclient::ApiResult<std::string> writeAt(const std::string& namespace_, const std::string& name,
                                             const SecretLabels& labels, const std::string& resourceVersion,
                                             const SecretData& data);

 private:
  kubeclient::ApiClient& api_;
};

}  // namespace revoca::kubernetes
