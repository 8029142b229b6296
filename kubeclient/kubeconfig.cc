// Kubeconfig loading as client-go's clientcmd does it: the files of the
// KUBECONFIG list are merged (the first file to define a name, or to set
// current-context, wins), paths are relative to the file that holds them,
// and every error names the file and the entry to fix.
#include "kubeclient/kubeconfig.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <vector>

#include "kubeclient/config_files.h"

namespace revoca::kubeclient {
namespace {

namespace fs = std::filesystem;

// One named cluster, user or context, and the file it came from.
struct Entry {
  std::string file;
  std::string kind;  // "cluster", "user", "context": for messages
  std::string name;
  YAML::Node body;

  Error error(const std::string& what) const {
    return makeError("kubeconfig " + file + ": " + kind + " \"" + name + "\" " + what);
  }

  Result<std::string> text(const char* key) const {
    const YAML::Node node = body[key];
    if (!node || node.IsNull()) return std::string();
    if (!node.IsScalar()) return error(std::string("has a ") + key + " that is not a string");
    return node.Scalar();
  }

  // A relative path is relative to this entry's file, not to the working directory.
  std::string resolve(const std::string& path) const {
    if (path.empty() || fs::path(path).is_absolute()) return path;
    return (fs::path(file).parent_path() / path).string();
  }

  // PEM from `key` (a file) or `key-data` (base64); setting both is ambiguous.
  Result<std::string> material(const std::string& key) const {
    auto path = text(key.c_str());
    if (!path) return path.error();
    auto data = text((key + "-data").c_str());
    if (!data) return data.error();
    if (!path->empty() && !data->empty()) return error("sets both " + key + " and " + key + "-data; keep one");
    if (!data->empty()) {
      auto decoded = decodeBase64(*data);
      if (!decoded) return error("has a " + key + "-data that is not valid base64");
      return decoded;
    }
    if (path->empty()) return std::string();
    auto contents = readTextFile(resolve(*path));
    if (!contents) return error(key + ": " + contents.error().message);
    return contents;
  }
};

struct Merged {
  std::vector<std::string> files;
  std::map<std::string, Entry> clusters, users, contexts;
  std::string currentContext, currentContextFile;
};

std::string joinFiles(const std::vector<std::string>& files) {
  std::string out;
  for (const auto& file : files) out += (out.empty() ? "" : ":") + file;
  return out;
}

Result<void> mergeSection(const YAML::Node& root, const std::string& file, const char* section, const char* kind,
                          std::map<std::string, Entry>& into) {
  const YAML::Node list = root[section];
  if (!list || list.IsNull()) return {};
  if (!list.IsSequence()) return makeError("kubeconfig " + file + ": " + section + " must be a list");
  for (const auto& item : list) {
    const YAML::Node name = item.IsMap() ? item["name"] : YAML::Node();
    if (!name || !name.IsScalar() || name.Scalar().empty())
      return makeError("kubeconfig " + file + ": an entry of " + section + " has no name");
    Entry entry{file, kind, name.Scalar(), item[kind]};
    if (!entry.body || entry.body.IsNull()) entry.body = YAML::Node(YAML::NodeType::Map);  // "user: {}" in effect
    if (!entry.body.IsMap()) return entry.error(std::string("has a \"") + kind + "\" that is not a mapping");
    into.try_emplace(entry.name, std::move(entry));  // the first file to define a name wins
  }
  return {};
}

Result<void> mergeFile(const std::string& file, Merged& merged) {
  auto contents = readTextFile(file);
  if (!contents) return makeError("kubeconfig: " + contents.error().message);
  YAML::Node root;
  try {
    root = YAML::Load(*contents);
  } catch (const YAML::Exception& e) {
    return makeError("kubeconfig " + file + ": not valid YAML: " + e.what());
  }
  merged.files.push_back(file);
  if (!root || root.IsNull()) return {};  // an empty file adds nothing, as in clientcmd
  if (!root.IsMap()) return makeError("kubeconfig " + file + ": expected a mapping with clusters, users and contexts");
  for (auto [section, kind] : {std::pair{"clusters", "cluster"}, {"users", "user"}, {"contexts", "context"}}) {
    if (auto merged_ = mergeSection(root, file, section, kind,
                                    kind == std::string("cluster") ? merged.clusters
                                    : kind == std::string("user")  ? merged.users
                                                                   : merged.contexts);
        !merged_)
      return merged_.error();
  }
  const YAML::Node current = root["current-context"];
  if (merged.currentContext.empty() && current && current.IsScalar() && !current.Scalar().empty()) {
    merged.currentContext = current.Scalar();
    merged.currentContextFile = file;
  }
  return {};
}

Result<void> applyCluster(const Entry& cluster, ConnectionConfig& config) {
  auto server = cluster.text("server");
  if (!server) return server.error();
  if (server->empty()) return cluster.error("has no server");
  config.server = *server;
  while (config.server.size() > 1 && config.server.back() == '/') config.server.pop_back();
  auto ca = cluster.material("certificate-authority");
  if (!ca) return ca.error();
  config.caPem = std::move(*ca);
  config.origin = "kubeconfig " + cluster.file + ", cluster \"" + cluster.name + "\"";
  auto caPath = cluster.text("certificate-authority");
  config.trustOrigin = config.caPem.empty()         ? "the system's trusted roots (it sets no certificate-authority)"
                       : caPath && !caPath->empty() ? "its certificate-authority " + cluster.resolve(*caPath)
                                                    : "its certificate-authority-data";
  const YAML::Node insecure = cluster.body["insecure-skip-tls-verify"];
  if (insecure && !insecure.IsNull()) {
    bool value = false;
    if (!YAML::convert<bool>::decode(insecure, value))
      return cluster.error("has an insecure-skip-tls-verify that is not true or false");
    config.insecureSkipTlsVerify = value;
  }
  return {};
}

Result<void> applyUser(const Entry& user, ConnectionConfig& config) {
  auto cert = user.material("client-certificate");
  if (!cert) return cert.error();
  auto key = user.material("client-key");
  if (!key) return key.error();
  if (cert->empty() != key->empty())
    return user.error(cert->empty() ? "has a client-key but no client-certificate"
                                    : "has a client-certificate but no client-key");
  config.clientCertPem = std::move(*cert);
  config.clientKeyPem = std::move(*key);
  auto token = user.text("token");
  if (!token) return token.error();
  config.bearerToken = *token;
  auto tokenFile = user.text("tokenFile");
  if (!tokenFile) return tokenFile.error();
  if (!tokenFile->empty()) {
    // Read now so a wrong path fails at start-up; the client re-reads it as it rotates.
    config.bearerTokenFile = user.resolve(*tokenFile);
    auto contents = readTextFile(config.bearerTokenFile);
    if (!contents) return user.error("tokenFile: " + contents.error().message);
    if (config.bearerToken.empty()) config.bearerToken = trimSpace(*contents);
  }
  bool hasCredentials = !config.clientCertPem.empty() || !config.bearerToken.empty() || !config.bearerTokenFile.empty();
  if (!hasCredentials) {
    if (user.body["exec"]) return user.error("uses an exec credential plugin, which revoca does not run; use a client certificate or a token");
    if (user.body["auth-provider"]) return user.error("uses an auth-provider, which revoca does not support; use a client certificate or a token");
    if (user.body["username"]) return user.error("uses basic authentication, which kube-apiserver no longer accepts; use a client certificate or a token");
  }
  return {};
}

Result<ConnectionConfig> resolve(const Merged& merged, const std::string& chosenContext) {
  const std::string name = chosenContext.empty() ? merged.currentContext : chosenContext;
  if (name.empty())
    return makeError("kubeconfig " + joinFiles(merged.files) + ": no current-context is set; choose a context");
  auto context = merged.contexts.find(name);
  if (context == merged.contexts.end()) {
    if (chosenContext.empty())
      return makeError("kubeconfig " + merged.currentContextFile + ": current-context names context \"" + name +
                       "\" which is not defined");
    return makeError("kubeconfig " + joinFiles(merged.files) + ": context \"" + name + "\" is not defined");
  }
  const Entry& ctx = context->second;
  auto clusterName = ctx.text("cluster");
  if (!clusterName) return clusterName.error();
  if (clusterName->empty()) return ctx.error("names no cluster");
  auto cluster = merged.clusters.find(*clusterName);
  if (cluster == merged.clusters.end()) return ctx.error("names cluster \"" + *clusterName + "\" which is not defined");
  auto userName = ctx.text("user");
  if (!userName) return userName.error();
  auto ns = ctx.text("namespace");
  if (!ns) return ns.error();

  ConnectionConfig config;
  config.namespace_ = ns->empty() ? "default" : *ns;
  if (auto applied = applyCluster(cluster->second, config); !applied) return applied.error();
  if (!userName->empty()) {  // no user: anonymous, as clientcmd allows
    auto user = merged.users.find(*userName);
    if (user == merged.users.end()) return ctx.error("names user \"" + *userName + "\" which is not defined");
    if (auto applied = applyUser(user->second, config); !applied) return applied.error();
  }
  return config;
}

}  // namespace

Result<ConnectionConfig> loadKubeconfig(const std::string& explicitPath, const std::string& context) {
  Merged merged;
  if (!explicitPath.empty()) {
    if (auto loaded = mergeFile(explicitPath, merged); !loaded) return loaded.error();
    return resolve(merged, context);
  }
  const char* list = std::getenv("KUBECONFIG");
  if (list && *list) {
    std::set<std::string> seen;
    std::string listed(list), file;
    for (std::size_t start = 0; start <= listed.size();) {
      std::size_t end = listed.find(':', start);
      if (end == std::string::npos) end = listed.size();
      file = listed.substr(start, end - start);
      start = end + 1;
      // Missing files in the list are skipped, as clientcmd does.
      if (file.empty() || !seen.insert(file).second || !fs::exists(file)) continue;
      if (auto loaded = mergeFile(file, merged); !loaded) return loaded.error();
    }
    if (merged.files.empty()) return makeError("kubeconfig: none of the files in KUBECONFIG (" + listed + ") exists");
    return resolve(merged, context);
  }
  const char* home = std::getenv("HOME");
  if (!home || !*home) return makeError("kubeconfig: no --kubeconfig, no KUBECONFIG and no HOME to find ~/.kube/config");
  if (auto loaded = mergeFile(std::string(home) + "/.kube/config", merged); !loaded)
    return makeError(loaded.error().message + " (no --kubeconfig nor KUBECONFIG was given)");
  return resolve(merged, context);
}

}  // namespace revoca::kubeclient
