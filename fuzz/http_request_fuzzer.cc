// Target (b): the bytes a client sends the responder, read the way
// responder/session.cc reads them (Boost.Beast's request parser with the
// session's header and body limits, request after request while the client
// keeps the connection alive) and answered by the real Router over the
// fuzz CA's registry. No sockets: the input is the whole byte stream.
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>

#include "fuzz/check.h"
#include "fuzz/fuzz_authority.h"
#include "responder/read_errors.h"
#include "responder/response_bytes.h"
#include "responder/router.h"
#include "responder/server.h"

namespace {

using namespace revoca;
namespace beast = boost::beast;
namespace http = boost::beast::http;

responder::Router& router() {
  static responder::Router* router =
      new responder::Router(fuzz::fuzzAuthority().registry, fuzz::fuzzAuthority().clock);
  return *router;
}

// Every response goes to the wire whole: the serializer accepts it,
// Content-Length says the truth, and the session's header bytes are Beast's.
void checkResponse(const responder::Response& response, bool head) {
  auto status = response.result();
  if (!head && status != http::status::not_modified && status != http::status::no_content) {
    auto length = response[http::field::content_length];
    FUZZ_CHECK(!length.empty(), "a response without Content-Length");
    FUZZ_CHECK(std::string(length.data(), length.size()) == std::to_string(response.body().size()),
               "Content-Length differs from the body");
  }
  std::ostringstream wire;
  wire << response;
  FUZZ_CHECK(wire.good(), "the response did not serialize");
  // The session writes the header with its own serializer: byte for byte Beast's.
  std::ostringstream beastHeader;
  beastHeader << response.base();
  std::string sessionHeader;
  responder::appendHeaderBytes(response, sessionHeader);
  FUZZ_CHECK(sessionHeader == beastHeader.str(), "the session's header bytes differ from Beast's serializer");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  responder::ServerOptions options;
  while (!input.empty()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(responder::kHeaderLimit);
    parser.body_limit(options.maxBodyBytes);
    parser.eager(true);
    beast::error_code ec;
    while (!parser.is_done() && !ec) {
      if (input.empty()) {
        // The stream ends here: what the parser still wants will never come.
        parser.put_eof(ec);
        break;
      }
      std::size_t used = parser.put(boost::asio::buffer(input.data(), input.size()), ec);
      input.remove_prefix(used);
      if (ec == http::error::need_more) {
        // Not enough for the next step (a header, a chunk size line): nor will it come.
        ec = {};
        parser.put_eof(ec);
        break;
      }
    }
    if (!ec && !parser.is_done()) return 0;
    if (ec) {
      if (auto rejection = responder::rejectionFor(ec)) {
        auto target = parser.get().target();
        checkResponse(router().reject(rejection->status, {target.data(), target.size()}, parser.get().version(),
                                      rejection->message),
                      false);
      }
      return 0;  // the session closes after any read error
    }
    const responder::Request& request = parser.get();
    checkResponse(router().handle(request), request.method() == http::verb::head);
    if (!request.keep_alive()) return 0;
  }
  return 0;
}
