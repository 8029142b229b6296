#include "kubeclient/resource_paths.h"

#include "kubeclient/api_client.h"

namespace revoca::kubeclient {

std::string escapeUrlComponent(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string queryString(const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string out;
  for (const auto& [key, value] : parameters) {
    if (value.empty()) continue;
    out += out.empty() ? '?' : '&';
    out += escapeUrlComponent(key);
    out += '=';
    out += escapeUrlComponent(value);
  }
  return out;
}

std::string metadataString(const nlohmann::json& object, const char* field) {
  if (!object.is_object()) return "";
  const auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "";
  const auto value = metadata->find(field);
  return value != metadata->end() && value->is_string() ? value->get<std::string>() : "";
}

std::string objectKey(const nlohmann::json& object) {
  std::string name = metadataString(object, "name");
  std::string ns = metadataString(object, "namespace");
  return ns.empty() ? name : ns + "/" + name;
}

std::string ResourceRef::path() const {
  // The core group predates API groups and keeps its own root.
  std::string out = group.empty() ? "/api/" + escapeUrlComponent(version)
                                  : "/apis/" + escapeUrlComponent(group) + "/" + escapeUrlComponent(version);
  if (!namespace_.empty()) out += "/namespaces/" + escapeUrlComponent(namespace_);
  out += "/" + escapeUrlComponent(plural);
  if (!name.empty()) out += "/" + escapeUrlComponent(name);
  if (!name.empty() && !subresource.empty()) out += "/" + escapeUrlComponent(subresource);
  return out;
}

}  // namespace revoca::kubeclient
