#include "declarations/yaml_fields.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "core/duration.h"
#include "core/text.h"

namespace revoca::decl {
namespace {

// A quoted or !!str-tagged scalar is a string even when it reads "true" or
// "2048"; the Kubernetes apiserver rejects those for boolean and integer
// fields, and standalone mode accepts the same documents as the apiserver.
bool isPlainScalar(const YAML::Node& node) { return node.Tag() == "?"; }

// "cert-key-type", "cert_key_type" and "CertKeyType" all become "certkeytype".
std::string foldSpelling(std::string_view text) {
  std::string out;
  for (char c : text)
    if (c != '-' && c != '_') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string joinFields(const std::vector<std::string>& fields) {
  std::string out;
  for (const std::string& field : fields) out += (out.empty() ? "" : ", ") + field;
  return out;
}

}  // namespace

std::string describeNodeType(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return quotedText(node.Scalar());
    default: return "nothing";
  }
}

std::optional<std::string> suggestField(std::string_view unknown, const std::vector<std::string>& known) {
  std::string folded = foldSpelling(unknown);
  for (const std::string& candidate : known)
    if (foldSpelling(candidate) == folded) return candidate;
  // Typos: one or two letters off, but not for names so short that any
  // other short name is that close.
  std::optional<std::string> best;
  std::size_t bestDistance = folded.size() >= 5 ? 3 : 0;
  for (const std::string& candidate : known) {
    std::size_t distance = editDistance(folded, foldSpelling(candidate));
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

FieldReader::FieldReader(YAML::Node node, std::string path, Problems& problems)
    : node_(std::move(node)), path_(std::move(path)), problems_(problems) {}

std::string FieldReader::fieldPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

void FieldReader::fail(std::string_view key, std::string message) {
  // The key may be any unknown field a user typed; both end up in logs and
  // in status JSON, which must stay valid UTF-8 on one line.
  if (!quiet_) problems_.push_back({safeText(fieldPath(key)), safeText(message, kMaxMessage)});
}

void FieldReader::ignore(std::string_view key) { remember(key); }

void FieldReader::remember(std::string_view key) {
  if (std::find(known_.begin(), known_.end(), key) == known_.end()) known_.emplace_back(key);
}

std::optional<YAML::Node> FieldReader::lookup(std::string_view key) {
  remember(key);
  if (!node_.IsMap()) return std::nullopt;
  const YAML::Node& map = node_;  // const: operator[] must not insert
  YAML::Node value = map[std::string(key)];
  if (!value.IsDefined() || value.IsNull()) return std::nullopt;
  return value;
}

bool FieldReader::has(std::string_view key) { return lookup(key).has_value(); }

std::optional<YAML::Node> FieldReader::scalar(std::string_view key, std::string_view expected) {
  std::optional<YAML::Node> value = lookup(key);
  if (value && !value->IsScalar()) {
    fail(key, "expected " + std::string(expected) + ", got " + describeNodeType(*value));
    return std::nullopt;
  }
  return value;
}

bool FieldReader::readString(std::string_view key, std::string& out) {
  std::optional<YAML::Node> value = scalar(key, "a string");
  if (!value || !acceptText(key, value->Scalar())) return false;
  out = value->Scalar();
  return true;
}

bool FieldReader::acceptText(std::string_view key, const std::string& text) {
  if (text.size() > kMaxString) {
    fail(key, "is " + std::to_string(text.size()) + " bytes long; no field of a declaration takes more than " +
                  std::to_string(kMaxString) + ": shorten it");
    return false;
  }
  if (std::size_t at = findUnprintable(text); at != std::string::npos) {
    fail(key, quotedText(text) + " holds a control character or a byte that is not UTF-8 at byte " + std::to_string(at) +
                  " (shown as \\x..); a value is one line of UTF-8 text: remove it");
    return false;
  }
  return true;
}

bool FieldReader::readString(std::string_view key, std::optional<std::string>& out) {
  std::string text;
  if (!readString(key, text)) return false;
  out = std::move(text);
  return true;
}

bool FieldReader::requireString(std::string_view key, std::string& out, std::string_view example) {
  bool present = has(key);
  if (!present) {
    fail(key, "required; add it, e.g. " + std::string(example));
    return false;
  }
  if (!readString(key, out)) return false;
  if (out.empty()) {
    fail(key, "must not be empty; write e.g. " + std::string(example));
    return false;
  }
  return true;
}

bool FieldReader::readStringList(std::string_view key, std::vector<std::string>& out) {
  std::optional<YAML::Node> value = lookup(key);
  if (!value) return false;
  if (!value->IsSequence()) {
    std::string hint =
        value->IsScalar() ? "write it as a list: [" + quotedText(value->Scalar()) + "]" : "write e.g. [a, b]";
    fail(key, "expected a list of strings, got " + describeNodeType(*value) + "; " + hint);
    return false;
  }
  std::vector<std::string> items;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const YAML::Node item = (*value)[i];
    if (!item.IsScalar()) {
      fail(std::string(key) + "[" + std::to_string(i) + "]",
           "expected a string, got " + describeNodeType(item) + "; each list item must be a plain string");
      return false;
    }
    if (!acceptText(std::string(key) + "[" + std::to_string(i) + "]", item.Scalar())) return false;
    items.push_back(item.Scalar());
  }
  out = std::move(items);
  return true;
}

bool FieldReader::readBool(std::string_view key, bool& out) {
  std::optional<YAML::Node> value = scalar(key, "true or false");
  if (!value) return false;
  const std::string& text = value->Scalar();
  // YAML 1.2 booleans only: "yes", "on" and friends mean something else to
  // the apiserver than to a YAML 1.1 reader, so they are refused outright.
  bool isTrue = text == "true" || text == "True" || text == "TRUE";
  bool isFalse = text == "false" || text == "False" || text == "FALSE";
  if (isPlainScalar(*value) && (isTrue || isFalse)) {
    out = isTrue;
    return true;
  }
  fail(key, "expected true or false, got " + describeNodeType(*value) + "; write true or false, unquoted");
  return false;
}

bool FieldReader::readInt(std::string_view key, int& out) {
  std::optional<YAML::Node> value = scalar(key, "a whole number");
  if (!value) return false;
  const std::string& text = value->Scalar();
  int number = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), number);
  if (ec != std::errc() || end != text.data() + text.size() || !isPlainScalar(*value)) {
    fail(key, "expected a whole number, got " + describeNodeType(*value) +
                  "; write digits without quotes, e.g. 2048");
    return false;
  }
  out = number;
  return true;
}

bool FieldReader::readDuration(std::string_view key, Seconds& out) {
  std::string text;
  if (!readString(key, text)) return false;
  Result<Seconds> duration = parseDuration(text);
  if (!duration) {
    fail(key, duration.error().message);
    return false;
  }
  if (duration->count() <= 0) {
    fail(key, "must be longer than 0s; write e.g. 30d or 5m");
    return false;
  }
  out = *duration;
  return true;
}

FieldReader FieldReader::readMap(std::string_view key) {
  std::optional<YAML::Node> value = lookup(key);
  FieldReader nested(value ? *value : YAML::Node(), fieldPath(key), problems_);
  nested.quiet_ = quiet_;
  if (value && !value->IsMap()) {
    fail(key, "expected a map of fields, got " + describeNodeType(*value) + "; write " + std::string(key) +
                  ": {field: value}, or its fields indented on the lines below it");
    nested.quiet_ = true;
  }
  return nested;
}

void FieldReader::reportUnknownFields() {
  if (!node_.IsMap()) return;
  std::vector<std::string> seen;
  std::string where = path_.empty() ? "the document" : path_;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) {
      fail("<key>", "a key of " + where + " is " + describeNodeType(it->first) +
                        "; field names are plain strings");
      continue;
    }
    const std::string& key = it->first.Scalar();
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      fail(key, "given twice in " + where + "; keep one");
      continue;
    }
    seen.push_back(key);
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string message = "unknown field " + quotedText(key);
    if (std::optional<std::string> suggestion = suggestField(key, known_))
      message += "; did you mean " + *suggestion + "?";
    else
      message += "; remove it";
    message += " (fields of " + where + ": " + joinFields(known_) + ")";
    fail(key, std::move(message));
  }
}

}  // namespace revoca::decl
