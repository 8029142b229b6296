#pragma once
// The small pieces of HTTP caching the responder needs: dates in IMF-fixdate,
// entity tags and If-None-Match. Kept apart from the routing so each is testable.
#include <cstdint>
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

// True when an If-None-Match header value ("*", or a list of tags, weak or
// strong) names `etag`, in which case the answer is 304 Not Modified.
bool ifNoneMatchHits(std::string_view ifNoneMatch, std::string_view etag);

}  // namespace revoca::responder
