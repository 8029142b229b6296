#include "responder/router.h"

#include <algorithm>

#include <boost/beast/core/string.hpp>

#include "responder/http_cache.h"
#include "responder/ocsp_get.h"

namespace revoca::responder {
namespace {

// The DER OCSPResponse { responseStatus malformedRequest(1) }:
//   30 03        SEQUENCE, 3 bytes
//   0A 01 01     ENUMERATED 1
constexpr std::string_view kMalformedOcspResponse{"\x30\x03\x0a\x01\x01", 5};

constexpr std::string_view kTextPlain = "text/plain; charset=utf-8";
constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4";
// RFC 8555 section 9.1's type for a sequence of PEM certificates.
constexpr std::string_view kPemChainContentType = "application/pem-certificate-chain";

// Beast 1.74 speaks boost::string_view.
std::string_view sv(boost::beast::string_view s) { return {s.data(), s.size()}; }
boost::beast::string_view bsv(std::string_view s) { return {s.data(), s.size()}; }

bool isGetOrHead(const Request& request) {
  return request.method() == http::verb::get || request.method() == http::verb::head;
}

// The path of an origin-form or absolute-form target, without the query.
std::string_view pathOf(std::string_view target) {
  if (!target.starts_with('/')) {
    std::size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return target;
    std::size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return target.substr(0, target.find('?'));
}

Route classifyPath(std::string_view path) {
  if (path.starts_with("/ocsp/")) return Route::Ocsp;
  if (path.starts_with("/crl/")) return Route::Crl;
  if (path.starts_with("/crl-pem/")) return Route::CrlPem;
  if (path.starts_with("/ca/")) return Route::CaBundle;
  if (path == "/healthz") return Route::Healthz;
  if (path == "/readyz") return Route::Readyz;
  if (path == "/metrics") return Route::Metrics;
  return Route::Other;
}

// Splits off the segment before the next '/'; `rest` keeps what follows it.
// `hadSlash` tells "a/" (an empty remainder) from "a" (none).
std::string_view takeSegment(std::string_view& rest, bool* hadSlash = nullptr) {
  std::size_t slash = rest.find('/');
  std::string_view segment = rest.substr(0, slash);
  rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  if (hadSlash) *hadSlash = slash != std::string_view::npos;
  return segment;
}

std::optional<std::string> segmentValue(std::string_view segment) {
  if (segment.find('%') == std::string_view::npos) return std::string(segment);
  return percentDecode(segment);
}

Response text(http::status status, std::string body) {
  Response response{status, 11};
  response.set(http::field::content_type, bsv(kTextPlain));
  response.body() = std::move(body);
  return response;
}

Response methodNotAllowed(std::string_view allow) {
  Response response = text(http::status::method_not_allowed, "method not allowed");
  response.set(http::field::allow, bsv(allow));
  return response;
}

bool mediaTypeIs(std::string_view header, std::string_view expected) {
  std::string_view type = header.substr(0, header.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return boost::beast::iequals(bsv(type), bsv(expected));
}

void setCacheValidators(Response& response, TimePoint lastModified, TimePoint expires, const std::string& etag) {
  response.set(http::field::last_modified, formatHttpDate(lastModified));
  response.set(http::field::expires, formatHttpDate(expires));
  response.set(http::field::etag, etag);
}

// RFC 9110 section 13.2.2: If-None-Match decides when present, and
// If-Modified-Since only in its absence.
bool crlNotModified(const Request& request, const CrlDocument& document, const std::string& etag, TimePoint now) {
  if (request.count(http::field::if_none_match) > 0)
    return ifNoneMatchHits(sv(request[http::field::if_none_match]), etag);
  // A date names one CRL only if no other was signed in its second.
  return document.newerThanEveryEarlierCrl &&
         notModifiedSince(sv(request[http::field::if_modified_since]), document.thisUpdate, now);
}

// Date changes once a second and every response carries it, so each thread
// formats it once a second rather than once a request.
const std::string& httpDateNow(const Clock& clock) {
  thread_local std::int64_t second = -1;
  thread_local std::string text;
  std::int64_t now = toUnixSeconds(clock.now());
  if (now != second) {
    second = now;
    text = formatHttpDate(fromUnixSeconds(now));
  }
  return text;
}

}  // namespace

Router::Router(std::shared_ptr<const RevocationSource> source, const Clock& clock)
    : source_(std::move(source)), clock_(clock) {}

Route Router::classify(std::string_view target) { return classifyPath(pathOf(target)); }

Response Router::handle(const Request& request) {
  Route label = Route::Other;
  Response response;
  try {
    response = route(request, label);
  } catch (const std::exception&) {
    // The source failed in a way its contract does not allow; the client gets
    // a clear error and the connection lives on.
    response = text(http::status::internal_server_error, "internal error");
  }
  finish(request.version(), request.method() == http::verb::head, response);
  metrics_.countRequest(label, response.result_int());
  return response;
}

Response Router::reject(http::status status, std::string_view target, unsigned version,
                        std::string_view message) {
  Response response = text(status, std::string(message));
  finish(version, false, response);
  metrics_.countRequest(target.empty() ? Route::Other : classify(target),
                        static_cast<unsigned>(status));
  return response;
}

Response Router::route(const Request& request, Route& label) {
  std::string_view path = pathOf(sv(request.target()));
  label = classifyPath(path);
  switch (label) {
    case Route::Ocsp:
      return ocsp(request, path.substr(6));
    case Route::Crl:
    case Route::CrlPem: {
      if (!isGetOrHead(request)) return methodNotAllowed("GET, HEAD");
      bool pem = label == Route::CrlPem;
      return crl(request, path.substr(pem ? 9 : 5), pem);
    }
    case Route::CaBundle:
      if (!isGetOrHead(request)) return methodNotAllowed("GET, HEAD");
      return caBundle(request, path.substr(4));
    case Route::Healthz:
      if (!isGetOrHead(request)) return methodNotAllowed("GET, HEAD");
      return text(http::status::ok, "ok");
    case Route::Readyz:
      if (!isGetOrHead(request)) return methodNotAllowed("GET, HEAD");
      if (source_->stopping()) return text(http::status::service_unavailable, "not ready: stopping");
      if (source_->ready()) return text(http::status::ok, "ready");
      return text(http::status::service_unavailable,
                  "not ready: the certificate authorities are not all loaded yet");
    case Route::Metrics:
      if (!isGetOrHead(request)) return methodNotAllowed("GET, HEAD");
      return metricsPage();
    case Route::Other:
      break;
  }
  return text(http::status::not_found, "no such path: " + std::string(path));
}

// rest = "<tenant>/<ca>/<version>", exactly.
Response Router::crl(const Request& request, std::string_view rest, bool pem) {
  std::string_view tenantPart = takeSegment(rest);
  std::string_view caPart = takeSegment(rest);
  std::string_view versionPart = rest;
  if (tenantPart.empty() || caPart.empty() || versionPart.empty() ||
      versionPart.find('/') != std::string_view::npos) {
    return text(http::status::not_found,
                pem ? "expected /crl-pem/<tenant>/<ca>/<version>"
                    : "expected /crl/<tenant>/<ca>/<version>");
  }
  auto tenant = segmentValue(tenantPart);
  auto ca = segmentValue(caPart);
  auto version = segmentValue(versionPart);
  if (!tenant || !ca || !version) {
    return text(http::status::bad_request, "bad percent-encoding in the path");
  }

  std::optional<CrlDocument> document = source_->crl(*tenant, *ca, *version);
  if (!document) {
    return text(http::status::not_found,
                "no CRL for tenant " + *tenant + ", CA " + *ca + ", version " + *version);
  }

  const std::string& body = pem ? *document->pem : *document->der;
  // The CRL number for people reading the tag; the body's hash because
  // replicas sign one number's list each with its own ECDSA signature, so
  // one number may name different bytes.
  std::string etag = entityTag(
      "v" + std::to_string(document->caVersion) + "-n" + std::to_string(document->crlNumber), body);
  TimePoint now = fromUnixSeconds(toUnixSeconds(clock_.now()));
  // Not until nextUpdate: revoca publishes a new CRL within a second of a
  // revocation, and a cache in between would hand out the old one that long.
  std::int64_t maxAge = std::min<std::int64_t>(document->cacheMaxAge.count(), secondsUntil(now, document->nextUpdate));

  bool notModified = crlNotModified(request, *document, etag, now);
  Response response{notModified ? http::status::not_modified : http::status::ok, 11};
  response.set(http::field::content_type, pem ? "application/x-pem-file" : "application/pkix-crl");
  response.set(http::field::cache_control, "public, max-age=" + std::to_string(maxAge));
  // Expires says the same, for HTTP/1.0 caches, which know no max-age.
  setCacheValidators(response, document->thisUpdate, now + Seconds(maxAge), etag);
  if (!notModified) response.body() = body;
  return response;
}

// rest = "<tenant>/<ca>", exactly.
Response Router::caBundle(const Request& request, std::string_view rest) {
  std::string_view tenantPart = takeSegment(rest);
  bool moreSegments = false;
  std::string_view caPart = takeSegment(rest, &moreSegments);
  if (tenantPart.empty() || caPart.empty() || moreSegments)
    return text(http::status::not_found, "expected /ca/<tenant>/<ca>");
  auto tenant = segmentValue(tenantPart);
  auto ca = segmentValue(caPart);
  if (!tenant || !ca) return text(http::status::bad_request, "bad percent-encoding in the path");

  std::optional<CaBundleDocument> document = source_->caBundle(*tenant, *ca);
  if (!document) {
    return text(http::status::not_found, "no CA bundle for tenant " + *tenant + ", CA " + *ca +
                                             ": no such tenant or CA, or the CA has no live version");
  }

  std::string etag = entityTagOfEveryByte(*document->pem);
  TimePoint now = fromUnixSeconds(toUnixSeconds(clock_.now()));
  std::int64_t maxAge = document->cacheMaxAge.count();
  // No Last-Modified, so If-Modified-Since is not answered: a bundle has no
  // signing time, and the tag alone tells one from another.
  bool notModified = ifNoneMatchHits(sv(request[http::field::if_none_match]), etag);
  Response response{notModified ? http::status::not_modified : http::status::ok, 11};
  response.set(http::field::content_type, bsv(kPemChainContentType));
  response.set(http::field::cache_control, "public, max-age=" + std::to_string(maxAge));
  // Expires says the same, for HTTP/1.0 caches, which know no max-age.
  response.set(http::field::expires, formatHttpDate(now + Seconds(maxAge)));
  response.set(http::field::etag, etag);
  if (!notModified) response.body() = *document->pem;
  return response;
}

// rest = "<tenant>/<ca>" for POST, "<tenant>/<ca>/<url-encoded base64>" for GET.
Response Router::ocsp(const Request& request, std::string_view rest) {
  auto started = std::chrono::steady_clock::now();
  std::string_view tenantPart = takeSegment(rest);
  bool hasRequestPart = false;
  std::string_view caPart = takeSegment(rest, &hasRequestPart);
  if (tenantPart.empty() || caPart.empty()) {
    return text(http::status::not_found, "expected /ocsp/<tenant>/<ca>");
  }

  bool post = request.method() == http::verb::post;
  if (post) {
    // The GET resource: a request part in the path is not something to POST to.
    if (!rest.empty()) return methodNotAllowed("GET, HEAD");
    std::string_view contentType = sv(request[http::field::content_type]);
    if (!contentType.empty() && !mediaTypeIs(contentType, "application/ocsp-request")) {
      return text(http::status::unsupported_media_type,
                  "Content-Type must be application/ocsp-request");
    }
  } else if (!isGetOrHead(request)) {
    return methodNotAllowed("GET, HEAD, POST");
  } else if (rest.empty()) {
    return text(http::status::bad_request,
                "missing OCSP request: GET /ocsp/<tenant>/<ca>/<url-encoded base64 request>");
  }

  auto tenant = segmentValue(tenantPart);
  auto ca = segmentValue(caPart);
  if (!tenant || !ca) return text(http::status::bad_request, "bad percent-encoding in the path");

  OcspReply reply;
  if (post) {
    reply = source_->ocsp(*tenant, *ca, request.body());
  } else if (auto der = decodeOcspGetRequest(rest)) {
    reply = source_->ocsp(*tenant, *ca, *der);
  } else {
    reply.der = std::string(kMalformedOcspResponse);
    reply.outcome = OcspOutcome::Malformed;
  }
  OcspOutcome outcome = reply.outcome;
  Response response = ocspReply(request, std::move(reply));
  metrics_.countOcsp(outcome, std::chrono::steady_clock::now() - started);
  return response;
}

Response Router::ocspReply(const Request& request, OcspReply reply) {
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "application/ocsp-response");
  if (reply.thisUpdate && reply.nextUpdate) {
    std::string etag = entityTag(reply.der);
    if (reply.carriesNonce) {
      // The nonce ties the reply to one request: no cache may hand it to another.
      response.set(http::field::cache_control, "no-cache, no-store");
    } else {
      std::int64_t maxAge = secondsUntil(clock_.now(), *reply.nextUpdate);
      // RFC 5019 section 6.2.
      response.set(http::field::cache_control,
                   "max-age=" + std::to_string(maxAge) +
                       ", public, no-transform, must-revalidate");
      if (request.method() != http::verb::post &&
          ifNoneMatchHits(sv(request[http::field::if_none_match]), etag)) {
        response.result(http::status::not_modified);
        reply.der.clear();
      }
    }
    setCacheValidators(response, *reply.thisUpdate, *reply.nextUpdate, etag);
  }
  response.body() = std::move(reply.der);
  return response;
}

bool MetricsPieces::next(std::string& out, std::size_t budget) {
  if (!started_) {
    started_ = true;
    out += metrics_.render();
    source_.appendMetricsText(out);
    if (!out.empty() && out.back() != '\n') out += '\n';
  }
  return source_.appendPagedMetricsText(out, cursor_, budget);
}

// HEAD and HTTP/1.0 (no chunks) get the page whole, with its Content-Length.
Response Router::metricsPage() {
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, bsv(kMetricsContentType));
  auto pieces = metricsPieces();
  while (!pieces.next(response.body(), SIZE_MAX)) {
  }
  return response;
}

bool Router::streamsMetrics(const Request& request) {
  return request.method() == http::verb::get && request.version() == 11 &&
         classify(sv(request.target())) == Route::Metrics;
}

StreamedHeader Router::metricsHeader(const Request& request) {
  StreamedHeader header{http::status::ok, request.version()};
  stamp(header);
  header.set(http::field::content_type, bsv(kMetricsContentType));
  header.chunked(true);
  return header;
}

void Router::stamp(http::response_header<>& header) const {
  header.set(http::field::server, "revoca");
  header.set(http::field::date, httpDateNow(clock_));
}

void Router::finish(unsigned version, bool head, Response& response) const {
  response.version(version);
  stamp(response);
  auto status = response.result();
  if (status == http::status::not_modified || status == http::status::no_content) {
    response.body().clear();
    return;
  }
  response.content_length(response.body().size());
  // HEAD: the headers of the GET, Content-Length included, and no body.
  if (head) response.body().clear();
}

}  // namespace revoca::responder
