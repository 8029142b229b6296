#pragma once
// The small pieces of HTTP caching the responder needs: HTTP dates, entity
// tags, If-None-Match and If-Modified-Since. Kept apart from the routing so
// each is testable.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"

namespace revoca::responder {

// "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 section 5.6.7).
std::string formatHttpDate(TimePoint t);

// Seconds from `now` until `until`, never negative, for Cache-Control max-age.
std::int64_t secondsUntil(TimePoint now, TimePoint until);

// A strong entity tag, quoted: "0123456789abcdef". Differs whenever the body
// differs; see the .cc for why large bodies are not hashed in full.
std::string entityTag(std::string_view body);
// The same with a label for people reading it in front: "v1-n42-0123456789abcdef".
std::string entityTag(std::string_view label, std::string_view body);
// A strong tag of the same form over every byte, for a body that is not one
// signed document: a CA's trust bundle ends with its parent's certificates,
// which stay as they are when the CA makes a new version of its own.
std::string entityTagOfEveryByte(std::string_view body);

// An HTTP-date in any of the three forms RFC 9110 section 5.6.7 has a
// recipient accept: IMF-fixdate, and the obsolete RFC 850 and asctime forms.
// `now` places the RFC 850 form's two-digit year.
std::optional<TimePoint> parseHttpDate(std::string_view text, TimePoint now);

// True when an If-Modified-Since header value is a date, not after `now`,
// at or after `lastModified`, in which case the answer is 304 Not Modified
// (RFC 9110 section 13.1.3). Anything else gets the full answer.
bool notModifiedSince(std::string_view ifModifiedSince, TimePoint lastModified, TimePoint now);

// True when an If-None-Match header value ("*", or a list of tags, weak or
// strong) names `etag`, in which case the answer is 304 Not Modified.
bool ifNoneMatchHits(std::string_view ifNoneMatch, std::string_view etag);

}  // namespace revoca::responder
