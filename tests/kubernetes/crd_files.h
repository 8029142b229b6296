#pragma once
// revoca's CRDs (crds/*.yaml) as the JSON the apiserver takes, for tests
// that apply them or compare against their schemas.
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace revoca::kubernetes::testing {

inline const std::filesystem::path kCrds = std::filesystem::path(REVOCA_SOURCE_DIR) / "crds";

// YAML as Kubernetes reads it: a quoted scalar is a string, a plain one may
// be a boolean, null or number.
inline nlohmann::json toJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& entry : node) out[entry.first.as<std::string>()] = toJson(entry.second);
      return out;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : node) out.push_back(toJson(item));
      return out;
    }
    case YAML::NodeType::Scalar: {
      std::string text = node.Scalar();
      if (node.Tag() == "!") return text;
      if (text == "true" || text == "false") return text == "true";
      if (text == "null" || text == "~" || text.empty()) return nullptr;
      std::int64_t integer = 0;
      auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), integer);
      if (error == std::errc() && end == text.data() + text.size()) return integer;
      return text;
    }
    default:
      return nullptr;
  }
}

// One CRD by its plural ("vaultsecrets").
inline nlohmann::json loadCrd(const std::string& plural) {
  return toJson(YAML::LoadFile((kCrds / (plural + ".yaml")).string()));
}

}  // namespace revoca::kubernetes::testing
