#include "kubernetes/cluster_commands.h"

#include <algorithm>
#include <thread>

#include "core/overloaded.h"
#include "kubernetes/follower_ports.h"
#include "kubernetes/names.h"
#include "kubernetes/object_declarations.h"
#include "kubernetes/secret_state_store.h"
#include "pki/crl.h"
#include "reconcilers/authority_commands_json.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

constexpr int kMaxCaDepth = 8;  // root, intermediates: a longer chain is a cycle

std::string apiProblem(const std::string& what, const kubeclient::ApiError& error) {
  if (error.status == 0) return what + ": the apiserver did not answer (" + error.message + "); check --kubeconfig";
  if (error.status == 403)
    return what + ": forbidden (" + error.message + "); your user needs access to revoca's objects and Secrets";
  return what + ": " + error.message;
}

// Loads a CA and its parents from their declarations and state, read-only
// except for ledger appends, into `authorities`.
Result<void> loadCaChain(kubeclient::ApiClient& api, AuthorityService& authorities, StateStore& store,
                         const ObjectKey& key, int depth = 0) {
  if (depth > kMaxCaDepth) return makeError("CertificateAuthority " + key.str() + ": spec.issuingCa chain is a cycle");
  std::string what = "CertificateAuthority " + key.str();
  auto object = api.get(revocaObjects(Kind::CertificateAuthority, key.namespace_, key.name));
  if (!object.ok()) {
    if (object.error.status == 404)
      return makeError(what + " does not exist; list them with kubectl get ca -n " + key.namespace_);
    return makeError(apiProblem("reading " + what, object.error));
  }
  DeclarationSet parsed;
  appendDeclaration(*object.value, parsed);
  if (!parsed.errors.empty()) return makeError(what + " has errors: " + parsed.errors.front().str());
  if (parsed.authorities.empty()) return makeError(what + " could not be read");
  const CertificateAuthority& ca = parsed.authorities.front();
  if (ca.spec.issuingCa)
    if (auto parent = loadCaChain(api, authorities, store, {key.namespace_, *ca.spec.issuingCa}, depth + 1); !parent)
      return parent;

  auto record = store.loadCa(key);
  if (!record) return record.error();
  if (!*record || (*record)->versions.empty())
    return makeError(what + " has no key yet: revoca creates it (is revoca running? kubectl get ca " + key.name +
                     " -n " + key.namespace_ + ")");
  auto uuid = store.tenantUuid(key.namespace_);
  if (!uuid) return uuid.error();
  auto active = authorities.reconcileCa(ca, TenantInfo{key.namespace_, *uuid});
  if (!active) return active.error();
  return {};
}

std::string revocationName(const std::string& ca, const std::string& serialHex) {
  std::string name = ca + "-";
  for (char c : serialHex) name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name.substr(0, 253);
}

std::optional<json> readyCondition(const json& object) {
  for (const auto& condition : object.value("status", json::object()).value("conditions", json::array()))
    if (condition.value("type", "") == "Ready") return condition;
  return std::nullopt;
}

// Declares the revocation and waits until revoca has it in its CRL and OCSP answers.
Result<Revoked> declareRevocation(kubeclient::ApiClient& api, const RevokeCertRequest& request,
                                  const ClusterCommandOptions& options) {
  const std::string& ns = request.ca.namespace_;
  std::string name = revocationName(request.ca.name, request.serialHex);
  json object = {{"apiVersion", std::string(kGroup) + "/" + kVersion},
                 {"kind", kindName(Kind::CertificateRevocation)},
                 {"metadata", {{"name", name}, {"namespace", ns}}},
                 {"spec",
                  {{"ca", request.ca.name},
                   {"serial", request.serialHex},
                   {"reason", pki::revocationReasonName(request.reason)}}}};
  auto created = api.create(revocaObjects(Kind::CertificateRevocation, ns), object);
  bool existed = !created.ok() && created.error.status == 409;
  if (!created.ok() && !existed)
    return makeError(apiProblem("creating CertificateRevocation " + ns + "/" + name, created.error));

  auto deadline = std::chrono::steady_clock::now() + options.confirmTimeout;
  while (true) {
    auto current = api.get(revocaObjects(Kind::CertificateRevocation, ns, name));
    if (current.ok()) {
      auto condition = readyCondition(*current.value);
      auto observed = current.value->value("status", json::object()).value("observedGeneration", std::int64_t{0});
      auto generation = (*current.value)["metadata"].value("generation", std::int64_t{1});
      if (condition && observed == generation) {
        if (condition->value("status", "") != "True") {
          std::string message = "CertificateRevocation " + ns + "/" + name + " is not Ready: " +
                                condition->value("message", std::string("no message"));
          // A mistyped serial: the object this call made would only stand there not Ready.
          if (!existed && condition->value("reason", "") == "SerialNotIssued" &&
              api.remove(revocaObjects(Kind::CertificateRevocation, ns, name)).ok())
            message += " (the CertificateRevocation was deleted again)";
          return makeError(message);
        }
        // An object that existed keeps the reason it was declared with.
        std::string declared = (*current.value)["spec"].value("reason", std::string());
        auto reason = pki::parseRevocationReason(declared).value_or(request.reason);
        return Revoked{request.serialHex, existed, reason, name};
      }
    }
    if (std::chrono::steady_clock::now() >= deadline)
      return makeError("created CertificateRevocation " + ns + "/" + name +
                       " but revoca did not confirm it within " + std::to_string(options.confirmTimeout.count()) +
                       " s; is revoca running? (kubectl get crev " + name + " -n " + ns + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

json clusterStatus(kubeclient::ApiClient& api, const StatusRequest& request) {
  const std::string& ns = request.namespace_;
  json entries = json::array();
  for (Kind kind : kAllKinds) {
    auto list = api.list(revocaObjects(kind, ns), {});
    if (!list.ok()) return commandFailure(apiProblem("listing " + kindPlural(kind) + " in " + ns, list.error));
    for (const auto& item : list.value->value("items", json::array())) {
      json status = item.value("status", json::object());
      auto condition = readyCondition(item);
      json entry = {{"kind", kindName(kind)},
                    {"namespace", ns},
                    {"name", item["metadata"].value("name", "")},
                    {"ready", condition && condition->value("status", "") == "True"},
                    {"reason", condition ? condition->value("reason", "") : "NotReconciled"},
                    {"message", condition ? condition->value("message", "") : "revoca has not reported on it yet"}};
      for (auto& [field, value] : status.items())
        if (field != "conditions") entry[field] = value;
      entries.push_back(entry);
    }
  }
  return commandSuccess(entries);
}

// The last few Events about one object, oldest first, as kubectl describe lists them.
Result<json> recentEvents(kubeclient::ApiClient& api, const std::string& ns, Kind kind, const std::string& name) {
  kubeclient::ListOptions options;
  options.fieldSelector = "involvedObject.kind=" + kindName(kind) + ",involvedObject.name=" + name;
  auto list = api.list(events(ns), options);
  if (!list.ok()) return makeError(apiProblem("listing Events in " + ns, list.error));
  std::vector<json> found;
  for (const auto& event : list.value->value("items", json::array()))
    found.push_back({{"type", event.value("type", "")},
                     {"reason", event.value("reason", "")},
                     {"message", event.value("message", "")},
                     {"time", event.value("lastTimestamp", event.value("eventTime", ""))}});
  std::stable_sort(found.begin(), found.end(), [](const json& a, const json& b) {
    return a["time"].get<std::string>() < b["time"].get<std::string>();
  });
  constexpr std::size_t kShown = 5;
  if (found.size() > kShown) found.erase(found.begin(), found.end() - kShown);
  return json(found);
}

// One object, in the shape revocactl prints: its Ready condition, the status
// facts, recent Events and the current certificate from the state.
json objectStatus(kubeclient::ApiClient& api, const StatusRequest& request, Kind kind) {
  const std::string& ns = request.namespace_;
  const std::string& name = request.name;
  std::string what = kindName(kind) + " " + ns + "/" + name;
  auto object = api.get(revocaObjects(kind, ns, name));
  if (!object.ok())
    return commandFailure(object.error.status == 404
                              ? what + " does not exist (kubectl get " + kindPlural(kind) + " -n " + ns + ")"
                              : apiProblem("reading " + what, object.error));
  auto condition = readyCondition(*object.value);
  json facts = json::object();
  json status = object.value->value("status", json::object());
  for (auto& [field, value] : status.items())
    if (field != "conditions") facts[field] = value;
  json entry = {{"kind", kindName(kind)},
                {"namespace", ns},
                {"name", name},
                {"ready", condition && condition->value("status", "") == "True"},
                {"reason", condition ? condition->value("reason", "") : "NotReconciled"},
                {"message", condition ? condition->value("message", "") : "revoca has not reported on it yet"},
                {"since", condition ? condition->value("lastTransitionTime", "") : ""},
                {"facts", facts}};
  if (auto found = recentEvents(api, ns, kind, name)) entry["events"] = *found;
  else entry["eventsError"] = found.error().message;
  SecretStateStore store(api);
  if (auto described = describeCertificate(store, kind, {ns, name})) entry["certificate"] = toJson(*described);
  else entry["certificateError"] = described.error().message;
  return commandSuccess(entry);
}

}  // namespace

json runClusterCommand(kubeclient::ApiClient& api, const Clock& clock, const json& request,
                       const ClusterCommandOptions& options) {
  auto parsed = parseRevocactlRequest(request);
  if (!parsed) return commandFailure(parsed.error().message);
  SecretStateStore secrets(api);
  ReadOnlyStateStore store(
      secrets, [&](const ObjectKey& ca, int version) { return secrets.recordedCrlStamp(ca, version); },
      ReadOnlyStateStore::Writes::kLedgerOnly);
  CaRegistry registry(clock);
  AuthorityService authorities(store, registry, clock);
  AuthorityCommandContext context{authorities, store, registry, clock};
  // issue-cert, get-crl and get-ca-cert act on a CA this process loads first.
  auto withCa = [&](const ObjectKey& ca, auto command) -> json {
    if (auto loaded = loadCaChain(api, authorities, store, ca); !loaded) return commandFailure(loaded.error().message);
    return commandAnswer(command());
  };
  return std::visit(
      Overloaded{
          [&](const IssueCertRequest& typed) { return withCa(typed.ca, [&] { return issueCert(context, typed); }); },
          [&](const CrlRequest& typed) { return withCa(typed.ca, [&] { return getCrl(context, typed); }); },
          [&](const CaCertRequest& typed) { return withCa(typed.ca, [&] { return getCaCert(context, typed); }); },
          [&](const TenantUuidRequest& typed) { return commandAnswer(getTenantUuid(context, typed)); },
          [&](const RevokeCertRequest& typed) { return commandAnswer(declareRevocation(api, typed, options)); },
          [&](const StatusRequest& typed) {
            return typed.kind ? objectStatus(api, typed, *typed.kind) : clusterStatus(api, typed);
          },
      },
      *parsed);
}

}  // namespace revoca::kubernetes
