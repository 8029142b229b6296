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

// RFC 3339, e.g. "2026-01-02T03:04:05Z", "2026-01-02T05:04:05.5+02:00".
Result<TimePoint> parseTimestamp(const std::string& text);

// Octal permission bits: "0400", "400", "0o644". A YAML integer 400 arrives
// here as the text "400": people write modes in octal whether quoted or not.
Result<int> parseFileMode(const std::string& text);

// "uid:gid", e.g. "1000:1000" (the seed's file-ownership).
Result<FileOwnership> parseFileOwnership(const std::string& text);

// An EMQX listener bind: "0.0.0.0:8883", "[::]:8883" or just "8883".
Result<void> checkBind(const std::string& text);

// An EMQX listener name; it becomes part of EMQX_LISTENERS__SSL__<NAME>__...,
// which EMQX lower-cases back, so only lowercase letters, digits and '_' survive.
Result<void> checkListenerName(const std::string& name);

// A CRL or OCSP URL template: renders with renderUrlTemplate and is a plain
// http:// URL (RFC 5280 relying parties fetch these without TLS).
Result<void> checkHttpUrlTemplate(const std::string& text);

}  // namespace revoca::decl
