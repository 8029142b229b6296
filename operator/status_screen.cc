#include "operator/status_screen.h"

#include <sstream>

#include "pki/certificate.h"
#include "pki/ocsp_client.h"
#include "reconcilers/time_format.h"

namespace revoca {
namespace {

using nlohmann::json;

std::string text(const json& object, const char* field) {
  auto it = object.find(field);
  if (it == object.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// The kind of the verb's answer, nullopt when it names none of revoca's.
std::optional<Kind> kindOf(const json& entry) { return kindNamed(text(entry, "kind")); }

void row(std::ostringstream& out, const std::string& label, const std::string& value, int indent = 0) {
  if (value.empty()) return;
  std::string padded = std::string(indent, ' ') + label + ":";
  padded.resize(std::max<std::size_t>(padded.size() + 1, 18), ' ');
  out << padded << value << "\n";
}

}  // namespace

std::optional<ObjectName> parseObjectName(const std::string& text, std::string& error) {
  auto slash = text.find('/');
  std::optional<Kind> kind = kindCalled(std::string_view(text).substr(0, slash));
  if (slash == std::string::npos || !kind || slash + 1 == text.size()) {
    error = "name the object as KIND/NAME, e.g. vaultsecret/server-cert or ca/mqtt-ca (got \"" + text + "\")";
    return std::nullopt;
  }
  return ObjectName{*kind, text.substr(slash + 1)};
}

void addOcspCheck(json& entry) {
  if (kindOf(entry) != Kind::VaultSecret || !entry.contains("certificate")) return;
  const json& described = entry["certificate"];
  auto leaf = pki::Certificate::fromPem(text(described, "certificate"));
  auto issuer = pki::Certificate::fromPem(text(described, "issuer"));
  if (!leaf || !issuer) return;
  auto check = pki::checkOcsp(*leaf, *issuer);
  if (!check) {
    entry["ocsp"] = {{"url", pki::ocspUrlOf(*leaf).value_or("")}, {"error", check.error().message}};
    return;
  }
  json ocsp = {{"url", check->url}, {"status", check->status}, {"thisUpdate", formatTimestamp(check->thisUpdate)}};
  if (check->nextUpdate) ocsp["nextUpdate"] = formatTimestamp(*check->nextUpdate);
  if (check->revokedAt) ocsp["revokedAt"] = formatTimestamp(*check->revokedAt);
  if (check->revocationReason) ocsp["reason"] = *check->revocationReason;
  entry["ocsp"] = ocsp;
}

std::string renderStatusScreen(const json& entry) {
  std::ostringstream out;
  out << text(entry, "kind") << " " << text(entry, "namespace") << "/" << text(entry, "name") << "\n";
  std::string ready = entry.value("ready", false) ? "True" : "False";
  std::string since = text(entry, "since");
  row(out, "Ready", ready + "  " + text(entry, "reason") + (since.empty() ? "" : "  since " + since));
  row(out, "Message", text(entry, "message"));

  json facts = entry.value("facts", json::object());
  if (entry.contains("certificate")) {
    const json& described = entry["certificate"];
    out << "Certificate:\n";
    row(out, "Serial", text(described, "serial"), 2);
    if (auto cert = pki::Certificate::fromPem(text(described, "certificate")))
      row(out, "Subject CN", cert->subjectCommonName(), 2);
    row(out, "Not before", text(described, "notBefore"), 2);
    row(out, "Not after", text(described, "notAfter"), 2);
    row(out, "Renewal time", text(facts, "renewalTime"), 2);
    if (kindOf(entry) == Kind::VaultSecret)
      row(out, "Issuer", kindName(Kind::CertificateAuthority) + " " + text(described, "issuingCa") + " version " +
                             text(described, "caVersion"), 2);
    else
      row(out, "Version", text(described, "caVersion"), 2);
    if (described.contains("revocation")) {
      const json& revocation = described["revocation"];
      row(out, "Revoked", revocation.is_null() ? "no (not in the CA's revocations)"
                                               : "yes, " + text(revocation, "revokedAt") + " (" +
                                                     text(revocation, "reason") + ")", 2);
    }
  } else {
    row(out, "Certificate", text(entry, "certificateError"));
  }
  for (const char* fact : {"crlNumber", "liveVersions", "clientSigningVersion", "clientSwitchTime",
                           "serverSigningVersion", "serverSwitchTime", "crlUrl", "tenantUuid", "deployments",
                           "deployment", "configMap", "fileOwner", "fileMode", "revokedAt"})
    row(out, fact, text(facts, fact));

  if (entry.contains("ocsp")) {
    const json& ocsp = entry["ocsp"];
    if (ocsp.contains("error")) {
      row(out, "OCSP", "no answer: " + text(ocsp, "error"));
    } else {
      std::string status = text(ocsp, "status");
      if (ocsp.contains("reason")) status += " (" + text(ocsp, "reason") + ", " + text(ocsp, "revokedAt") + ")";
      row(out, "OCSP", status);
      row(out, "Responder", text(ocsp, "url"), 2);
      row(out, "This update", text(ocsp, "thisUpdate"), 2);
      row(out, "Next update", text(ocsp, "nextUpdate"), 2);
    }
  }

  if (entry.contains("eventsError")) {
    row(out, "Events", text(entry, "eventsError"));
  } else if (entry.contains("events")) {
    if (entry["events"].empty()) {
      row(out, "Events", "<none>");
    } else {
      out << "Events:\n";
      for (const auto& event : entry["events"])
        out << "  " << text(event, "time") << "  " << text(event, "type") << "  " << text(event, "reason") << "  "
            << text(event, "message") << "\n";
    }
  }
  return out.str();
}

}  // namespace revoca
