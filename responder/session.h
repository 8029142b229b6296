#pragma once
// One client connection: read a request under a deadline, answer it, repeat
// while the client keeps the connection alive.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "responder/router.h"
#include "responder/server.h"

namespace revoca::responder {

namespace beast = boost::beast;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // The io_context's own executor, not the type-erased any_io_executor:
  // copying and destroying that one per operation cost 5% of a cached answer.
  using Stream = beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;
  using Socket = Stream::socket_type;

  // `router` and `options` outlive every session (the server owns them and
  // destroys its io_context, and with it all sessions, first).
  Session(Socket socket, Router& router, const ServerOptions& options);
  void start();

 private:
  void waitForRequest();
  void readHeader();
  // Feeds the parser what the buffer holds already. True once it has what
  // this step needs (the header; with eager parsing, the whole request) or
  // `ec` is set; false when it needs more bytes (then `ec` is clear).
  bool parseBuffered(beast::error_code& ec);
  void onHeader(beast::error_code ec);
  void onRequest(beast::error_code ec);
  void onReadError(beast::error_code ec);
  void reject(http::status status, std::string_view message);  // answer, then close
  void respond(Response response, bool close);
  // GET /metrics over HTTP/1.1: the header, then a chunk per piece of the page.
  void streamMetrics(const Request& request, bool close);
  void writeNextPiece(bool close);
  void onWritten(bool close, beast::error_code ec);
  void closeGracefully();
  void drain();
  void closeNow();

  Stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  std::string header_;  // response_'s header as written (or the streamed page's)
  // While /metrics is streamed: the page and the piece being written.
  std::optional<MetricsPieces> metricsPieces_;
  std::string piece_;
  Router& router_;
  const ServerOptions& options_;
  std::size_t drained_ = 0;
};

}  // namespace revoca::responder
