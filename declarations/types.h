#pragma once
// The five kinds of the revoca.io/v1alpha1 API, as plain values. The same
// types come from YAML files (standalone) and from the apiserver (Kubernetes).
#include <optional>
#include <unordered_set>
#include <string>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "pki/certificate.h"
#include "pki/crl.h"
#include "pki/key.h"

namespace revoca {

struct ObjectMeta {
  std::string namespace_ = "default";
  std::string name;
  std::string source;           // where it came from: "dir/file.yaml (document 2)"
  std::int64_t generation = 1;  // standalone: a hash of the spec
};

struct ObjectKey {
  std::string namespace_;
  std::string name;
  auto operator<=>(const ObjectKey&) const = default;
  std::string str() const { return namespace_ + "/" + name; }
};

struct CertificateAuthoritySpec {
  Seconds ttl = Seconds(365 * 86400);
  pki::KeySpec key;
  pki::Digest digest = pki::Digest::Sha256;
  pki::Subject subject;                   // commonName defaults to the CA's name
  std::optional<std::string> issuingCa;   // intermediate: the parent CA in the same namespace
  std::vector<std::string> crlDistUrls;   // templates, see declarations/url_template.h
  std::vector<std::string> ocspResponderUrls;
  Seconds renewThreshold = Seconds(30 * 86400);
  Seconds crlValidity = Seconds(86400);
  // How long an HTTP cache (a proxy, a CDN) in front of the responder may
  // hand out a CRL without asking again: a revocation reaches the clients
  // behind it within this, not at the CRL's nextUpdate a day later. The
  // CA's trust bundle (/ca/<tenant>/<ca>) is cached as long.
  Seconds crlCacheMaxAge = Seconds(300);
  Seconds ocspValidity = Seconds(3600);
  std::vector<std::string> distributeDeployments;
  // spec.rotation: how long a new version is only trusted (in every bundle)
  // before it signs. Unset: see caPropagationDelay and caTrustRolloutPeriod
  // (reconcilers/renewal.h).
  std::optional<Seconds> propagationDelay;    // until it signs client certificates
  std::optional<Seconds> trustRolloutPeriod;  // until it signs server certificates and intermediates
};

struct VaultSpec {
  std::vector<std::string> distributeDeployments;
};

struct AutoCertSpec {
  std::string issuingCa;
  std::string host;
  std::vector<std::string> altNames;
  pki::CertType certType = pki::CertType::Server;
  Seconds ttl = Seconds(30 * 86400);
  Seconds refreshThreshold = Seconds(15 * 86400);
};

struct FileOwnership {
  int uid = 0;
  int gid = 0;
};

struct VaultSecretSpec {
  std::string vault;
  std::vector<std::string> allowImageAccess;
  AutoCertSpec autoCert;
  std::optional<FileOwnership> fileOwnership;
  int fileMode = 0400;
};

struct CertificateRevocationSpec {
  std::string ca;
  std::string serial;  // normalized hex
  pki::RevocationReason reason = pki::RevocationReason::Unspecified;
  std::optional<TimePoint> invalidityDate;
};

struct EmqxCrlSpec {
  bool enabled = false;
  Seconds refreshInterval = Seconds(300);
  Seconds httpTimeout = Seconds(15);
};

struct EmqxOcspSpec {
  bool enabled = false;
  Seconds refreshInterval = Seconds(300);
  Seconds refreshHttpTimeout = Seconds(15);
  std::optional<std::string> responderUrl;  // default: the CA's rendered OCSP URL + "/"
};

// What a new certificate or CA version does to the broker's pods (Kubernetes).
enum class RotationPolicy {
  Reload,   // the Secret changes in place; EMQX (OTP's PEM cache) re-reads the files
  Restart,  // the pod template changes with the certificate: every pod rolls
};

struct EmqxDeploymentSpec {
  std::string listenerName = "default";
  std::string bind = "0.0.0.0:8883";
  std::string vault;
  std::string secret;
  std::string certDir = "/etc/emqx-certs";  // where the files are mounted in the container
  EmqxCrlSpec crl;
  EmqxOcspSpec ocspStapling;
  std::string verify = "verify_peer";  // verify_peer or verify_none
  bool failIfNoPeerCert = true;
  std::optional<std::string> deploymentName;  // patch an existing Deployment (Kubernetes)
  RotationPolicy rotation = RotationPolicy::Reload;
  // spec.rotation.reloadWithin: how long after revoca writes a certificate
  // the brokers present it (kubelet's Secret sync, 1 min by default, plus
  // EMQX's PEM-cache interval, 2 min by default; or a rollout with restart).
  // Its VaultSecret must renew at least this long (plus one OCSP refresh)
  // before the old certificate expires.
  Seconds reloadWithin = Seconds(300);
};

template <typename Spec>
struct Object {
  ObjectMeta meta;
  Spec spec;
  ObjectKey key() const { return {meta.namespace_, meta.name}; }
};

using CertificateAuthority = Object<CertificateAuthoritySpec>;
using Vault = Object<VaultSpec>;
using VaultSecret = Object<VaultSecretSpec>;
using CertificateRevocation = Object<CertificateRevocationSpec>;
using EmqxDeployment = Object<EmqxDeploymentSpec>;

// A document that could not be turned into an object. Every field names
// what a person needs to fix it.
struct DeclarationError {
  std::string source;  // file and document number
  std::string kind;    // may be empty if unknown
  std::string object;  // namespace/name, may be empty if unknown
  std::string field;   // e.g. "spec.autoCert.ttl"
  std::string message; // what is wrong and what to do
  std::int64_t generation = {};  // Kubernetes: the object's metadata.generation (0: unknown)
  std::string str() const;  // "file (document 2): CertificateAuthority default/mqtt-ca: spec.ttl: ..."
};

// Everything read from a declaration directory.
struct DeclarationSet {
  std::vector<CertificateAuthority> authorities;
  std::vector<Vault> vaults;
  std::vector<VaultSecret> vaultSecrets;
  std::vector<CertificateRevocation> revocations;
  std::vector<EmqxDeployment> emqxDeployments;
  std::vector<DeclarationError> errors;
  // "Kind namespace/name" of every object above, kept by the parser: a
  // second declaration of one is found without a scan of its kind (a file
  // of 80,000 documents took minutes with one).
  std::unordered_set<std::string> declared;
};

}  // namespace revoca
