#pragma once
// The pure part of the responder: one parsed HTTP request in, one response
// out. No sockets here, so every route is testable without a network.
#include <memory>
#include <string_view>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/clock.h"
#include "responder/metrics.h"
#include "responder/revocation_source.h"

namespace revoca::responder {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;
using StreamedHeader = http::response<http::empty_body>;

// The /metrics page a piece at a time: the responder's and the CAs' series
// first, then the per-object ones, so a scrape never holds the whole page
// (megabytes at 10,000 VaultSecrets).
class MetricsPieces {
 public:
  MetricsPieces(const Metrics& metrics, const RevocationSource& source) : metrics_(metrics), source_(source) {}
  // Appends to `out` until it holds `budget` bytes or more, or the page ends;
  // returns true once the page is complete.
  bool next(std::string& out, std::size_t budget = kMetricsPieceBytes);

 private:
  const Metrics& metrics_;
  const RevocationSource& source_;
  bool started_ = false;
  MetricsCursor cursor_;
};

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
  // The source's stopping(): the connection closes after each answer.
  bool stopping() const { return source_->stopping(); }

  // A GET of /metrics over HTTP/1.1 is answered in chunks (the server writes
  // metricsHeader(), then each of metricsPieces() as a chunk), not by handle().
  static bool streamsMetrics(const Request& request);
  StreamedHeader metricsHeader(const Request& request);
  MetricsPieces metricsPieces() const { return MetricsPieces(metrics_, *source_); }

  // The metrics label for a request target.
  static Route classify(std::string_view target);

 private:
  Response route(const Request& request, Route& label);
  Response crl(const Request& request, std::string_view rest, bool pem);
  Response caBundle(const Request& request, std::string_view rest);
  Response ocsp(const Request& request, std::string_view rest);
  Response ocspReply(const Request& request, OcspReply reply);
  Response metricsPage();
  // The headers every answer carries: Server and Date.
  void stamp(http::response_header<>& header) const;
  void finish(unsigned version, bool head, Response& response) const;

  std::shared_ptr<const RevocationSource> source_;
  const Clock& clock_;
  Metrics metrics_;
};

}  // namespace revoca::responder
