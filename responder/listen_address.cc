#include "responder/listen_address.h"

#include <charconv>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

namespace revoca::responder {

namespace net = boost::asio;
using net::ip::tcp;

Result<tcp::endpoint> parseListenAddress(std::string_view listen) {
  auto fail = [&](const std::string& why) {
    return makeError("listen " + std::string(listen) + ": " + why);
  };

  std::string_view host;
  std::string_view port;
  if (listen.starts_with('[')) {
    std::size_t close = listen.find(']');
    if (close == std::string_view::npos || close + 1 >= listen.size() || listen[close + 1] != ':') {
      return fail("expected [address]:port");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    std::size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos) return fail("expected host:port");
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return fail("write IPv6 addresses in brackets, as [::1]:4664");
    }
  }

  unsigned number = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || number > 65535) {
    return fail("the port must be a number from 0 to 65535");
  }
  auto portNumber = static_cast<unsigned short>(number);
  if (host.empty()) return tcp::endpoint(tcp::v4(), portNumber);

  boost::system::error_code error;
  net::ip::address address = net::ip::make_address(std::string(host), error);
  if (!error) return tcp::endpoint(address, portNumber);

  net::io_context context;
  tcp::resolver resolver(context);
  auto results = resolver.resolve(std::string(host), std::string(port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service, error);
  if (error || results.empty()) {
    return fail("cannot resolve host " + std::string(host) +
                (error ? ": " + error.message() : std::string()));
  }
  return results.begin()->endpoint();
}

}  // namespace revoca::responder
