#pragma once
// How revoca writes its records (registry/records.h) down, for both stores:
// the files of standalone/file_state_store.h and the Secrets of
// kubernetes/secret_state_store.h hold the same bytes. Every write is in
// the canonical form:
//
//   ledger line          SERIAL CAVERSION NOTAFTER SUBJECT
//                        SUBJECT is one word: printable ASCII, any other byte
//                        (space, control, non-ASCII) written as '_', and "-"
//                        for no subject (read back as "-")
//   revocation line      SERIAL REVOKEDAT REASON INVALIDITY
//                        REASON is the RFC 5280 CRLReason code (0 to 10 but 7),
//                        INVALIDITY "-" for none
//   first CRL listing    SERIAL CRLNUMBER: the first CRL that listed a
//                        revoked serial (CrlListing)
//   CRL number           NUMBER, then a line break
//   CRL stamps           VERSION NUMBER THISUPDATE NEXTUPDATE ENTRIES-SHA256,
//                        a line each, ascending versions
//   CA versions          versions.json: [{"version", "certPem", "keyPem",
//                        "notBefore", "notAfter", "crlDistUrls" (absent in a
//                        version saved before they were kept)}]
//   CRL distribution     one URL a line (a file of a CA version's own)
//   points
//   VaultSecret record   a JSON object {"serialHex", "issuingCa", "caVersion",
//                        "notBefore", "notAfter", "specGeneration"}, with
//                        "cert" and "key" for the PEMs when they go in the
//                        same document (a file); a Secret keeps them under
//                        keys of their own
//   tenant UUID          the UUID, then a line break
//
// Serials in canonical hex (pki::isNormalizedSerialHex), times in Unix
// seconds, numbers as std::to_string writes them: one spelling per value,
// so a hand edit is either exactly right or refused.
//
// Why these: where the two stores wrote a record differently, the form is
// one the previous release of the Secret store reads, because a cluster
// runs two releases on the same Secrets during an upgrade or a rollback
// (replicas, an older revocactl) and a line one of them refuses stops its
// CA; and, among those, one the previous file store reads too where there
// is one. So ledger lines are as the file store wrote them (the Secret
// store read the rest of the line as the subject, here that one word; the
// subject is for people, nothing reads it back), the CRL number too; the
// reason is a code and the serial "serialHex", as the Secret store wrote
// them (no form of these is read by both; a standalone revoca taken back to
// the previous release stops on them with an error naming the file).
//
// Reading: a decoder takes the canonical form and, besides, exactly what
// the previous release of the store it reads for wrote there (Store), so
// state from before reads back unchanged. Anything else is an error that
// says what is wrong, quoting at most a short field and never key material:
// the CA must stop rather than skip, reset or make again what it cannot read.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "registry/records.h"

namespace revoca {

// The store a record is read for: which previous format its decoder takes
// besides the canonical one.
enum class Store {
  Files,    // reasons by name ("keyCompromise"); "serial" in a VaultSecret record
  Secrets,  // ledger subjects verbatim to the end of the line, spaces and all;
            // a CRL number with spaces around it
};

// ---- lines (no line break)

std::string encodeLedgerLine(const IssuedCertificate& issued);
Result<IssuedCertificate> decodeLedgerLine(std::string_view line, Store from);
std::string encodeRevocationLine(const Revocation& revocation);
Result<Revocation> decodeRevocationLine(std::string_view line, Store from);

// Every line of `text` (each ended by a line break; the last may lack it),
// in order. The first that does not decode is an error "line N of <where>:
// <what is wrong>".
Result<std::vector<IssuedCertificate>> decodeLedgerLines(std::string_view text, Store from, const std::string& where);
Result<std::vector<Revocation>> decodeRevocationLines(std::string_view text, Store from, const std::string& where);

// First CRL listings: new in this release, so only the canonical form.
std::string encodeCrlListingLine(const CrlListing& listing);
Result<std::vector<CrlListing>> decodeCrlListingLines(std::string_view text, const std::string& where);

// ---- CRL numbers and stamps; errors read after "<where>: "

std::string encodeCrlNumber(std::uint64_t number);
Result<std::uint64_t> decodeCrlNumber(std::string_view text, Store from);

using CrlStamps = std::map<int, CrlStamp>;  // by CA version
std::string encodeCrlStamps(const CrlStamps& stamps);
Result<CrlStamps> decodeCrlStamps(std::string_view text);

// ---- CA versions; errors read after "<where>: "

std::string encodeCaVersions(const CaRecord& record);
// Ascending by version, as CaRecord keeps them.
Result<CaRecord> decodeCaVersions(std::string_view text);

std::string encodeCrlDistUrls(const std::vector<std::string>& urls);
// An error names `where` (and the line).
Result<std::vector<std::string>> decodeCrlDistUrls(std::string_view text, const std::string& where);

// ---- VaultSecret records; an error names `where` and the field

// With the PEMs, as one document: a file.
std::string encodeSecretRecordDocument(const SecretRecord& record);
Result<SecretRecord> decodeSecretRecordDocument(std::string_view text, const std::string& where);
// Without the PEMs (a Secret keeps them beside), which the result leaves empty.
std::string encodeSecretRecordFields(const SecretRecord& record);
Result<SecretRecord> decodeSecretRecordFields(std::string_view text, const std::string& where);

// ---- tenant UUIDs; errors read after "<where>: "

std::string encodeTenantUuid(const std::string& uuid);
Result<std::string> decodeTenantUuid(std::string_view text);

}  // namespace revoca
