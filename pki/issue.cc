// issueCertificate: builds and signs CA and leaf certificates.
// Extensions are built as ASN.1 structures, not from openssl.cnf-style text,
// so a URL or host name containing a comma cannot be split into two values.
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "pki/certificate.h"
#include "pki/openssl_util.h"

namespace revoca::pki {
namespace {

// RFC 5280 4.2.1.3 bit positions.
constexpr int kDigitalSignature = 0;
constexpr int kKeyEncipherment = 2;
constexpr int kKeyCertSign = 5;
constexpr int kCrlSign = 6;

Result<void> addExtension(X509* cert, int nid, void* value, bool critical, const char* what) {
  if (X509_add1_ext_i2d(cert, nid, value, critical ? 1 : 0, X509V3_ADD_REPLACE) != 1) {
    return opensslFailure(std::string("adding ") + what);
  }
  return {};
}

Result<void> setSubject(X509* cert, const Subject& subject) {
  if (subject.commonName.empty()) return makeError("subject commonName is empty: set one");
  if (!subject.country.empty() && subject.country.size() != 2) {
    return makeError("subject country \"" + subject.country +
                     "\" must be a two-letter code such as SE or US");
  }
  X509_NAME* name = X509_get_subject_name(cert);
  const std::pair<const char*, const std::string*> parts[] = {
      {"C", &subject.country},
      {"O", &subject.organization},
      {"OU", &subject.organizationalUnit},
      {"CN", &subject.commonName},
  };
  for (const auto& [field, value] : parts) {
    if (value->empty()) continue;
    if (X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value->data()),
                                   static_cast<int>(value->size()), -1, 0) != 1) {
      return opensslFailure(std::string("subject ") + field + " \"" + *value + "\"");
    }
  }
  return {};
}

Result<void> setSerial(X509* cert, const std::string& serialHex) {
  auto serial = serialFromHex(serialHex);
  if (!serial) return serial.error();
  // Positive and at most 20 octets once encoded (RFC 5280 4.1.2.2).
  BignumPtr bn(ASN1_INTEGER_to_BN(serial->get(), nullptr));
  if (!bn || BN_is_zero(bn.get()) || BN_num_bits(bn.get()) > 159) {
    return makeError("serial " + serialHex + " must be positive and fit in 20 octets");
  }
  if (X509_set_serialNumber(cert, serial->get()) != 1) return opensslFailure("setting the serial");
  return {};
}

Result<void> setValidity(X509* cert, const IssueRequest& request) {
  if (request.notAfter <= request.notBefore) return makeError("notAfter must be after notBefore");
  Asn1TimePtr notBefore = toAsn1Time(request.notBefore);
  Asn1TimePtr notAfter = toAsn1Time(request.notAfter);
  if (!notBefore || !notAfter || X509_set1_notBefore(cert, notBefore.get()) != 1 ||
      X509_set1_notAfter(cert, notAfter.get()) != 1) {
    return opensslFailure("setting the validity");
  }
  return {};
}

Result<void> addConstraintsAndUsage(X509* cert, const IssueRequest& request, bool rsa) {
  bool authority = request.type == CertType::Authority;
  BasicConstraintsPtr constraints(BASIC_CONSTRAINTS_new());
  if (!constraints) return opensslFailure("basicConstraints");
  constraints->ca = authority ? 0xFF : 0;
  if (authority && request.pathLength) {
    if (*request.pathLength < 0) return makeError("pathLength must not be negative");
    constraints->pathlen = ASN1_INTEGER_new();
    if (!constraints->pathlen || ASN1_INTEGER_set(constraints->pathlen, *request.pathLength) != 1) {
      return opensslFailure("basicConstraints pathLength");
    }
  }
  if (auto r = addExtension(cert, NID_basic_constraints, constraints.get(), true,
                            "basicConstraints");
      !r) {
    return r;
  }

  Asn1BitStringPtr usage(ASN1_BIT_STRING_new());
  if (!usage) return opensslFailure("keyUsage");
  std::vector<int> bits{kDigitalSignature};
  if (authority) {
    bits.insert(bits.end(), {kKeyCertSign, kCrlSign});
  } else if (rsa && request.type == CertType::Server) {
    // RSA key transport in TLS 1.2 is the server's. A client only signs:
    // RFC 5280 4.2.1.12 pairs clientAuth with digitalSignature or keyAgreement.
    bits.push_back(kKeyEncipherment);
  }
  for (int bit : bits) {
    if (ASN1_BIT_STRING_set_bit(usage.get(), bit, 1) != 1) return opensslFailure("keyUsage");
  }
  if (auto r = addExtension(cert, NID_key_usage, usage.get(), true, "keyUsage"); !r) return r;

  if (authority) return {};
  ExtendedKeyUsagePtr eku(sk_ASN1_OBJECT_new_null());
  int purpose = request.type == CertType::Server ? NID_server_auth : NID_client_auth;
  if (!eku || sk_ASN1_OBJECT_push(eku.get(), OBJ_nid2obj(purpose)) <= 0) {
    return opensslFailure("extendedKeyUsage");
  }
  return addExtension(cert, NID_ext_key_usage, eku.get(), false, "extendedKeyUsage");
}

// `issuer` is null for a self-signed certificate.
Result<void> addKeyIdentifiers(X509* cert, X509* issuer) {
  auto subjectId = publicKeyIdOf(cert);
  if (!subjectId) return subjectId.error();
  if (auto r = addExtension(cert, NID_subject_key_identifier, subjectId->get(), false,
                            "subjectKeyIdentifier");
      !r) {
    return r;
  }
  // A root repeats its own SKI here, which chain builders accept and which
  // lets its CRLs name it the same way as every other issuer does.
  auto issuerId = issuer ? keyIdentifierOf(issuer) : std::move(subjectId);
  if (!issuerId) return issuerId.error();
  AuthorityKeyIdPtr aki(AUTHORITY_KEYID_new());
  if (!aki) return opensslFailure("authorityKeyIdentifier");
  aki->keyid = issuerId->release();
  return addExtension(cert, NID_authority_key_identifier, aki.get(), false,
                      "authorityKeyIdentifier");
}

Result<void> addSubjectAltName(X509* cert, const IssueRequest& request) {
  if (request.type == CertType::Authority ||
      (request.dnsNames.empty() && request.ipAddresses.empty())) {
    return {};
  }
  GeneralNamesPtr names(GENERAL_NAMES_new());
  if (!names) return opensslFailure("subjectAltName");
  for (const auto& dns : request.dnsNames) {
    OpensslPtr<ASN1_IA5STRING, ASN1_IA5STRING_free> text(ASN1_IA5STRING_new());
    GeneralNamePtr name(GENERAL_NAME_new());
    if (dns.empty()) return makeError("subjectAltName DNS name is empty");
    if (!text || !name ||
        ASN1_STRING_set(text.get(), dns.data(), static_cast<int>(dns.size())) != 1) {
      return opensslFailure("subjectAltName DNS " + dns);
    }
    GENERAL_NAME_set0_value(name.get(), GEN_DNS, text.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) return opensslFailure("subjectAltName");
    name.release();
  }
  for (const auto& ip : request.ipAddresses) {
    Asn1OctetStringPtr octets(a2i_IPADDRESS(ip.c_str()));
    GeneralNamePtr name(GENERAL_NAME_new());
    if (!octets) {
      opensslError();
      return makeError("subjectAltName IP \"" + ip + "\" is not an IPv4 or IPv6 address");
    }
    if (!name) return opensslFailure("subjectAltName");
    GENERAL_NAME_set0_value(name.get(), GEN_IPADD, octets.release());
    if (sk_GENERAL_NAME_push(names.get(), name.get()) <= 0) return opensslFailure("subjectAltName");
    name.release();
  }
  return addExtension(cert, NID_subject_alt_name, names.get(), false, "subjectAltName");
}

// One DistributionPoint per URL, each naming the CRL by its full URI.
Result<void> addCrlDistributionPoints(X509* cert, const std::vector<std::string>& urls) {
  if (urls.empty()) return {};
  CrlDistPointsPtr points(sk_DIST_POINT_new_null());
  if (!points) return opensslFailure("crlDistributionPoints");
  for (const auto& url : urls) {
    auto uri = uriName(url);
    if (!uri) return makeError("crlDistributionPoints: " + uri.error().message);
    DistPointPtr point(DIST_POINT_new());
    GeneralNamesPtr fullName(GENERAL_NAMES_new());
    if (!point || !fullName || sk_GENERAL_NAME_push(fullName.get(), uri->get()) <= 0) {
      return opensslFailure("crlDistributionPoints");
    }
    uri->release();
    point->distpoint = DIST_POINT_NAME_new();
    if (!point->distpoint) return opensslFailure("crlDistributionPoints");
    point->distpoint->type = 0;  // fullName
    point->distpoint->name.fullname = fullName.release();
    if (sk_DIST_POINT_push(points.get(), point.get()) <= 0) {
      return opensslFailure("crlDistributionPoints");
    }
    point.release();
  }
  return addExtension(cert, NID_crl_distribution_points, points.get(), false,
                      "crlDistributionPoints");
}

Result<void> addOcspAccess(X509* cert, const std::vector<std::string>& urls) {
  if (urls.empty()) return {};
  AuthorityInfoAccessPtr access(sk_ACCESS_DESCRIPTION_new_null());
  if (!access) return opensslFailure("authorityInfoAccess");
  for (const auto& url : urls) {
    auto uri = uriName(url);
    if (!uri) return makeError("authorityInfoAccess: " + uri.error().message);
    AccessDescriptionPtr description(ACCESS_DESCRIPTION_new());
    if (!description) return opensslFailure("authorityInfoAccess");
    // The new description's method is a static placeholder: nothing to free.
    description->method = OBJ_nid2obj(NID_ad_OCSP);
    GENERAL_NAME_free(description->location);
    description->location = uri->release();
    if (sk_ACCESS_DESCRIPTION_push(access.get(), description.get()) <= 0) {
      return opensslFailure("authorityInfoAccess");
    }
    description.release();
  }
  return addExtension(cert, NID_info_access, access.get(), false, "authorityInfoAccess");
}

// SubjectPublicKeyInfo. OpenSSL 3.0's X509_set_pubkey encodes a provider
// key through an OSSL_ENCODER and decodes the result again through an
// OSSL_DECODER to cache it: 2.1M instructions for a P-256 key, eight times
// the ECDSA signature (callgrind). For EC keys the two fields are written
// from the key's parameters instead:
//   SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier
//     { id-ecPublicKey, namedCurve OID }, subjectPublicKey BIT STRING (the point) }
// RSA keys, whose generation costs far more, keep OpenSSL's path.
Result<void> setPublicKey(X509* cert, const PrivateKey& key) {
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC) {
    if (X509_set_pubkey(cert, key.get()) != 1) return opensslFailure("setting the public key");
    return {};
  }
  char group[80];
  unsigned char point[160];  // uncompressed P-521: 133 bytes
  std::size_t groupSize = 0, pointSize = 0;
  if (EVP_PKEY_get_utf8_string_param(key.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &groupSize) != 1 ||
      EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point,
                                      &pointSize) != 1) {
    return opensslFailure("reading the EC public key");
  }
  int curve = OBJ_txt2nid(group);
  unsigned char* bits = static_cast<unsigned char*>(OPENSSL_memdup(point, pointSize));
  if (curve == NID_undef || !bits ||
      X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(cert), OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
                             OBJ_nid2obj(curve), bits, static_cast<int>(pointSize)) != 1) {
    OPENSSL_free(bits);
    return opensslFailure("setting the EC public key");
  }
  return {};
}

Result<void> checkIssuer(const Certificate* issuerCert, const PrivateKey* issuerKey) {
  if ((issuerCert == nullptr) != (issuerKey == nullptr)) {
    return makeError(
        "give both the issuer certificate and its key, or neither for a self-signed CA");
  }
  if (issuerCert == nullptr) return {};
  if (X509_check_ca(issuerCert->get()) == 0) {
    return makeError("issuer \"" + issuerCert->subjectCommonName() + "\" is not a CA certificate");
  }
  if (X509_check_private_key(issuerCert->get(), issuerKey->get()) != 1) {
    opensslError();
    return makeError("the issuer key does not belong to issuer \"" +
                     issuerCert->subjectCommonName() + "\"");
  }
  return {};
}

}  // namespace

Result<SignedCertificate> signCertificate(const IssueRequest& request, const PrivateKey& subjectKey,
                                          const Certificate* issuerCert, const PrivateKey* issuerKey) {
  if (auto r = checkIssuer(issuerCert, issuerKey); !r) return r.error();
  if (request.pathLength && request.type != CertType::Authority) {
    return makeError("pathLength applies to CA certificates only");
  }
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return opensslFailure("creating a certificate");
  }
  X509* issuer = issuerCert ? issuerCert->get() : nullptr;
  EVP_PKEY* signingKey = issuerKey ? issuerKey->get() : subjectKey.get();
  bool rsa = EVP_PKEY_get_base_id(subjectKey.get()) == EVP_PKEY_RSA;

  X509* c = cert.get();
  if (auto r = setSerial(c, request.serialHex); !r) return r.error();
  if (auto r = setValidity(c, request); !r) return r.error();
  if (auto r = setSubject(c, request.subject); !r) return r.error();
  if (X509_set_issuer_name(c, X509_get_subject_name(issuer ? issuer : c)) != 1) {
    return opensslFailure("setting the issuer");
  }
  if (auto r = setPublicKey(c, subjectKey); !r) return r.error();
  if (auto r = addConstraintsAndUsage(c, request, rsa); !r) return r.error();
  if (auto r = addKeyIdentifiers(c, issuer); !r) return r.error();
  if (auto r = addSubjectAltName(c, request); !r) return r.error();
  if (auto r = addCrlDistributionPoints(c, request.crlDistributionUrls); !r) return r.error();
  if (auto r = addOcspAccess(c, request.ocspUrls); !r) return r.error();
  if (X509_sign(cert.get(), signingKey, evpDigest(request.digest)) <= 0) {
    return opensslFailure("signing the certificate");
  }
  SignedCertificate out;
  out.der = derOf(i2d_X509, c);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (out.der.empty() || !bio ||
      PEM_write_bio(bio.get(), PEM_STRING_X509, "", reinterpret_cast<const unsigned char*>(out.der.data()),
                    static_cast<long>(out.der.size())) <= 0) {
    return opensslFailure("encoding the certificate");
  }
  out.pem = bioContents(bio.get());
  // Read back from the object just signed, as Certificate's accessors would.
  out.serialHex = serialHexOf(X509_get0_serialNumber(c));
  auto notBefore = fromAsn1Time(X509_get0_notBefore(c));
  auto notAfter = fromAsn1Time(X509_get0_notAfter(c));
  if (!notBefore) return notBefore.error();
  if (!notAfter) return notAfter.error();
  out.notBefore = *notBefore;
  out.notAfter = *notAfter;
  return out;
}

Result<Certificate> issueCertificate(const IssueRequest& request, const PrivateKey& subjectKey,
                                     const Certificate* issuerCert, const PrivateKey* issuerKey) {
  auto signedCert = signCertificate(request, subjectKey, issuerCert, issuerKey);
  if (!signedCert) return signedCert.error();
  // Certificate's constructor is private; its DER is also the canonical,
  // cached encoding every later toDer() returns.
  return Certificate::fromDer(signedCert->der);
}

}  // namespace revoca::pki
