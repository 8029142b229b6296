#pragma once
// Typed reading of the fields of one YAML map, for declarations. Every read
// names its field, so the reader learns which fields exist and can report the
// unknown ones (with "did you mean certKeyType?" for "cert-key-type") after
// the caller has read all it knows. Problems are collected, never thrown, so
// one pass reports everything wrong with a document.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/clock.h"

namespace revoca::decl {

struct FieldProblem {
  std::string field;    // full path, e.g. "spec.autoCert.ttl"
  std::string message;  // what is wrong and what to write
};
using Problems = std::vector<FieldProblem>;

template <typename T>
struct Choice {
  std::string_view name;
  T value;
};

class FieldReader {
 public:
  // `node` is the map to read (null or undefined: every field absent);
  // `path` its path ("" for the document root, "spec", "spec.autoCert").
  FieldReader(YAML::Node node, std::string path, Problems& problems);

  std::string fieldPath(std::string_view key) const;
  void fail(std::string_view key, std::string message);

  // Present and not null. Marks the field as known, like every reader below.
  bool has(std::string_view key);
  // A known field whose value is accepted as is and not interpreted.
  void ignore(std::string_view key);

  // Each reader leaves `out` as it is when the field is absent or null, and
  // records a problem when the value has the wrong type or syntax. They
  // return true when `out` was set.
  bool readString(std::string_view key, std::string& out);
  bool readString(std::string_view key, std::optional<std::string>& out);
  // `example` completes "add it, e.g. " in the message when it is missing.
  bool requireString(std::string_view key, std::string& out, std::string_view example);
  bool readStringList(std::string_view key, std::vector<std::string>& out);
  bool readBool(std::string_view key, bool& out);
  bool readInt(std::string_view key, int& out);
  bool readDuration(std::string_view key, Seconds& out);  // must be longer than zero

  // `expected` lists the canonical names for the message, e.g. "ecdsa or rsa".
  template <typename T>
  bool readEnum(std::string_view key, const std::vector<Choice<T>>& choices, std::string_view expected,
                T& out) {
    std::string text;
    if (!readString(key, text)) return false;
    for (const Choice<T>& choice : choices) {
      if (choice.name == text) {
        out = choice.value;
        return true;
      }
    }
    fail(key, "unknown value \"" + text + "\"; write " + std::string(expected));
    return false;
  }

  // A nested map. When it is absent the returned reader sees no fields; when
  // it is not a map the problem is recorded once and the nested reader stays
  // quiet, so one mistake does not produce a cascade of "required" errors.
  FieldReader readMap(std::string_view key);

  // Records every field no reader asked for, and fields given twice. Call
  // after reading everything the map may hold.
  void reportUnknownFields();

 private:
  std::optional<YAML::Node> scalar(std::string_view key, std::string_view expected);
  // Every string a declaration gives is checked here, once: at most
  // kMaxString bytes of UTF-8 without control characters, so no value can
  // add a line to a file revoca writes or a NUL to a name it signs.
  bool acceptText(std::string_view key, const std::string& text);
  static constexpr std::size_t kMaxString = 4096;
  static constexpr std::size_t kMaxMessage = 2048;
  std::optional<YAML::Node> lookup(std::string_view key);
  void remember(std::string_view key);

  YAML::Node node_;
  std::string path_;
  Problems& problems_;
  std::vector<std::string> known_;
  bool quiet_ = false;
};

// "map", "list", "string" or "nothing": for "expected X, got Y" messages.
std::string describeNodeType(const YAML::Node& node);

// The known field an unknown spelling most likely meant ("cert-key-type",
// "certkeytype" or "certKeyTyp" -> "certKeyType"), if any.
std::optional<std::string> suggestField(std::string_view unknown, const std::vector<std::string>& known);

}  // namespace revoca::decl
