#include "declarations/kind.h"

#include <cctype>

namespace revoca {
namespace {

struct KindNames {
  Kind kind;
  std::string name;       // the API's kind
  std::string plural;     // the CRD's spec.names.plural
  std::string shortName;  // the CRD's spec.names.shortNames, "" when it has none
};

// The one place the names are written; crds/*.yaml declare the same.
const std::array<KindNames, kAllKinds.size()>& names() {
  static const std::array<KindNames, kAllKinds.size()> table = {{
      {Kind::CertificateAuthority, "CertificateAuthority", "certificateauthorities", "ca"},
      {Kind::Vault, "Vault", "vaults", ""},
      {Kind::VaultSecret, "VaultSecret", "vaultsecrets", "vs"},
      {Kind::CertificateRevocation, "CertificateRevocation", "certificaterevocations", "crev"},
      {Kind::EmqxDeployment, "EmqxDeployment", "emqxdeployments", "emqx"},
  }};
  return table;
}

std::string lowerCase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

template <typename Matches>
std::optional<Kind> findKind(Matches&& matches) {
  for (const KindNames& entry : names())
    if (matches(entry)) return entry.kind;
  return std::nullopt;
}

const KindNames& namesOf(Kind kind) {
  for (const KindNames& entry : names())
    if (entry.kind == kind) return entry;
  return names().front();  // unreachable: the table lists every kind (tests/declarations/kind_test.cc)
}

}  // namespace

const std::string& kindName(Kind kind) { return namesOf(kind).name; }
const std::string& kindPlural(Kind kind) { return namesOf(kind).plural; }

std::optional<Kind> kindNamed(std::string_view name) {
  return findKind([&](const KindNames& entry) { return entry.name == name; });
}

std::optional<Kind> kindWithPlural(std::string_view plural) {
  return findKind([&](const KindNames& entry) { return entry.plural == plural; });
}

std::optional<Kind> kindCalled(std::string_view word) {
  std::string lower = lowerCase(word);
  if (lower.empty()) return std::nullopt;  // Vault's short name is "": an empty word must not find it
  return findKind([&](const KindNames& entry) {
    return lower == entry.shortName || lower == lowerCase(entry.name) || lower == entry.plural;
  });
}

}  // namespace revoca
