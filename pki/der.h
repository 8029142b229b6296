#pragma once
// Just enough DER (X.690) to write the revoked-certificate list of a large
// CRL directly: OpenSSL's generic ASN.1 encoder takes seconds for 100,000
// entries, these loops take milliseconds. Private to pki/.
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace revoca::pki::der {

constexpr unsigned char kInteger = 0x02;
constexpr unsigned char kBitString = 0x03;
constexpr unsigned char kOctetString = 0x04;
constexpr unsigned char kNull = 0x05;
constexpr unsigned char kOid = 0x06;
constexpr unsigned char kEnumerated = 0x0A;
constexpr unsigned char kUtcTime = 0x17;
constexpr unsigned char kGeneralizedTime = 0x18;
constexpr unsigned char kSequence = 0x30;
constexpr unsigned char kContext0 = 0xA0;  // [0], constructed
constexpr unsigned char kContext2 = 0xA2;  // [2], constructed

// tag, definite length, content.
void appendTlv(std::string& out, unsigned char tag, std::string_view content);
std::string tlv(unsigned char tag, std::string_view content);

// Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }: UTCTime
// for 1950 to 2049, GeneralizedTime otherwise (RFC 5280 4.1.2.5), whole
// seconds, "Z". The whole TLV.
std::string time(TimePoint t);
std::string generalizedTime(TimePoint t);  // always GeneralizedTime
void appendTime(std::string& out, TimePoint t);
void appendGeneralizedTime(std::string& out, TimePoint t);

// The content octets of a non-negative INTEGER given as canonical hex
// (as normalizeSerialHex returns it): minimal, with a 0x00 pad when the top
// bit is set.
std::string integerContent(const std::string& hex);

// One element of `der` starting at `at`: [at, contentStart) is the header,
// [contentStart, end) the content. nullopt when it does not fit.
struct Element {
  unsigned char tag = 0;
  std::size_t contentStart = 0;
  std::size_t end = 0;
};
// Takes any definite length, as BER allows (what OpenSSL wrote is read back).
std::optional<Element> read(std::string_view der, std::size_t at);
// Only DER's lengths: the short form below 128, else the fewest octets with
// no leading zero. For input from strangers that must mean one thing only.
std::optional<Element> readStrict(std::string_view der, std::size_t at);

}  // namespace revoca::pki::der
