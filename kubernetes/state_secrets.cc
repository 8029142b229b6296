#include "kubernetes/state_secrets.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "kubeclient/config_files.h"
#include "kubernetes/api_failure.h"
#include "kubernetes/names.h"

namespace revoca::kubernetes {

using nlohmann::json;

std::string StoredSecret::resourceVersion() const {
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  return metadata->value("resourceVersion", "");
}

SecretLabels stateLabels(const std::string& state, const char* label, const std::string& value) {
  return {{kManagedByLabel, kManagedByValue}, {kStateLabel, state}, {label, value}};
}

void pauseAfterConflict(int conflicts) {
  thread_local std::mt19937 random{std::random_device{}()};
  int ceiling = std::min(500, 10 << std::min(conflicts, 6));
  std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, ceiling)(random)));
}

Error stateSecretError(const std::string& verb, const std::string& namespace_, const std::string& name,
                       const kubeclient::ApiError& error) {
  return apiFailure(verb, {"Secret " + namespace_ + "/" + name, "secrets", namespace_, "get, list, create, update and patch"},
                    error);
}

// Without the data and managedFields: nobody reads them here, and they would
// double what is cached.
Result<StoredSecret> storedSecret(json object, const std::string& namespace_, const std::string& name) {
  SecretData data;
  if (auto found = object.find("data"); found != object.end() && found->is_object()) {
    for (const auto& [key, value] : found->items()) {
      if (!value.is_string()) return makeError("Secret " + namespace_ + "/" + name + ": data." + key + " is not a string");
      auto decoded = kubeclient::decodeBase64(value.get<std::string>());
      if (!decoded) return makeError("Secret " + namespace_ + "/" + name + ": data." + key + " is not base64");
      data[key] = std::move(*decoded);
    }
    object.erase("data");
  }
  if (object.contains("metadata") && object["metadata"].is_object()) object["metadata"].erase("managedFields");
  return StoredSecret{std::move(object), std::move(data)};
}

Result<std::optional<StoredSecret>> StateSecrets::read(const std::string& namespace_, const std::string& name) {
  auto secret = api_.get(secrets(namespace_, name));
  if (!secret.ok()) {
    if (secret.error.status == 404) return std::optional<StoredSecret>();
    return stateSecretError("get", namespace_, name, secret.error);
  }
  auto stored = storedSecret(std::move(*secret.value), namespace_, name);
  if (!stored) return stored.error();
  return std::optional<StoredSecret>(std::move(*stored));
}

namespace {

json encodedData(const SecretData& data) {
  json encoded = json::object();
  for (const auto& [key, value] : data) encoded[key] = kubeclient::encodeBase64(value);
  return encoded;
}

}  // namespace

kubeclient::ApiResult<StoredSecret> StateSecrets::write(const std::string& namespace_, const std::string& name,
                                                  const SecretLabels& labels, const StoredSecret* base,
                                                  SecretData data) {
  bool creating = !base || base->resourceVersion().empty();
  json object = creating ? json{{"apiVersion", "v1"},
                                {"kind", "Secret"},
                                {"type", "Opaque"},
                                {"metadata", {{"name", name}, {"namespace", namespace_}}}}
                         : base->object;
  // Also puts back labels someone removed: listing by label must find every chunk.
  for (const auto& [key, value] : labels) object["metadata"]["labels"][key] = value;
  object["data"] = encodedData(data);

  auto written = creating ? api_.create(secrets(namespace_), object) : api_.update(secrets(namespace_, name), object);
  if (!written.ok()) return {std::nullopt, written.error};
  // The answer echoes the data just sent: decoding it again would cost as
  // much as the write (a ledger chunk is up to ~22 KiB of base64).
  written.value->erase("data");
  auto stored = storedSecret(std::move(*written.value), namespace_, name);
  json rest = stored ? std::move(stored->object) : json::object();
  if (!stored) {
    // The write took; only its echo is odd. Keep what was sent, minus the data.
    rest = std::move(object);
    rest.erase("data");
  }
  return {StoredSecret{std::move(rest), std::move(data)}, {}};
}

kubeclient::ApiResult<std::string> StateSecrets::writeAt(const std::string& namespace_, const std::string& name,
                                                         const SecretLabels& labels,
                                                         const std::string& resourceVersion, const SecretData& data) {
  json object = {{"apiVersion", "v1"},
                 {"kind", "Secret"},
                 {"metadata",
                  {{"name", name}, {"namespace", namespace_}, {"resourceVersion", resourceVersion}, {"labels", labels}}},
                 {"data", encodedData(data)}};
  auto applied = api_.apply(secrets(namespace_, name), object, kFieldManager);
  if (!applied.ok()) return {std::nullopt, applied.error};
  // A write that took but whose answer lacks the version: the next write reads first.
  return {StoredSecret{std::move(*applied.value), {}}.resourceVersion(), {}};
}

Result<void> StateSecrets::modify(const std::string& namespace_, const std::string& name, const SecretLabels& labels,
                                  std::optional<StoredSecret>& known,
                                  const std::function<Result<void>(SecretData&)>& change) {
  for (int attempt = 0; attempt <= kConflictRetries; ++attempt) {
    if (!known) {
      auto current = read(namespace_, name);
      if (!current) return current.error();
      known = current->value_or(StoredSecret{});  // no resourceVersion: absent, to be created
    }
    SecretData data = known->data;
    if (auto changed = change(data); !changed) return changed;
    bool creating = known->resourceVersion().empty();
    auto written = write(namespace_, name, labels, creating ? nullptr : &*known, std::move(data));
    if (written.ok()) {
      known = std::move(*written.value);
      return {};
    }
    known.reset();  // whatever happened, what was known is stale now
    // 409: another writer came first (or created it first); 404 on update: deleted meanwhile.
    if (written.error.status == 409 || (!creating && written.error.status == 404)) {
      spdlog::debug("Secret {}/{}: {} on {}, reading it again (attempt {})", namespace_, name, written.error.status,
                    creating ? "create" : "update", attempt + 1);
      pauseAfterConflict(attempt);
      continue;
    }
    return stateSecretError(creating ? "create" : "update", namespace_, name, written.error);
  }
  return makeError("cannot update Secret " + namespace_ + "/" + name + ": still conflicting after " +
                   std::to_string(kConflictRetries + 1) + " attempts; another writer keeps changing it");
}

}  // namespace revoca::kubernetes
