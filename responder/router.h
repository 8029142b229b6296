#pragma once
// The pure part of the responder: one parsed HTTP request in, one response
// out. No sockets here, so every route is testable without a network.
#include <memory>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/clock.h"
#include "responder/metrics.h"
#include "responder/revocation_source.h"

namespace revoca::responder {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

class Router {
 public:
  Router(std::shared_ptr<const RevocationSource> source, const Clock& clock);

  // Never throws: a source that throws gives 500. The response is complete
  // (Content-Length set, body dropped for HEAD) except for keep-alive, which
  // is the connection's business.
  Response handle(const Request& request);

  // The answer to a request the parser refused (400, 413, 431); `target` is
  // empty when the request line was not read.
  Response reject(http::status status, std::string_view target, unsigned version,
                  std::string_view message);

  Metrics& metrics() { return metrics_; }

  // The metrics label for a request target.
  static Route classify(std::string_view target);

 private:
  Response route(const Request& request, Route& label);
  Response crl(const Request& request, std::string_view rest, bool pem);
  Response ocsp(const Request& request, std::string_view rest);
  Response ocspReply(const Request& request, OcspReply reply);
  Response metricsPage();
  void finish(unsigned version, bool head, Response& response) const;

  std::shared_ptr<const RevocationSource> source_;
  const Clock& clock_;
  Metrics metrics_;
};

}  // namespace revoca::responder
