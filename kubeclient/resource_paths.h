#pragma once
// URL pieces of the Kubernetes API: object paths (ResourceRef::path() is in
// resource_paths.cc), escaping, and the "namespace/name" keys the caches and
// the work queue use.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace revoca::kubeclient {

// Percent-encodes all but RFC 3986's unreserved characters, so a name or a
// label selector ("app in (a,b)") cannot change the URL's structure.
std::string escapeUrlComponent(std::string_view text);

// "?a=1&b=x%20y" from the pairs whose value is not empty; "" when none are.
std::string queryString(const std::vector<std::pair<std::string, std::string>>& parameters);

// client-go's MetaNamespaceKeyFunc: "namespace/name", or "name" when cluster-scoped.
std::string objectKey(const nlohmann::json& object);

// object.metadata.<field> when it is a string, else "" (never throws on odd JSON).
std::string metadataString(const nlohmann::json& object, const char* field);

}  // namespace revoca::kubeclient
