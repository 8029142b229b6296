#pragma once
// A small blocking HTTP client for the server tests. Reads run on a private
// io_context with a deadline, so a server bug fails a test instead of hanging it.
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

// GCC 12 reports a false maybe-uninitialized inside Beast's response parser.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

namespace revoca::responder::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using HttpResponse = http::response<http::string_body>;

class TestClient {
 public:
  explicit TestClient(std::uint16_t port, std::string_view host = "127.0.0.1") : socket_(io_) {
    socket_.connect({net::ip::make_address(std::string(host)), port});
  }

  void send(std::string_view raw) { net::write(socket_, net::buffer(raw.data(), raw.size())); }

  // Reads one response; nullopt on error, end of stream or after `timeout`.
  std::optional<HttpResponse> read(bool head = false,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    parser.skip(head);
    beast::error_code result;
    bool done = false;
    http::async_read(socket_, buffer_, parser, [&](beast::error_code ec, std::size_t) {
      result = ec;
      done = true;
    });
    if (!runFor(done, timeout) || result) return std::nullopt;
    return parser.release();
  }

  // Sends a request and reads its response.
  std::optional<HttpResponse> request(http::verb method, std::string_view target,
                                      std::string body = {},
                                      std::string_view contentType = {},
                                      std::string_view ifNoneMatch = {}) {
    http::request<http::string_body> req{method, std::string(target), 11};
    req.set(http::field::host, "localhost");
    if (!contentType.empty()) req.set(http::field::content_type, beast::string_view(contentType.data(), contentType.size()));
    if (!ifNoneMatch.empty()) req.set(http::field::if_none_match, beast::string_view(ifNoneMatch.data(), ifNoneMatch.size()));
    if (!body.empty() || method == http::verb::post) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    http::write(socket_, req);
    return read(method == http::verb::head);
  }

  std::optional<HttpResponse> get(std::string_view target) {
    return request(http::verb::get, target);
  }

  // How long until the server closes the connection, discarding whatever it
  // sends; nullopt if it is still open after `timeout`.
  std::optional<std::chrono::milliseconds> timeUntilClosed(std::chrono::milliseconds timeout) {
    auto started = std::chrono::steady_clock::now();
    bool closed = false;
    std::function<void()> readMore = [&] {
      socket_.async_read_some(net::buffer(scratch_), [&](beast::error_code ec, std::size_t) {
        if (ec) {
          closed = true;
          return;
        }
        readMore();
      });
    };
    readMore();
    if (!runFor(closed, timeout)) return std::nullopt;
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 started);
  }

 private:
  bool runFor(bool& done, std::chrono::milliseconds timeout) {
    io_.restart();
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_until(deadline);
    }
    if (done) return true;
    socket_.cancel();
    io_.restart();
    io_.run();
    return false;
  }

  net::io_context io_;
  net::ip::tcp::socket socket_;
  beast::flat_buffer buffer_;
  char scratch_[4096];
};

}  // namespace revoca::responder::testing
