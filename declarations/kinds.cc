#include "declarations/kinds.h"

#include <algorithm>
#include <utility>

#include "core/duration.h"
#include "core/text.h"
#include "declarations/values.h"

namespace revoca::decl {
namespace {

// A field naming another revoca object (a CA, a Vault, a VaultSecret).
bool readReference(FieldReader& reader, std::string_view key, std::string& out, std::string_view example,
                   bool required) {
  bool read = required ? reader.requireString(key, out, example) : reader.readString(key, out);
  if (!read) return false;
  if (Result<void> valid = checkObjectName(out); !valid) {
    reader.fail(key, "not an object name: " + valid.error().message);
    return false;
  }
  return true;
}

// Each name becomes a directory OUTPUT/<namespace>/<name>/ in standalone
// mode and a Deployment in a cluster, so it must be a Deployment name: never
// "..", a path, or a second spelling of a name already listed.
std::vector<std::string> readDistributeDeployments(FieldReader& spec) {
  std::vector<std::string> deployments;
  FieldReader distribute = spec.readMap("distribute");
  if (distribute.readStringList("deployments", deployments)) {
    for (auto name = deployments.begin(); name != deployments.end(); ++name) {
      std::string field = "deployments[" + std::to_string(name - deployments.begin()) + "]";
      if (Result<void> valid = checkDeploymentName(*name); !valid)
        distribute.fail(field, valid.error().message);
      else if (std::find(deployments.begin(), name, *name) != name)
        distribute.fail(field, quotedText(*name) + " is listed twice; keep one");
    }
  }
  distribute.reportUnknownFields();
  return deployments;
}

// True when `key` is absent (the default stands) or holds a valid duration:
// only then may it be compared with another duration.
bool durationUsable(FieldReader& reader, std::string_view key, Seconds& out) {
  return !reader.has(key) || reader.readDuration(key, out);
}

// A renewal threshold at or beyond the lifetime would renew on every pass.
void checkShorter(FieldReader& reader, const std::string& thresholdKey, Seconds threshold,
                  Seconds lifetime, const std::string& lifetimeKey) {
  if (threshold < lifetime) return;
  reader.fail(thresholdKey, thresholdKey + " " + formatDuration(threshold) + " must be shorter than " +
                                lifetimeKey + " " + formatDuration(lifetime) +
                                ", or it would be renewed as soon as it is issued; shorten " +
                                thresholdKey + " (e.g. to half of " + lifetimeKey + ") or lengthen " +
                                lifetimeKey);
}

void readKey(FieldReader& spec, pki::KeySpec& key) {
  using pki::Curve;
  using pki::KeyType;
  bool typeGiven = spec.has("certKeyType");
  bool typeRead = spec.readEnum<KeyType>(
      "certKeyType", {{"ecdsa", KeyType::Ecdsa}, {"rsa", KeyType::Rsa}}, "ecdsa or rsa", key.type);
  // OpenSSL, NIST and Go spell the same curves differently; take any of them.
  bool curveRead = spec.readEnum<Curve>(
      "certKeyCurve",
      {{"secp256r1", Curve::P256}, {"prime256v1", Curve::P256}, {"P-256", Curve::P256},
       {"secp384r1", Curve::P384}, {"P-384", Curve::P384},
       {"secp521r1", Curve::P521}, {"P-521", Curve::P521}},
      "secp256r1, secp384r1 or secp521r1", key.curve);
  bool sizeRead = spec.readInt("certKeySize", key.rsaBits);
  if (sizeRead && key.rsaBits != 2048 && key.rsaBits != 3072 && key.rsaBits != 4096) {
    spec.fail("certKeySize", "RSA keys of " + std::to_string(key.rsaBits) +
                                 " bits are not supported; write 2048, 3072 or 4096");
    key.rsaBits = 2048;
  }
  if (typeGiven && !typeRead) return;  // already reported; the pairing checks would only add noise
  if (key.type == KeyType::Rsa && curveRead)
    spec.fail("certKeyCurve", "applies to ecdsa keys only; remove it, or set certKeyType: ecdsa");
  if (key.type == KeyType::Ecdsa && sizeRead)
    spec.fail("certKeySize", "applies to rsa keys only; remove it, or set certKeyType: rsa");
}

void readSubject(FieldReader& spec, const ObjectMeta& meta, pki::Subject& subject) {
  FieldReader reader = spec.readMap("subject");
  subject.commonName = meta.name;
  if (reader.readString("commonName", subject.commonName) && subject.commonName.empty())
    reader.fail("commonName", "must not be empty; leave it out to use the CA's name");
  reader.readString("organization", subject.organization);
  reader.readString("organizationalUnit", subject.organizationalUnit);
  // RFC 5280's upper bounds (ub-common-name, ub-organization-name, ub-organizational-unit-name).
  for (auto [key, value] : {std::pair<const char*, const std::string*>{"commonName", &subject.commonName},
                            {"organization", &subject.organization},
                            {"organizationalUnit", &subject.organizationalUnit}})
    if (value->size() > 64)
      reader.fail(key, "is " + std::to_string(value->size()) +
                           " bytes long; RFC 5280 allows at most 64 in a certificate's subject: shorten it");
  if (reader.readString("country", subject.country)) {
    const std::string& c = subject.country;
    auto upper = [](char letter) { return letter >= 'A' && letter <= 'Z'; };
    if (c.size() != 2 || !upper(c[0]) || !upper(c[1]))
      reader.fail("country",
                  quotedText(c) + " is not a country code; write two upper-case letters (ISO 3166), e.g. SE");
  }
  reader.reportUnknownFields();
}

void readUrlTemplates(FieldReader& spec, std::string_view key, std::vector<std::string>& urls) {
  if (!spec.readStringList(key, urls)) return;
  for (std::size_t i = 0; i < urls.size(); ++i)
    if (Result<void> valid = checkHttpUrlTemplate(urls[i]); !valid)
      spec.fail(std::string(key) + "[" + std::to_string(i) + "]", valid.error().message);
}

// A new version waits while the one before still signs; that one expires
// renewThreshold after the new one is made, and certificates it signs with it.
void readRotationSettings(FieldReader& spec, CertificateAuthoritySpec& ca, bool thresholdUsable) {
  FieldReader reader = spec.readMap("rotation");
  for (auto [key, value] : {std::pair<const char*, std::optional<Seconds>*>{"propagationDelay", &ca.propagationDelay},
                            {"trustRolloutPeriod", &ca.trustRolloutPeriod}}) {
    Seconds read{};
    if (!reader.has(key) || !reader.readDuration(key, read)) continue;
    *value = read;
    if (thresholdUsable && read >= ca.renewThreshold)
      reader.fail(key, std::string(key) + " " + formatDuration(read) + " must be shorter than renewThreshold " +
                           formatDuration(ca.renewThreshold) +
                           ": the version before signs until then, and it expires renewThreshold after the new "
                           "one is made; shorten " + key + " or lengthen renewThreshold");
  }
  reader.reportUnknownFields();
}

void readOcspSettings(FieldReader& spec, CertificateAuthoritySpec& ca) {
  FieldReader reader = spec.readMap("ocsp");
  reader.readDuration("validity", ca.ocspValidity);
  reader.reportUnknownFields();
}

void readCrlSettings(FieldReader& spec, CertificateAuthoritySpec& ca) {
  FieldReader reader = spec.readMap("crl");
  bool validityUsable = durationUsable(reader, "validity", ca.crlValidity);
  bool maxAgeWritten = reader.has("cacheMaxAge");
  bool maxAgeUsable = durationUsable(reader, "cacheMaxAge", ca.crlCacheMaxAge);
  // Only a value written is compared: the default, under a short validity,
  // is capped at nextUpdate when served.
  if (maxAgeWritten && maxAgeUsable && validityUsable && ca.crlCacheMaxAge > ca.crlValidity)
    reader.fail("cacheMaxAge", "cacheMaxAge " + formatDuration(ca.crlCacheMaxAge) + " is longer than validity " +
                                   formatDuration(ca.crlValidity) +
                                   ": no cache keeps a CRL past its nextUpdate; cacheMaxAge bounds how long an "
                                   "HTTP cache in front of the responder serves a CRL without asking again, so "
                                   "write a few minutes (e.g. 5m)");
  reader.reportUnknownFields();
}

AutoCertSpec readAutoCert(FieldReader& spec) {
  AutoCertSpec autoCert;
  if (!spec.has("autoCert")) {
    spec.fail("autoCert",
              "required; add autoCert: {issuingCa: mqtt-ca, host: mqtt.example.com, certType: server}");
    return autoCert;
  }
  FieldReader reader = spec.readMap("autoCert");
  readReference(reader, "issuingCa", autoCert.issuingCa,
                "issuingCa: mqtt-ca (the name of a CertificateAuthority)", true);
  reader.readEnum<pki::CertType>("certType",
                                 {{"server", pki::CertType::Server}, {"client", pki::CertType::Client}},
                                 "server or client", autoCert.certType);
  bool wildcards = autoCert.certType == pki::CertType::Server;
  if (reader.requireString("host", autoCert.host, "host: mqtt.example.com (the name clients connect to)"))
    if (Result<void> valid = checkHostName(autoCert.host, wildcards); !valid) reader.fail("host", valid.error().message);
  if (reader.readStringList("altNames", autoCert.altNames))
    for (std::size_t i = 0; i < autoCert.altNames.size(); ++i)
      if (Result<void> valid = checkHostName(autoCert.altNames[i], wildcards); !valid)
        reader.fail("altNames[" + std::to_string(i) + "]", valid.error().message);
  bool ttlUsable = durationUsable(reader, "ttl", autoCert.ttl);
  bool thresholdUsable = durationUsable(reader, "refreshThreshold", autoCert.refreshThreshold);
  if (ttlUsable && thresholdUsable)
    checkShorter(reader, "refreshThreshold", autoCert.refreshThreshold, autoCert.ttl, "ttl");
  reader.reportUnknownFields();
  return autoCert;
}

}  // namespace

CertificateAuthoritySpec readCertificateAuthoritySpec(FieldReader& spec, const ObjectMeta& meta) {
  CertificateAuthoritySpec ca;
  bool ttlUsable = durationUsable(spec, "ttl", ca.ttl);
  readKey(spec, ca.key);
  spec.readEnum<pki::Digest>(
      "digest",
      {{"sha256", pki::Digest::Sha256}, {"sha384", pki::Digest::Sha384}, {"sha512", pki::Digest::Sha512}},
      "sha256, sha384 or sha512", ca.digest);
  readSubject(spec, meta, ca.subject);
  std::string issuingCa;
  if (readReference(spec, "issuingCa", issuingCa, "", false)) {
    if (issuingCa == meta.name)
      spec.fail("issuingCa", "a CA cannot issue its own certificate; leave issuingCa out for a root CA");
    ca.issuingCa = issuingCa;
  }
  readUrlTemplates(spec, "crlDistUrls", ca.crlDistUrls);
  readUrlTemplates(spec, "ocspResponderUrls", ca.ocspResponderUrls);
  bool thresholdUsable = durationUsable(spec, "renewThreshold", ca.renewThreshold);
  if (ttlUsable && thresholdUsable) checkShorter(spec, "renewThreshold", ca.renewThreshold, ca.ttl, "ttl");
  readCrlSettings(spec, ca);
  readOcspSettings(spec, ca);
  readRotationSettings(spec, ca, ttlUsable && thresholdUsable);
  ca.distributeDeployments = readDistributeDeployments(spec);
  spec.reportUnknownFields();
  return ca;
}

VaultSpec readVaultSpec(FieldReader& spec) {
  VaultSpec vault;
  vault.distributeDeployments = readDistributeDeployments(spec);
  spec.reportUnknownFields();
  return vault;
}

VaultSecretSpec readVaultSecretSpec(FieldReader& spec) {
  VaultSecretSpec secret;
  readReference(spec, "vault", secret.vault, "vault: mqtt-vault (the name of a Vault)", true);
  spec.readStringList("allowImageAccess", secret.allowImageAccess);
  secret.autoCert = readAutoCert(spec);
  std::string text;
  if (spec.readString("fileOwnership", text)) {
    Result<FileOwnership> ownership = parseFileOwnership(text);
    if (ownership) secret.fileOwnership = *ownership;
    else spec.fail("fileOwnership", ownership.error().message);
  }
  if (spec.readString("fileMode", text)) {
    Result<int> mode = parseFileMode(text);
    if (mode) secret.fileMode = *mode;
    else spec.fail("fileMode", mode.error().message);
  }
  spec.reportUnknownFields();
  return secret;
}

CertificateRevocationSpec readCertificateRevocationSpec(FieldReader& spec) {
  CertificateRevocationSpec revocation;
  readReference(spec, "ca", revocation.ca,
                "ca: mqtt-ca (the CertificateAuthority that issued the certificate)", true);
  std::string serial;
  if (spec.requireString("serial", serial,
                         "serial: \"4F0A...\" (hex, as `openssl x509 -noout -serial` prints it)")) {
    Result<std::string> normalized = pki::normalizeSerialHex(serial);
    if (normalized)
      revocation.serial = *normalized;
    else
      spec.fail("serial",
                normalized.error().message + "; copy it as `openssl x509 -noout -serial` prints it");
  }
  std::string reason;
  if (spec.readString("reason", reason)) {
    if (Result<pki::RevocationReason> parsed = parseRevocationReason(reason))
      revocation.reason = *parsed;
    else
      spec.fail("reason", parsed.error().message);
  }
  std::string date;
  if (spec.readString("invalidityDate", date)) {
    Result<TimePoint> parsed = parseTimestamp(date);
    if (parsed) revocation.invalidityDate = *parsed;
    else spec.fail("invalidityDate", parsed.error().message);
  }
  spec.reportUnknownFields();
  return revocation;
}

EmqxDeploymentSpec readEmqxDeploymentSpec(FieldReader& spec) {
  EmqxDeploymentSpec emqx;
  FieldReader listener = spec.readMap("listener");
  if (listener.readString("name", emqx.listenerName)) {
    if (Result<void> valid = checkListenerName(emqx.listenerName); !valid)
      listener.fail("name", valid.error().message);
  }
  if (listener.readString("bind", emqx.bind)) {
    if (Result<void> valid = checkBind(emqx.bind); !valid) listener.fail("bind", valid.error().message);
  }
  listener.reportUnknownFields();

  readReference(spec, "vault", emqx.vault, "vault: mqtt-vault (the Vault holding the server certificate)",
                true);
  readReference(spec, "secret", emqx.secret,
                "secret: server-cert (the VaultSecret with the server certificate)", true);
  if (spec.readString("certDir", emqx.certDir))
    if (Result<void> valid = checkContainerPath(emqx.certDir); !valid) spec.fail("certDir", valid.error().message);

  FieldReader crl = spec.readMap("crl");
  crl.readBool("enabled", emqx.crl.enabled);
  crl.readDuration("refreshInterval", emqx.crl.refreshInterval);
  crl.readDuration("httpTimeout", emqx.crl.httpTimeout);
  crl.reportUnknownFields();

  FieldReader ocsp = spec.readMap("ocspStapling");
  ocsp.readBool("enabled", emqx.ocspStapling.enabled);
  ocsp.readDuration("refreshInterval", emqx.ocspStapling.refreshInterval);
  ocsp.readDuration("refreshHttpTimeout", emqx.ocspStapling.refreshHttpTimeout);
  if (ocsp.readString("responderUrl", emqx.ocspStapling.responderUrl)) {
    // EMQX is given this URL as written, so it cannot carry ${...} variables.
    const std::string& url = *emqx.ocspStapling.responderUrl;
    if (url.find("${") != std::string::npos)
      ocsp.fail("responderUrl",
                quotedText(url) + " holds a ${...} variable, but this URL is used as written; leave "
                "responderUrl out to use the CA's rendered OCSP URL, or write the full URL");
    else if (Result<void> valid = checkHttpUrlTemplate(url); !valid)
      ocsp.fail("responderUrl", valid.error().message);
  }
  ocsp.reportUnknownFields();

  spec.readEnum<std::string>("verify",
                             {{"verify_peer", "verify_peer"}, {"verify_none", "verify_none"}},
                             "verify_peer or verify_none", emqx.verify);
  spec.readBool("failIfNoPeerCert", emqx.failIfNoPeerCert);
  FieldReader rotation = spec.readMap("rotation");
  rotation.readEnum<RotationPolicy>("policy", {{"reload", RotationPolicy::Reload}, {"restart", RotationPolicy::Restart}},
                                    "reload (the broker re-reads its files) or restart (every rotation rolls the pods)",
                                    emqx.rotation);
  if (rotation.readDuration("reloadWithin", emqx.reloadWithin) && emqx.reloadWithin <= Seconds(0))
    rotation.fail("reloadWithin", "must be longer than 0s: no broker presents a new certificate the instant it is "
                                  "written; write how long kubelet's sync and the PEM-cache interval take (e.g. 5m)");
  rotation.reportUnknownFields();
  if (spec.readString("deploymentName", emqx.deploymentName))
    if (Result<void> valid = checkDeploymentName(*emqx.deploymentName); !valid)
      spec.fail("deploymentName", valid.error().message + "; write the name of the Deployment to patch, or leave it out");
  // The pod template belongs to the Kubernetes mode; here it only has to be a map.
  bool hasTemplate = spec.has("podTemplate");
  spec.readMap("podTemplate");
  if (hasTemplate && emqx.deploymentName)
    spec.fail("podTemplate", "give either podTemplate (revoca owns the Deployment) or deploymentName "
                             "(revoca patches an existing one), not both");
  spec.reportUnknownFields();
  return emqx;
}

}  // namespace revoca::decl
