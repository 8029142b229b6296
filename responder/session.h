#pragma once
// One client connection: read a request under a deadline, answer it, repeat
// while the client keeps the connection alive.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>

#include "responder/router.h"
#include "responder/server.h"

namespace revoca::responder {

namespace beast = boost::beast;

class Session : public std::enable_shared_from_this<Session> {
 public:
  // `router` and `options` outlive every session (the server owns them and
  // destroys its io_context, and with it all sessions, first).
  Session(boost::asio::ip::tcp::socket socket, Router& router, const ServerOptions& options);
  void start();

 private:
  void waitForRequest();
  void readHeader();
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

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Response response_;
  // While /metrics is streamed: its header, the serializer that wrote it, the
  // page and the piece being written.
  std::optional<StreamedHeader> streamedHeader_;
  std::optional<http::response_serializer<http::empty_body>> headerSerializer_;
  std::optional<MetricsPieces> metricsPieces_;
  std::string piece_;
  Router& router_;
  const ServerOptions& options_;
  std::size_t drained_ = 0;
};

}  // namespace revoca::responder
