#pragma once
// A response's status line and fields as bytes, exactly as Beast's
// serializer writes them. The session writes these and the body in one
// gathered write: Beast's serializer walks nested buffer views for each
// write, about a tenth of the responder's CPU for a cached OCSP answer (perf).
#include <string>

#include <boost/beast/http/message.hpp>

namespace revoca::responder {

// Appends to `out`, so a connection reuses one string's memory for each answer.
void appendHeaderBytes(const boost::beast::http::response_header<>& header, std::string& out);

}  // namespace revoca::responder
