#pragma once
// "host:port", "[v6]:port" or ":port" (every IPv4 interface) to an endpoint.
#include <string_view>

#include <boost/asio/ip/tcp.hpp>

#include "core/result.h"

namespace revoca::responder {

// Errors read "listen <text>: <why>". Host names (e.g. "localhost") are
// resolved once, here.
Result<boost::asio::ip::tcp::endpoint> parseListenAddress(std::string_view listen);

}  // namespace revoca::responder
