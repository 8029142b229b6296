#pragma once
// Owning handles for the OpenSSL objects pki/ creates, so every early return
// frees what it made. Private to pki/: other modules see only the pki types.
#include <memory>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace revoca::pki {

template <auto FreeFn>
struct OpensslDeleter {
  template <typename T>
  void operator()(T* p) const { FreeFn(p); }
};

template <typename T, auto FreeFn>
using OpensslPtr = std::unique_ptr<T, OpensslDeleter<FreeFn>>;

// OPENSSL_free is a macro, so it needs a function to point at.
inline void freeOpensslString(char* text) { OPENSSL_free(text); }

using OpensslStringPtr = OpensslPtr<char, freeOpensslString>;
using BioPtr = OpensslPtr<BIO, BIO_free_all>;
using BignumPtr = OpensslPtr<BIGNUM, BN_free>;
using Asn1IntegerPtr = OpensslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using Asn1EnumeratedPtr = OpensslPtr<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;
using Asn1TimePtr = OpensslPtr<ASN1_TIME, ASN1_TIME_free>;
using Asn1GeneralizedTimePtr = OpensslPtr<ASN1_GENERALIZEDTIME, ASN1_GENERALIZEDTIME_free>;
using Asn1OctetStringPtr = OpensslPtr<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>;
using Asn1BitStringPtr = OpensslPtr<ASN1_BIT_STRING, ASN1_BIT_STRING_free>;
using EvpPkeyPtr = OpensslPtr<EVP_PKEY, EVP_PKEY_free>;
using X509Ptr = OpensslPtr<X509, X509_free>;
using X509NamePtr = OpensslPtr<X509_NAME, X509_NAME_free>;
using X509ExtensionPtr = OpensslPtr<X509_EXTENSION, X509_EXTENSION_free>;
using X509CrlPtr = OpensslPtr<X509_CRL, X509_CRL_free>;
using X509RevokedPtr = OpensslPtr<X509_REVOKED, X509_REVOKED_free>;
using GeneralNamePtr = OpensslPtr<GENERAL_NAME, GENERAL_NAME_free>;
using GeneralNamesPtr = OpensslPtr<GENERAL_NAMES, GENERAL_NAMES_free>;
using BasicConstraintsPtr = OpensslPtr<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>;
using ExtendedKeyUsagePtr = OpensslPtr<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>;
using AuthorityKeyIdPtr = OpensslPtr<AUTHORITY_KEYID, AUTHORITY_KEYID_free>;
using CrlDistPointsPtr = OpensslPtr<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;
using DistPointPtr = OpensslPtr<DIST_POINT, DIST_POINT_free>;
using IssuingDistPointPtr = OpensslPtr<ISSUING_DIST_POINT, ISSUING_DIST_POINT_free>;
using AuthorityInfoAccessPtr = OpensslPtr<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free>;
using AccessDescriptionPtr = OpensslPtr<ACCESS_DESCRIPTION, ACCESS_DESCRIPTION_free>;
using OcspRequestPtr = OpensslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = OpensslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicRespPtr = OpensslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = OpensslPtr<OCSP_CERTID, OCSP_CERTID_free>;

}  // namespace revoca::pki
