#include "pki/ocsp_request_reader.h"

#include <cstddef>

#include "pki/der.h"

namespace revoca::pki {
namespace {

using der::kInteger;
using der::kNull;
using der::kOctetString;
using der::kOid;
using der::kSequence;
constexpr unsigned char kExplicit0 = der::kContext0;
constexpr unsigned char kExplicit2 = der::kContext2;

// The OIDs' content octets.
constexpr std::string_view kSha1{"\x2B\x0E\x03\x02\x1A", 5};                           // 1.3.14.3.2.26
constexpr std::string_view kSha256{"\x60\x86\x48\x01\x65\x03\x04\x02\x01", 9};         // 2.16.840.1.101.3.4.2.1
constexpr std::string_view kNonce{"\x2B\x06\x01\x05\x05\x07\x30\x01\x02", 9};          // 1.3.6.1.5.5.7.48.1.2

// A cursor over the content of one constructed element.
class Reader {
 public:
  explicit Reader(std::string_view der) : der_(der) {}
  bool done() const { return at_ == der_.size(); }
  bool next(unsigned char tag) const { return !done() && static_cast<unsigned char>(der_[at_]) == tag; }

  // The next element, if it has `tag` and a DER (minimal, definite) length;
  // `whole` gets its header and content, the return value its content.
  std::optional<std::string_view> take(unsigned char tag, std::string_view* whole = nullptr) {
    if (!next(tag)) return std::nullopt;
    auto element = der::readStrict(der_, at_);
    if (!element) return std::nullopt;
    if (whole) *whole = der_.substr(at_, element->end - at_);
    std::string_view content = der_.substr(element->contentStart, element->end - element->contentStart);
    at_ = element->end;
    return content;
  }

 private:
  std::string_view der_;
  std::size_t at_ = 0;
};

// As OpenSSL's c2i_ASN1_OBJECT requires: not empty, and no sub-identifier
// with a leading 0x80 or left unfinished.
bool validOid(std::string_view oid) {
  if (oid.empty() || (static_cast<unsigned char>(oid.back()) & 0x80)) return false;
  bool startOfSubidentifier = true;
  for (char c : oid) {
    auto byte = static_cast<unsigned char>(c);
    if (startOfSubidentifier && byte == 0x80) return false;
    startOfSubidentifier = !(byte & 0x80);
  }
  return true;
}

// A non-negative INTEGER, minimally encoded, as serialHexOf prints it:
// upper-case hex without leading zeros, "0" for zero.
std::optional<std::string> serialHex(std::string_view content) {
  if (content.empty()) return std::nullopt;
  auto first = static_cast<unsigned char>(content[0]);
  if (first & 0x80) return std::nullopt;  // negative: OpenSSL's way
  if (content.size() > 1 && first == 0 && !(static_cast<unsigned char>(content[1]) & 0x80))
    return std::nullopt;  // padded
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string hex;
  hex.reserve(content.size() * 2);
  for (char c : content) {
    auto byte = static_cast<unsigned char>(c);
    if (hex.empty() && byte < 0x10) {
      if (byte != 0) hex += kHex[byte];
      continue;
    }
    hex += kHex[byte >> 4];
    hex += kHex[byte & 0xF];
  }
  if (hex.empty()) return std::string(1, '0');
  return hex;
}

// Request ::= SEQUENCE { reqCert CertID }: no singleRequestExtensions.
std::optional<CertIdQuery> readRequest(std::string_view request) {
  Reader outer(request);
  std::string_view certIdDer;
  auto certId = outer.take(kSequence, &certIdDer);
  if (!certId || !outer.done()) return std::nullopt;

  Reader fields(*certId);
  auto algorithm = fields.take(kSequence);
  auto nameHash = fields.take(kOctetString);
  auto keyHash = fields.take(kOctetString);
  auto serial = fields.take(kInteger);
  if (!algorithm || !nameHash || !keyHash || !serial || !fields.done()) return std::nullopt;

  Reader algorithmFields(*algorithm);
  auto oid = algorithmFields.take(kOid);
  if (!oid) return std::nullopt;
  if (!algorithmFields.done()) {
    auto parameters = algorithmFields.take(kNull);
    if (!parameters || !parameters->empty() || !algorithmFields.done()) return std::nullopt;
  }

  CertIdQuery query;
  if (*oid == kSha1) query.hash = CertIdHash::Sha1;
  else if (*oid == kSha256) query.hash = CertIdHash::Sha256;
  else return std::nullopt;
  auto hex = serialHex(*serial);
  if (!hex) return std::nullopt;
  query.issuerNameHash = std::string(*nameHash);
  query.issuerKeyHash = std::string(*keyHash);
  query.serialHex = std::move(*hex);
  query.certIdDer = std::string(certIdDer);
  return query;
}

// requestExtensions [2] EXPLICIT Extensions; Extension ::= SEQUENCE {
// extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. Only the
// nonce matters, and as OpenSSL looks it up, the first one counts.
bool readExtensions(std::string_view explicitContent, std::optional<std::string>& nonce) {
  Reader wrapper(explicitContent);
  auto list = wrapper.take(kSequence);
  if (!list || list->empty() || !wrapper.done()) return false;
  Reader extensions(*list);
  while (!extensions.done()) {
    auto extension = extensions.take(kSequence);
    if (!extension) return false;
    Reader fields(*extension);
    auto oid = fields.take(kOid);
    if (!oid || !validOid(*oid)) return false;
    if (fields.next(0x01)) return false;  // `critical` spelled out: leave it to OpenSSL
    auto value = fields.take(kOctetString);
    if (!value || !fields.done()) return false;
    if (*oid == kNonce && !nonce) nonce = std::string(*value);
  }
  return true;
}

}  // namespace

std::optional<OcspRequest> readCommonOcspRequest(std::string_view der) {
  Reader whole(der);
  auto ocspRequest = whole.take(kSequence);
  if (!ocspRequest || !whole.done()) return std::nullopt;
  Reader top(*ocspRequest);
  auto tbsRequest = top.take(kSequence);
  if (!tbsRequest || !top.done()) return std::nullopt;  // optionalSignature: OpenSSL's

  Reader tbs(*tbsRequest);
  if (tbs.next(kExplicit0)) {
    // version [0] EXPLICIT Version DEFAULT v1: DER leaves it out, some spell out v1.
    auto version = tbs.take(kExplicit0);
    if (!version || *version != std::string_view("\x02\x01\x00", 3)) return std::nullopt;
  }
  auto requestList = tbs.take(kSequence);  // a requestorName [1] fails here
  if (!requestList || requestList->empty()) return std::nullopt;

  OcspRequest out;
  if (!tbs.done()) {
    auto extensions = tbs.take(kExplicit2);
    if (!extensions || !tbs.done() || !readExtensions(*extensions, out.nonce)) return std::nullopt;
  }
  Reader requests(*requestList);
  while (!requests.done()) {
    auto request = requests.take(kSequence);
    if (!request) return std::nullopt;
    auto query = readRequest(*request);
    if (!query) return std::nullopt;
    out.queries.push_back(std::move(*query));
  }
  return out;
}

}  // namespace revoca::pki
