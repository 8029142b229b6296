#pragma once
// The syntaxes of single values in a declaration (names, timestamps, file
// modes, ownership, listener addresses, URL templates). Each error message
// says what is wrong and how to write it; the caller adds the field path.
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "declarations/types.h"

namespace revoca::decl {

// Kubernetes object name rules (an RFC 1123 label), so the same declarations
// work with kubectl: lowercase letters, digits and '-', starting and ending
// with a letter or digit, at most 63 characters.
Result<void> checkObjectName(const std::string& name);

// A Kubernetes Deployment name (an RFC 1123 subdomain): dot-separated
// RFC 1123 labels, at most 253 characters. It names a directory under
// OUTPUT/<namespace>/ in standalone mode, so it can never be "." or "..".
Result<void> checkDeploymentName(const std::string& name);

// An IPv4 or IPv6 address as inet_pton reads it (no brackets, no port).
bool isIpAddress(const std::string& text);

// A name a certificate may carry in subjectAltName: an IPv4 or IPv6
// address, or a DNS host name (RFC 1034 preferred syntax as RFC 5280
// requires: letters, digits and '-' in labels of 1 to 63, at most 253 in
// all, no trailing dot). `allowWildcard`: "*.example.com" (a whole leftmost
// label, under at least two more) is also accepted.
Result<void> checkHostName(const std::string& name, bool allowWildcard);

// A path inside the EMQX container: absolute, of the characters of
// portable file names ([A-Za-z0-9._-]) and '/', with no "." or ".." step.
Result<void> checkContainerPath(const std::string& path);

// RFC 3339, e.g. "2026-01-02T03:04:05Z", "2026-01-02T05:04:05.5+02:00".
Result<TimePoint> parseTimestamp(const std::string& text);

// Octal permission bits: "0400", "400", "0o644". A YAML integer 400 arrives
// here as the text "400": people write modes in octal whether quoted or not.
Result<int> parseFileMode(const std::string& text);

// "uid:gid", e.g. "1000:1000" (EMQX's uid and gid).
Result<FileOwnership> parseFileOwnership(const std::string& text);

// An EMQX listener bind: "0.0.0.0:8883", "[::]:8883" or just "8883"; the
// address is an IP address (EMQX binds to addresses, not names).
Result<void> checkBind(const std::string& text);

// An EMQX listener name; it becomes part of EMQX_LISTENERS__SSL__<NAME>__...,
// which EMQX lower-cases back, so only lowercase letters, digits and '_' survive.
Result<void> checkListenerName(const std::string& name);

// A CRL or OCSP URL template: renders with renderUrlTemplate and is a plain
// http:// URL (RFC 5280 relying parties fetch these without TLS): a host
// name or IP address, an optional port, and a path of RFC 3986 characters
// only, so nothing in it can end a quoted value in a certificate reader,
// an env file or HOCON.
Result<void> checkHttpUrlTemplate(const std::string& text);

// A revocation reason as a declaration or revocactl names it (RFC 5280
// names). certificateHold and removeFromCRL are refused: revoca's
// revocations are permanent, so a hold could never be released, and
// removeFromCRL belongs in delta CRLs only (RFC 5280 5.3.1), which revoca
// does not make. (The CA/Browser Forum forbids both too; Boulder refuses them.)
Result<pki::RevocationReason> parseRevocationReason(const std::string& name);

}  // namespace revoca::decl
