#include "pki/crl.h"

#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "pki/der.h"
#include "pki/openssl_util.h"
#include "pki/signature.h"

namespace revoca::pki {
namespace {

// RFC 5280 5.3.1 spellings first (revocationReasonName returns those); the
// later ones are accepted when parsing because people write the acronyms
// in camelCase.
const std::pair<const char*, RevocationReason> kReasonNames[] = {
    {"unspecified", RevocationReason::Unspecified},
    {"keyCompromise", RevocationReason::KeyCompromise},
    {"cACompromise", RevocationReason::CaCompromise},
    {"affiliationChanged", RevocationReason::AffiliationChanged},
    {"superseded", RevocationReason::Superseded},
    {"cessationOfOperation", RevocationReason::CessationOfOperation},
    {"certificateHold", RevocationReason::CertificateHold},
    {"removeFromCRL", RevocationReason::RemoveFromCrl},
    {"privilegeWithdrawn", RevocationReason::PrivilegeWithdrawn},
    {"aACompromise", RevocationReason::AaCompromise},
    {"caCompromise", RevocationReason::CaCompromise},
    {"removeFromCrl", RevocationReason::RemoveFromCrl},
    {"aaCompromise", RevocationReason::AaCompromise},
};

// The two entry extensions, whose encodings have fixed lengths:
//   Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER,
//                            critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
// reasonCode (2.5.29.21), extnValue = ENUMERATED; the code follows.
constexpr char kReasonCodeHead[] = {0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D,
                                    0x15, 0x04, 0x03, 0x0A, 0x01};
constexpr std::size_t kReasonCodeSize = sizeof kReasonCodeHead + 1;
// invalidityDate (2.5.29.24), extnValue = GeneralizedTime (17 bytes) that follows.
constexpr char kInvalidityDateHead[] = {0x30, 0x18, 0x06, 0x03, 0x55, 0x1D, 0x18, 0x04, 0x11};
constexpr std::size_t kInvalidityDateSize = sizeof kInvalidityDateHead + 17;

// An entry's serial as INTEGER content octets (at most 20 octets and a sign
// pad), held inline so sorting 100,000 of them moves no heap strings.
struct SortableEntry {
  std::array<unsigned char, 21> serial{};
  std::size_t size = 0;
  std::size_t index = 0;  // in the request: of two equal serials the first wins
  const RevokedEntry* entry = nullptr;

  std::string_view serialBytes() const {
    return std::string_view(reinterpret_cast<const char*>(serial.data()), size);
  }
  // Minimal positive INTEGERs: shorter is smaller, equal lengths compare bytewise.
  bool operator<(const SortableEntry& other) const {
    if (size != other.size) return size < other.size;
    int order = std::memcmp(serial.data(), other.serial.data(), size);
    return order != 0 ? order < 0 : index < other.index;
  }
};

//   SEQUENCE { userCertificate CertificateSerialNumber, revocationDate Time,
//              crlEntryExtensions Extensions OPTIONAL }
// `body` is scratch space reused across entries.
void appendEntry(std::string& out, const SortableEntry& sortable, std::string& body) {
  const RevokedEntry& entry = *sortable.entry;
  body.clear();
  der::appendTlv(body, der::kInteger, sortable.serialBytes());
  der::appendTime(body, entry.revokedAt);
  // RFC 5280 5.3.1: omit reasonCode rather than say "unspecified".
  bool reason = entry.reason != RevocationReason::Unspecified;
  bool invalidity = entry.invalidityDate.has_value();
  std::size_t extensions = (reason ? kReasonCodeSize : 0) + (invalidity ? kInvalidityDateSize : 0);
  if (extensions > 0) {
    body += static_cast<char>(der::kSequence);
    body += static_cast<char>(extensions);  // at most 38: short form
  }
  if (reason) {
    body.append(kReasonCodeHead, sizeof kReasonCodeHead);
    body += static_cast<char>(entry.reason);
  }
  // RFC 5280 5.3.2: always GeneralizedTime.
  if (invalidity) {
    body.append(kInvalidityDateHead, sizeof kInvalidityDateHead);
    der::appendGeneralizedTime(body, *entry.invalidityDate);
  }
  der::appendTlv(out, der::kSequence, body);
}

// revokedCertificates, sorted by serial as X509_CRL_sort would; a serial
// listed twice appears once (its first listing). Empty when there are none:
// RFC 5280 5.1.2.6 wants the field absent then.
Result<std::string> encodeRevokedList(const std::vector<RevokedEntry>& entries) {
  if (entries.empty()) return std::string();
  std::vector<SortableEntry> sorted(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto hex = normalizeSerialHex(entries[i].serialHex);
    if (!hex) return makeError("revoked entry: " + hex.error().message);
    std::string bytes = der::integerContent(*hex);  // <= 21 octets: hex has <= 40 digits
    std::memcpy(sorted[i].serial.data(), bytes.data(), bytes.size());
    sorted[i].size = bytes.size();
    sorted[i].index = i;
    sorted[i].entry = &entries[i];
  }
  std::sort(sorted.begin(), sorted.end());
  std::string list;
  list.reserve(entries.size() * 64);
  std::string body;
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    if (i > 0 && sorted[i].serialBytes() == sorted[i - 1].serialBytes()) continue;
    appendEntry(list, sorted[i], body);
  }
  return der::tlv(der::kSequence, list);
}

// CRL number, Authority Key Identifier, and (when asked) the Issuing
// Distribution Point, critical as RFC 5280 5.2.5 requires.
Result<void> addCrlExtensions(X509_CRL* crl, const CrlRequest& request, X509* issuer) {
  Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_uint64(number.get(), request.crlNumber) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, 0) != 1) {
    return opensslFailure("CRL number");
  }
  auto keyId = keyIdentifierOf(issuer);
  if (!keyId) return keyId.error();
  AuthorityKeyIdPtr aki(AUTHORITY_KEYID_new());
  if (!aki) return opensslFailure("CRL authorityKeyIdentifier");
  aki->keyid = keyId->release();
  if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki.get(), 0, 0) != 1) {
    return opensslFailure("CRL authorityKeyIdentifier");
  }
  if (request.issuingDistributionPointUrl.empty()) return {};
  auto uri = uriName(request.issuingDistributionPointUrl);
  if (!uri) return makeError("issuingDistributionPoint: " + uri.error().message);
  IssuingDistPointPtr idp(ISSUING_DIST_POINT_new());
  GeneralNamesPtr fullName(GENERAL_NAMES_new());
  if (!idp || !fullName || sk_GENERAL_NAME_push(fullName.get(), uri->get()) <= 0) {
    return opensslFailure("issuingDistributionPoint");
  }
  uri->release();
  idp->distpoint = DIST_POINT_NAME_new();
  if (!idp->distpoint) return opensslFailure("issuingDistributionPoint");
  idp->distpoint->type = 0;  // fullName
  idp->distpoint->name.fullname = fullName.release();
  if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp.get(), 1, 0) != 1) {
    return opensslFailure("issuingDistributionPoint");
  }
  return {};
}

// The CRL without its entries, built and signed by OpenSSL: version,
// issuer, dates, extensions and the signature AlgorithmIdentifier.
Result<X509CrlPtr> signedFrame(const CrlRequest& request, const Certificate& issuerCert,
                               const PrivateKey& issuerKey) {
  X509CrlPtr crl(X509_CRL_new());
  Asn1TimePtr thisUpdate = toAsn1Time(request.thisUpdate);
  Asn1TimePtr nextUpdate = toAsn1Time(request.nextUpdate);
  if (!crl || !thisUpdate || !nextUpdate ||
      X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuerCert.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), thisUpdate.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), nextUpdate.get()) != 1) {
    return opensslFailure("creating the CRL");
  }
  if (auto r = addCrlExtensions(crl.get(), request, issuerCert.get()); !r) return r.error();
  if (X509_CRL_sign(crl.get(), issuerKey.get(), evpDigest(request.digest)) <= 0) {
    return opensslFailure("signing the CRL");
  }
  return crl;
}

// TBSCertList ::= SEQUENCE { version, signature, issuer, thisUpdate,
//   nextUpdate, revokedCertificates OPTIONAL, crlExtensions [0] OPTIONAL }
// `revoked` goes where the frame's [0] crlExtensions begin.
Result<std::string> withRevokedList(const std::string& tbs, const std::string& revoked) {
  auto outer = der::read(tbs, 0);
  if (!outer || outer->tag != der::kSequence || outer->end != tbs.size()) {
    return makeError("unexpected TBSCertList encoding");
  }
  std::size_t at = outer->contentStart;
  while (at < outer->end) {
    auto element = der::read(tbs, at);
    if (!element) return makeError("unexpected TBSCertList encoding");
    if (element->tag == der::kContext0) break;
    at = element->end;
  }
  std::string content = tbs.substr(outer->contentStart, at - outer->contentStart) + revoked +
                        tbs.substr(at, outer->end - at);
  return der::tlv(der::kSequence, content);
}

}  // namespace

std::optional<RevocationReason> parseRevocationReason(const std::string& name) {
  for (const auto& [text, reason] : kReasonNames) {
    if (name == text) return reason;
  }
  return std::nullopt;
}

std::string revocationReasonName(RevocationReason reason) {
  for (const auto& [text, value] : kReasonNames) {
    if (value == reason) return text;  // the first spelling is RFC 5280's
  }
  return "unspecified";
}

Sha256 entriesDigest(const std::vector<RevokedEntry>& entries) {
  // In serial order, one line per entry as the state stores write them,
  // hashed as they are made: a CRL of 100,000 entries is 4 MB of lines,
  // which neither replica needs to hold.
  std::vector<const RevokedEntry*> sorted(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i) sorted[i] = &entries[i];
  std::sort(sorted.begin(), sorted.end(), [](const RevokedEntry* a, const RevokedEntry* b) {
    return a->serialHex < b->serialHex;
  });
  Sha256Stream stream;
  std::string lines;
  for (const RevokedEntry* entry : sorted) {
    lines += entry->serialHex;
    lines += ' ';
    lines += std::to_string(toUnixSeconds(entry->revokedAt));
    lines += ' ';
    lines += std::to_string(static_cast<int>(entry->reason));
    lines += ' ';
    lines += entry->invalidityDate ? std::to_string(toUnixSeconds(*entry->invalidityDate)) : "-";
    lines += '\n';
    if (lines.size() >= 64 * 1024) {
      stream.update(lines);
      lines.clear();
    }
  }
  stream.update(lines);
  return stream.finish();
}

// OpenSSL builds and signs the frame (its encoder is fine for a handful of
// fields); the entries, which can number 100,000, are written as DER here
// and the whole TBSCertList is signed again.
//   CertificateList ::= SEQUENCE { tbsCertList TBSCertList,
//     signatureAlgorithm AlgorithmIdentifier, signatureValue BIT STRING }
Result<SignedCrl> signCrl(const CrlRequest& request, const Certificate& issuerCert,
                          const PrivateKey& issuerKey) {
  if (request.nextUpdate <= request.thisUpdate) {
    return makeError("CRL nextUpdate must be after thisUpdate");
  }
  if (X509_check_private_key(issuerCert.get(), issuerKey.get()) != 1) {
    opensslError();
    return makeError("the CRL signing key does not belong to issuer \"" +
                     issuerCert.subjectCommonName() + "\"");
  }
  auto revoked = encodeRevokedList(request.entries);
  if (!revoked) return revoked.error();
  auto frame = signedFrame(request, issuerCert, issuerKey);
  if (!frame) return frame.error();

  std::string frameTbs = derOf(i2d_re_X509_CRL_tbs, frame->get());
  const X509_ALGOR* algorithm = nullptr;
  X509_CRL_get0_signature(frame->get(), nullptr, &algorithm);
  std::string algorithmDer = derOf(i2d_X509_ALGOR, algorithm);
  if (frameTbs.empty() || algorithmDer.empty()) return opensslFailure("encoding the CRL");

  auto tbs = withRevokedList(frameTbs, *revoked);
  if (!tbs) return tbs.error();
  // The frame's algorithm: the tbs names it too, and the two must agree.
  auto signature = signDer(*tbs, issuerKey, request.digest, "signing the CRL");
  if (!signature) return signature.error();

  SignedCrl out;
  // BIT STRING content: 0 unused bits, then the signature.
  std::string signatureValue = der::tlv(der::kBitString, std::string(1, '\0') + signature->value);
  out.der = der::tlv(der::kSequence, *tbs + algorithmDer + signatureValue);
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio(bio.get(), PEM_STRING_X509_CRL, "",
                            reinterpret_cast<const unsigned char*>(out.der.data()),
                            static_cast<long>(out.der.size())) <= 0) {
    return opensslFailure("encoding the CRL as PEM");
  }
  out.pem = bioContents(bio.get());
  out.crlNumber = request.crlNumber;
  // The CRL holds whole seconds; report what it says.
  out.thisUpdate = fromUnixSeconds(toUnixSeconds(request.thisUpdate));
  out.nextUpdate = fromUnixSeconds(toUnixSeconds(request.nextUpdate));
  return out;
}

Result<SignedCrl> readCrl(const std::string& der) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
  X509CrlPtr crl(d2i_X509_CRL(nullptr, &bytes, static_cast<long>(der.size())));
  if (!crl || bytes != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
    return opensslFailure("not a DER CRL");
  int critical = 0;
  Asn1IntegerPtr number(
      static_cast<ASN1_INTEGER*>(X509_CRL_get_ext_d2i(crl.get(), NID_crl_number, &critical, nullptr)));
  SignedCrl out;
  if (!number || ASN1_INTEGER_get_uint64(&out.crlNumber, number.get()) != 1)
    return opensslFailure("the CRL has no CRL number that fits 64 bits");
  auto thisUpdate = fromAsn1Time(X509_CRL_get0_lastUpdate(crl.get()));
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  auto nextUpdate = next ? fromAsn1Time(next) : Result<TimePoint>(makeError("the CRL has no nextUpdate"));
  if (!thisUpdate) return thisUpdate.error();
  if (!nextUpdate) return nextUpdate.error();
  out.thisUpdate = *thisUpdate;
  out.nextUpdate = *nextUpdate;
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio(bio.get(), PEM_STRING_X509_CRL, "", reinterpret_cast<const unsigned char*>(der.data()),
                            static_cast<long>(der.size())) <= 0)
    return opensslFailure("encoding the CRL as PEM");
  out.pem = bioContents(bio.get());
  out.der = der;
  return out;
}

}  // namespace revoca::pki
