#pragma once
// What the responder answers when its HTTP parser refuses a request. The
// session and the HTTP fuzz target (fuzz/http_request_fuzzer.cc) share it,
// so what is fuzzed is what is served.
#include <cstddef>
#include <optional>
#include <string_view>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/status.hpp>

namespace revoca::responder {

// The request line and headers together; the body limit is ServerOptions'.
constexpr std::size_t kHeaderLimit = 8 * 1024;

struct ReadRejection {
  boost::beast::http::status status;
  std::string_view message;
};

// 413, 431 or 400 with a reason; none when the client merely went away,
// reset or timed out, since nobody is left to tell.
std::optional<ReadRejection> rejectionFor(const boost::beast::error_code& ec);

}  // namespace revoca::responder
