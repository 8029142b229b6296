// The records registry/record_codec.h writes as JSON: CA versions and
// VaultSecret records. Every field is read with exactly its type (json's
// get would turn 2.5 into 2, and a missing field read as a default is a
// guess), and an error never quotes a value: it may be a key.
#include <algorithm>
#include <limits>

#include <nlohmann/json.hpp>

#include "registry/record_codec.h"

namespace revoca {
namespace {

using nlohmann::json;

std::optional<std::int64_t> integerField(const json& object, const char* field) {
  auto value = object.find(field);
  if (value == object.end() || !value->is_number_integer() ||
      (value->is_number_unsigned() &&
       value->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())))
    return std::nullopt;
  return value->get<std::int64_t>();
}

// One entry of versions.json.
Result<CaVersionRecord> decodeVersion(const json& entry, std::size_t index) {
  std::string where = "entry " + std::to_string(index + 1) + " of versions.json";
  if (!entry.is_object()) return makeError(where + " is not an object");
  for (const char* field : {"certPem", "keyPem"})
    if (!entry.contains(field) || !entry[field].is_string())
      return makeError(where + ": \"" + field + "\" is missing or not a string");
  auto version = integerField(entry, "version");
  auto notBefore = integerField(entry, "notBefore");
  auto notAfter = integerField(entry, "notAfter");
  if (!version || *version < 1 || *version > std::numeric_limits<int>::max())
    return makeError(where + ": \"version\" is missing or not a version number (1 up)");
  if (!notBefore || !notAfter)
    return makeError(where + ": \"notBefore\" or \"notAfter\" is missing or not a whole number");
  // Absent in a version saved before they were kept.
  std::optional<std::vector<std::string>> crlDistUrls;
  if (auto urls = entry.find("crlDistUrls"); urls != entry.end()) {
    bool strings = urls->is_array() && std::all_of(urls->begin(), urls->end(), [](const json& url) {
                     return url.is_string() && !url.get<std::string>().empty();
                   });
    if (!strings) return makeError(where + ": \"crlDistUrls\" is not an array of URLs");
    crlDistUrls = urls->get<std::vector<std::string>>();
  }
  return CaVersionRecord{static_cast<int>(*version),      entry["certPem"].get<std::string>(),
                         entry["keyPem"].get<std::string>(), fromUnixSeconds(*notBefore),
                         fromUnixSeconds(*notAfter),        std::move(crlDistUrls)};
}

json fieldsOf(const SecretRecord& record) {
  return {{"serialHex", record.serialHex},
          {"issuingCa", record.issuingCa},
          {"caVersion", record.caVersion},
          {"notBefore", toUnixSeconds(record.notBefore)},
          {"notAfter", toUnixSeconds(record.notAfter)},
          {"specGeneration", record.specGeneration}};
}

// What is wrong with string field `name`, if anything; else it is in `into`.
std::optional<std::string> readString(const json& object, const char* name, std::string& into) {
  auto field = object.find(name);
  if (field == object.end() || !field->is_string())
    return std::string("field \"") + name + "\" is " + (field == object.end() ? "missing" : "not a string");
  into = field->get<std::string>();
  return std::nullopt;
}

// The fields but the PEMs and the serial, which the two stores named apart.
std::optional<std::string> readCommonFields(const json& object, SecretRecord& record) {
  if (auto wrong = readString(object, "issuingCa", record.issuingCa)) return wrong;
  std::int64_t numbers[4] = {};
  const char* names[4] = {"caVersion", "notBefore", "notAfter", "specGeneration"};
  for (int i = 0; i < 4; ++i) {
    auto number = integerField(object, names[i]);
    if (!number)
      return std::string("field \"") + names[i] + "\" is " +
             (object.contains(names[i]) ? "not a whole number (64 bits)" : "missing");
    numbers[i] = *number;
  }
  if (numbers[0] < 1 || numbers[0] > std::numeric_limits<int>::max())
    return std::string("field \"caVersion\" is not a CA version (1 up)");
  record.caVersion = static_cast<int>(numbers[0]);
  record.notBefore = fromUnixSeconds(numbers[1]);
  record.notAfter = fromUnixSeconds(numbers[2]);
  record.specGeneration = numbers[3];
  return std::nullopt;
}

}  // namespace

std::string encodeCaVersions(const CaRecord& record) {
  json versions = json::array();
  for (const auto& version : record.versions) {
    json entry = {{"version", version.version},
                  {"certPem", version.certPem},
                  {"keyPem", version.keyPem},
                  {"notBefore", toUnixSeconds(version.notBefore)},
                  {"notAfter", toUnixSeconds(version.notAfter)}};
    if (version.crlDistUrls) entry["crlDistUrls"] = *version.crlDistUrls;
    versions.push_back(std::move(entry));
  }
  return versions.dump();
}

Result<CaRecord> decodeCaVersions(std::string_view text) {
  json versions = json::parse(text, nullptr, false);
  if (!versions.is_array()) return makeError("versions.json is not a JSON array");
  CaRecord record;
  for (std::size_t index = 0; index < versions.size(); ++index) {
    auto version = decodeVersion(versions[index], index);
    if (!version) return version.error();
    record.versions.push_back(std::move(*version));
  }
  std::sort(record.versions.begin(), record.versions.end(),
            [](const auto& a, const auto& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < record.versions.size(); ++i)
    if (record.versions[i].version == record.versions[i - 1].version)
      return makeError("versions.json holds version " + std::to_string(record.versions[i].version) + " twice");
  return record;
}

std::string encodeSecretRecordDocument(const SecretRecord& record) {
  json document = fieldsOf(record);
  document["cert"] = record.certPem;
  document["key"] = record.keyPem;
  return document.dump();
}

Result<SecretRecord> decodeSecretRecordDocument(std::string_view text, const std::string& where) {
  json document = json::parse(text, nullptr, false);
  if (!document.is_object()) return makeError(where + ": not valid JSON");
  SecretRecord record;
  auto wrong = readString(document, "cert", record.certPem);
  if (!wrong) wrong = readString(document, "key", record.keyPem);
  // "serial" is what the file store's previous release wrote. Both: which
  // one names the certificate would be a guess.
  if (!wrong && document.contains("serial") && document.contains("serialHex"))
    wrong = "field \"serial\" (the previous name of \"serialHex\") is there beside \"serialHex\"";
  if (!wrong) wrong = readString(document, document.contains("serial") ? "serial" : "serialHex", record.serialHex);
  if (!wrong) wrong = readCommonFields(document, record);
  if (wrong) return makeError(where + ": " + *wrong);
  return record;
}

std::string encodeSecretRecordFields(const SecretRecord& record) { return fieldsOf(record).dump(); }

Result<SecretRecord> decodeSecretRecordFields(std::string_view text, const std::string& where) {
  json fields = json::parse(text, nullptr, false);
  if (!fields.is_object()) return makeError(where + " is not a JSON object");
  SecretRecord record;
  auto wrong = readString(fields, "serialHex", record.serialHex);
  if (!wrong) wrong = readCommonFields(fields, record);
  if (wrong) return makeError(where + " " + *wrong);
  return record;
}

}  // namespace revoca
