#include "responder/response_bytes.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace revoca::responder {
namespace {

namespace http = boost::beast::http;

std::string headerBytes(const http::response_header<>& header) {
  std::string out = "kept ";
  appendHeaderBytes(header, out);
  EXPECT_EQ(out.substr(0, 5), "kept ");  // appended, not replaced
  return out.substr(5);
}

// What Beast's own serializer writes for the same header.
std::string beastBytes(const http::response_header<>& header) {
  std::ostringstream out;
  out << header;
  return out.str();
}

TEST(HeaderBytesTest, AnOcspAnswerAsBeastWritesIt) {
  http::response<http::string_body> response{http::status::ok, 11};
  response.set(http::field::server, "revoca");
  response.set(http::field::date, "Sat, 28 Nov 2026 07:00:00 GMT");
  response.set(http::field::content_type, "application/ocsp-response");
  response.set(http::field::cache_control, "max-age=3600, public, no-transform, must-revalidate");
  response.set("X-Custom", "kept as given");
  response.body() = std::string(400, 'x');
  response.prepare_payload();
  response.keep_alive(true);
  EXPECT_EQ(headerBytes(response), beastBytes(response));
  EXPECT_EQ(headerBytes(response).substr(0, 17), "HTTP/1.1 200 OK\r\n");
}

TEST(HeaderBytesTest, CloseKeepAliveAndOtherStatusesAsBeastWritesThem) {
  http::response<http::string_body> closing{http::status::not_found, 11};
  closing.keep_alive(false);
  EXPECT_EQ(headerBytes(closing), beastBytes(closing));

  http::response<http::string_body> http10{http::status::not_modified, 10};
  http10.keep_alive(true);
  EXPECT_EQ(headerBytes(http10), beastBytes(http10));
  EXPECT_NE(headerBytes(http10).find("HTTP/1.0 304 Not Modified\r\n"), std::string::npos);

  http::response<http::string_body> tooLarge{http::status::request_header_fields_too_large, 11};
  tooLarge.content_length(0);
  EXPECT_EQ(headerBytes(tooLarge), beastBytes(tooLarge));

  http::response<http::string_body> ownReason{http::status::ok, 11};
  ownReason.reason("Fine");
  EXPECT_EQ(headerBytes(ownReason), beastBytes(ownReason));
}

TEST(HeaderBytesTest, EndsWithTheBlankLine) {
  http::response<http::string_body> response{http::status::no_content, 11};
  std::string bytes = headerBytes(response);
  ASSERT_GE(bytes.size(), 4u);
  EXPECT_EQ(bytes.substr(bytes.size() - 4), "\r\n\r\n");
}

}  // namespace
}  // namespace revoca::responder
