#include "responder/session.h"

#include "responder/read_errors.h"
#include "responder/response_bytes.h"

#include <array>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace revoca::responder {
namespace {

namespace net = boost::asio;

// Bytes read but not yet parsed. The header limit and the body limit do not
// cover chunk extensions and trailers: without this bound a client could
// stream an endless chunk extension into memory for the whole header
// timeout (gigabytes on a fast link). A header or a body never needs more.
std::size_t bufferLimit(const ServerOptions& options) {
  return kHeaderLimit + options.maxBodyBytes;
}
// After an error response, how long and how much we read and discard before
// closing: closing with unread request bytes makes the kernel send a reset,
// which can destroy the error response before the client reads it.
constexpr std::chrono::seconds kLingerTime{2};
constexpr std::size_t kLingerBytes = 1024 * 1024;

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

Session::Session(Socket socket, Router& router, const ServerOptions& options)
    : stream_(std::move(socket)),
      buffer_(bufferLimit(options)),
      router_(router),
      options_(options) {}

void Session::start() {
  // The first request gets the header deadline from the moment of connecting,
  // so a client that connects and says nothing is dropped just as fast.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&Session::readHeader, shared_from_this()));
}

// Between keep-alive requests a client may stay silent for idleTimeout; the
// request deadline starts only with its first byte.
void Session::waitForRequest() {
  stream_.expires_after(options_.idleTimeout);
  stream_.async_read_some(
      buffer_.prepare(1024), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->buffer_.commit(n);
        if (ec) return self->closeNow();
        self->readHeader();
      });
}

void Session::readHeader() {
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(options_.maxBodyBytes);
  // The whole request, body included, must arrive within headerTimeout: a
  // client trickling bytes (slowloris) cannot hold the connection longer.
  stream_.expires_after(options_.headerTimeout);
  // Usually the first read brought the whole request: parse it here rather
  // than through another asynchronous read (a timer armed and cancelled, a
  // handler posted).
  if (buffer_.size() > 0) {
    parser_->eager(false);
    beast::error_code ec;
    if (parseBuffered(ec)) return onHeader(ec);
  }
  http::async_read_header(stream_, buffer_, *parser_,
                          [self = shared_from_this()](beast::error_code ec, std::size_t) {
                            self->onHeader(ec);
                          });
}

bool Session::parseBuffered(beast::error_code& ec) {
  while (buffer_.size() > 0 && !parser_->is_done()) {
    std::size_t used = parser_->put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    // Without eager parsing put() stops after the header.
    if (parser_->is_header_done() && !parser_->eager()) return true;
    if (used == 0) return false;
  }
  return parser_->is_done();
}

void Session::onHeader(beast::error_code ec) {
  if (ec) return onReadError(ec);
  // Beast reads a request whose Transfer-Encoding does not end in chunked as
  // having no body, and would take the body for the next request; RFC 9112
  // section 6.3 says answer 400 and close (a proxy in front may frame it
  // differently: request smuggling).
  if (parser_->get().count(http::field::transfer_encoding) > 0 && !parser_->chunked()) {
    return reject(http::status::bad_request, "Transfer-Encoding must end in chunked");
  }
  if (parser_->is_done()) return onRequest({});
  auto readBody = [self = shared_from_this()] {
    // The body too is often in the buffer already.
    self->parser_->eager(true);
    beast::error_code ec;
    if (self->parseBuffered(ec)) return self->onRequest(ec);
    http::async_read(self->stream_, self->buffer_, *self->parser_,
                     [self](beast::error_code ec, std::size_t) { self->onRequest(ec); });
  };
  // curl and others wait (a second, for curl) for this before sending a body.
  const auto& header = parser_->get();
  if (header.version() == 11 && beast::iequals(header[http::field::expect], "100-continue")) {
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = shared_from_this(), readBody](beast::error_code ec, std::size_t) {
                       if (ec) return self->closeNow();
                       readBody();
                     });
    return;
  }
  readBody();
}

void Session::onRequest(beast::error_code ec) {
  if (ec) return onReadError(ec);
  const Request& request = parser_->get();
  // While the process drains, each answer closes its connection: the
  // client's next request opens a new one, which the Service sends to a
  // replica that is not stopping.
  bool close = !request.keep_alive() || router_.stopping();
  if (Router::streamsMetrics(request)) return streamMetrics(request, close);
  respond(router_.handle(request), close);
}

void Session::onReadError(beast::error_code ec) {
  auto rejection = rejectionFor(ec);
  // Otherwise the client went away, reset, or timed out (tcp_stream has then
  // closed the socket already).
  if (!rejection) return closeNow();
  reject(rejection->status, rejection->message);
}

void Session::reject(http::status status, std::string_view message) {
  const auto& partial = parser_->get();
  auto target = partial.target();
  respond(router_.reject(status, {target.data(), target.size()}, partial.version(), message),
          true);
}

void Session::respond(Response response, bool close) {
  response_ = std::move(response);
  response_.keep_alive(!close);
  // A client that stops reading must not hold the connection forever; the
  // idle timeout is long enough for a large CRL on a slow link.
  stream_.expires_after(options_.idleTimeout);
  // Router's answers are never chunked (only the streamed /metrics is, below).
  header_.clear();
  appendHeaderBytes(response_, header_);
  std::array<net::const_buffer, 2> bytes{net::buffer(header_), net::buffer(response_.body())};
  net::async_write(stream_, bytes, [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
    self->onWritten(close, ec);
  });
}

void Session::streamMetrics(const Request& request, bool close) {
  StreamedHeader header = router_.metricsHeader(request);
  header.keep_alive(!close);
  header_.clear();
  appendHeaderBytes(header, header_);
  metricsPieces_.emplace(router_.metricsPieces());
  stream_.expires_after(options_.idleTimeout);
  net::async_write(stream_, net::buffer(header_), [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
    if (ec) return self->closeNow();
    self->writeNextPiece(close);
  });
}

void Session::writeNextPiece(bool close) {
  piece_.clear();
  bool last = false;
  try {
    last = metricsPieces_->next(piece_);
  } catch (const std::exception&) {
    // The 200 is sent: all that can tell the client is a page left unfinished.
    return closeNow();
  }
  auto onWritten = [self = shared_from_this(), close, last](beast::error_code ec, std::size_t) {
    if (ec) return self->closeNow();
    if (!last) return self->writeNextPiece(close);
    net::async_write(self->stream_, http::make_chunk_last(), [self, close](beast::error_code ec, std::size_t) {
      // Counted once answered, as handle() counts every other request.
      if (!ec) self->router_.metrics().countRequest(Route::Metrics, 200);
      self->onWritten(close, ec);
    });
  };
  stream_.expires_after(options_.idleTimeout);
  // A chunk of no bytes would end the body: an empty last piece goes straight to the end.
  if (piece_.empty()) return onWritten({}, 0);
  net::async_write(stream_, http::make_chunk(net::buffer(piece_)), std::move(onWritten));
}

void Session::onWritten(bool close, beast::error_code ec) {
  if (ec) return closeNow();
  if (close) return closeGracefully();
  response_ = {};  // a CRL can be megabytes: do not keep it while idle
  header_ = std::string();  // nor 300 bytes per idle keep-alive connection
  metricsPieces_.reset();
  piece_ = std::string();
  parser_.reset();
  // A pipelining client may have sent the next request already.
  if (buffer_.size() > 0) return readHeader();
  waitForRequest();
}

void Session::closeGracefully() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.expires_after(kLingerTime);
  drain();
}

void Session::drain() {
  buffer_.clear();
  stream_.async_read_some(
      buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
        self->drained_ += n;
        if (ec || self->drained_ > kLingerBytes) return self->closeNow();
        self->drain();
      });
}

void Session::closeNow() {
  beast::error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
}

}  // namespace revoca::responder
