#include "responder/read_errors.h"

#include <boost/beast/http/error.hpp>

namespace revoca::responder {

namespace http = boost::beast::http;

std::optional<ReadRejection> rejectionFor(const boost::beast::error_code& ec) {
  if (ec == http::error::body_limit) return ReadRejection{http::status::payload_too_large, "request body too large"};
  if (ec == http::error::header_limit)
    return ReadRejection{http::status::request_header_fields_too_large, "request header too large"};
  if (ec == http::error::buffer_overflow)
    return ReadRejection{http::status::bad_request, "chunk extensions or trailers too long"};
  bool parseError = ec.category() == make_error_code(http::error::end_of_stream).category();
  if (parseError && ec != http::error::end_of_stream && ec != http::error::partial_message)
    return ReadRejection{http::status::bad_request, "malformed HTTP request"};
  return std::nullopt;
}

}  // namespace revoca::responder
