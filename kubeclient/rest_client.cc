// ApiClient over cpprestsdk: the only file that sees cpprestsdk (archived
// upstream, so it is kept at this module's edge). cpprestsdk reports
// failures by throwing, from .get(); every call below catches and returns an
// ApiError with status 0 and the cause.
#include "kubeclient/rest_client.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include <cpprest/producerconsumerstream.h>
#include <cpprest/http_client.h>
#include <pplx/threadpool.h>
#include <openssl/ssl.h>

#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>

#include "kubeclient/api_status.h"
#include "kubeclient/bearer_token.h"
#include "kubeclient/bounded_body.h"
#include "kubeclient/list_page.h"
#include "kubeclient/resource_paths.h"

namespace revoca::kubeclient {
namespace {

namespace http = web::http;
using nlohmann::json;

// The server ends a watch after timeoutSeconds; the client gives it this much
// longer before it calls the connection dead.
constexpr int kWatchTimeoutMargin = 30;
constexpr std::size_t kWatchReadChunk = 64 * 1024;
// A list answer's bytes held ahead of the parser (BoundedBody): some tens
// of objects' worth, so the socket is read in large steps.
constexpr std::size_t kListBodyWindow = 256 * 1024;

struct TlsMaterial {
  std::string caPem, certPem, keyPem;
};

// Sets up one connection's TLS context (cpprestsdk makes one per connection).
// Returns what failed, "" on success.
std::string configureTls(boost::asio::ssl::context& context, const TlsMaterial& tls) {
  boost::system::error_code error;
  SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
  if (!tls.caPem.empty()) {
    // Trust the cluster's CA only, as client-go does when one is configured;
    // cpprestsdk has already loaded the system roots into the default store.
    SSL_CTX_set_cert_store(context.native_handle(), X509_STORE_new());
    context.add_certificate_authority(boost::asio::buffer(tls.caPem), error);
    if (error) return "the certificate authority is not PEM certificates: " + error.message();
  }
  if (!tls.certPem.empty()) {
    context.use_certificate_chain(boost::asio::buffer(tls.certPem), error);
    if (error) return "the client certificate is not a PEM certificate chain: " + error.message();
    // OpenSSL also checks here that the key matches the certificate.
    context.use_private_key(boost::asio::buffer(tls.keyPem), boost::asio::ssl::context::pem, error);
    if (error) return "the client key is not a PEM private key for the client certificate: " + error.message();
  }
  return "";
}

// Waits for `task` at most `deadline`, else cancels it and answers nothing.
// cpprestsdk's own timeout is an idle timeout that a connection gone silent
// (a partition that drops packets, a TLS handshake that never ends) was seen
// not to end: the leader elector and the pass must never wait forever.
template <typename T>
std::optional<T> waitAtMost(pplx::task<T> task, pplx::cancellation_token_source& cancel,
                            std::chrono::seconds deadline) {
  auto finished = std::make_shared<std::promise<void>>();
  auto done = finished->get_future();
  task.then([finished](pplx::task<T> ended) {
    // Observed here, or pplx aborts the process over an abandoned request's exception.
    try {
      ended.wait();
    } catch (...) {
    }
    finished->set_value();
  });
  if (done.wait_for(deadline) != std::future_status::ready) {
    cancel.cancel();
    return std::nullopt;
  }
  return task.get();  // throws what the request threw
}

constexpr std::size_t kHttpThreads = 4;

std::string unanswered(std::chrono::seconds deadline) {
  return ": no answer within " + std::to_string(deadline.count()) + " s (is the apiserver reachable?)";
}

template <typename T>
ApiResult<T> failure(ApiError error) {
  return ApiResult<T>{std::nullopt, std::move(error)};
}

class RestClient final : public ApiClient {
 public:
  RestClient(const ConnectionConfig& config, std::shared_ptr<const TlsMaterial> tls)
      : server_(config.server),
        trustHint_(handshakeHint(config)),
        tls_(std::move(tls)),
        requestTimeout_(config.requestTimeout),
        tokens_(config.bearerToken, config.bearerTokenFile, clock_),
        // Longer than the deadline, which is what ends a silent request, so
        // it always ends the same way (cpprestsdk's then says "SSL handshake").
        client_(makeHttpClient(requestTimeout_ + std::chrono::seconds(5))) {}

  ApiResult<json> get(const ResourceRef& object) override { return send(http::methods::GET, object.path()); }

  ApiResult<json> list(const ResourceRef& collection, const ListOptions& options) override;
  ApiError watch(const ResourceRef& collection, const WatchOptions& options,
                 const std::function<bool(const WatchEvent&)>& onEvent) override;

  ApiResult<json> create(const ResourceRef& collection, const json& object) override {
    return send(http::methods::POST, collection.path(), &object, "application/json");
  }
  ApiResult<json> update(const ResourceRef& object, const json& body) override {
    return send(http::methods::PUT, object.path(), &body, "application/json");
  }
  ApiResult<json> apply(const ResourceRef& object, const json& body, const std::string& fieldManager,
                        bool force) override {
    // JSON is YAML, so the apply body needs no YAML writer.
    return send(http::methods::PATCH,
                object.path() + queryString({{"fieldManager", fieldManager}, {"force", force ? "true" : ""}}),
                &body, "application/apply-patch+yaml");
  }
  ApiResult<json> applyStatus(const ResourceRef& object, const json& body, const std::string& fieldManager) override {
    ResourceRef status = object;
    status.subresource = "status";
    return apply(status, body, fieldManager, true);
  }
  ApiError remove(const ResourceRef& object) override {
    auto result = send(http::methods::DEL, object.path());
    return result.ok() ? ApiError{200, "", ""} : result.error;
  }

 private:
  http::client::http_client makeHttpClient(std::chrono::seconds timeout) const {
    http::client::http_client_config config;
    config.set_timeout(timeout);  // an idle timeout: cpprestsdk restarts it on every read
    config.set_validate_certificates(true);
    auto tls = tls_;
    config.set_ssl_context_callback([tls](boost::asio::ssl::context& context) {
      // makeRestClient has checked the material. Should it fail here anyway,
      // fail closed (trust nothing) rather than throw into cpprestsdk's threads.
      if (!configureTls(context, *tls).empty()) SSL_CTX_set_cert_store(context.native_handle(), X509_STORE_new());
    });
    return http::client::http_client(web::uri(server_), config);
  }

  http::http_request makeRequest(const http::method& method, const std::string& pathAndQuery) {
    http::http_request request(method);
    request.set_request_uri(web::uri(pathAndQuery));
    request.headers().add("Accept", "application/json");
    request.headers().add("User-Agent", "revoca");
    if (std::string token = tokens_.token(); !token.empty()) request.headers().add("Authorization", "Bearer " + token);
    return request;
  }

  std::string describe(const http::method& method, const std::string& pathAndQuery) const {
    return method + " " + server_ + pathAndQuery;
  }

  // An answer's body, whole (every request but a list). Passed between
  // cpprestsdk's tasks by pointer: a task's result is copied as it is set and
  // again as it is read, and a ledger Secret is 16 KB and more.
  struct Answer {
    int status = 0;
    std::string text;
  };
  // The body of a 2xx answer, or the failure (no answer, another status).
  ApiResult<std::shared_ptr<Answer>> exchange(const http::method& method, const std::string& pathAndQuery,
                                              const json* body = nullptr, const std::string& contentType = "");
  ApiResult<json> send(const http::method& method, const std::string& pathAndQuery, const json* body = nullptr,
                       const std::string& contentType = "");
  // One page of a list, its items handed to `take` as they arrive (see
  // BoundedBody): the page without its items, or the failure.
  ApiResult<json> listPage(const std::string& pathAndQuery, const std::function<void(json&&)>& take);

  // cpprestsdk says only "Error in SSL handshake"; this says where to look.
  static std::string handshakeHint(const ConnectionConfig& config) {
    if (config.trustOrigin.empty()) return "";
    return " (does the apiserver's certificate verify against " + config.trustOrigin +
           ", and hold the server's name or address? check " + config.origin + ")";
  }
  std::string failed(const std::string& what, const std::exception& e) const {
    std::string cause = e.what();
    return what + ": " + cause + (cause.find("SSL handshake") != std::string::npos ? trustHint_ : "");
  }

  SystemClock clock_;
  const std::string server_;
  const std::string trustHint_;
  const std::shared_ptr<const TlsMaterial> tls_;
  const std::chrono::seconds requestTimeout_;
  BearerTokenSource tokens_;
  http::client::http_client client_;  // safe for concurrent requests; pools connections
};

ApiResult<std::shared_ptr<RestClient::Answer>> RestClient::exchange(const http::method& method,
                                                                     const std::string& pathAndQuery, const json* body,
                                                                     const std::string& contentType) {
  using Result = std::shared_ptr<Answer>;
  try {
    http::http_request request = makeRequest(method, pathAndQuery);
    if (body) {
      // replace: a stray invalid UTF-8 byte must not throw from dump().
      std::string text = body->dump(-1, ' ', false, json::error_handler_t::replace);
      // Bytes, not set_body(std::string): that one reads a char buffer through a
      // uint8_t stream, which UBSan reports. The header first, or it becomes octet-stream.
      request.headers().set_content_type(contentType);
      request.set_body(std::vector<unsigned char>(text.begin(), text.end()));
    }
    pplx::cancellation_token_source cancel;
    auto answer = client_.request(request, cancel.get_token()).then([](http::http_response response) {
      // ignore_content_type: extract_utf8string refuses application/json otherwise.
      return response.extract_utf8string(true).then([status = response.status_code()](std::string text) {
        return std::make_shared<Answer>(Answer{int(status), std::move(text)});
      });
    });
    auto answered = waitAtMost(answer, cancel, requestTimeout_);
    if (!answered) return failure<Result>({0, "Timeout", describe(method, pathAndQuery) + unanswered(requestTimeout_)});
    const Answer& got = **answered;
    if (got.status < 200 || got.status >= 300)
      return failure<Result>(errorFromResponse(got.status, got.text, describe(method, pathAndQuery)));
    return {std::move(*answered), {}};
  } catch (const std::exception& e) {
    return failure<Result>({0, "", failed(describe(method, pathAndQuery), e)});
  }
}

ApiResult<json> RestClient::send(const http::method& method, const std::string& pathAndQuery, const json* body,
                                 const std::string& contentType) {
  auto answer = exchange(method, pathAndQuery, body, contentType);
  if (!answer.ok()) return failure<json>(answer.error);
  const Answer& got = **answer.value;
  if (got.text.empty()) return {json::object(), {}};
  auto parsed = json::parse(got.text, nullptr, false);
  if (parsed.is_discarded())
    return failure<json>({got.status, "", describe(method, pathAndQuery) + ": the answer is not JSON"});
  return {std::move(parsed), {}};
}

ApiResult<json> RestClient::listPage(const std::string& pathAndQuery, const std::function<void(json&&)>& take) {
  auto body = std::make_shared<BoundedBody>(kListBodyWindow);
  pplx::cancellation_token_source cancel;
  // Whatever ends this page, cpprestsdk must not wait for room any more.
  struct Abandon {
    const std::shared_ptr<BoundedBody>& body;
    pplx::cancellation_token_source& cancel;
    bool finished = false;
    ~Abandon() {
      if (finished) return;
      cancel.cancel();
      body->abandon();
    }
  } abandon{body, cancel};
  try {
    http::http_request request = makeRequest(http::methods::GET, pathAndQuery);
    request.set_response_stream(concurrency::streams::streambuf<uint8_t>(body).create_ostream());
    auto headers = waitAtMost(client_.request(request, cancel.get_token()), cancel, requestTimeout_);
    if (!headers)
      return failure<json>({0, "Timeout", describe(http::methods::GET, pathAndQuery) + unanswered(requestTimeout_)});
    // cpprestsdk closes only a body stream of its own: this one is closed here.
    headers->content_ready().then([body](pplx::task<http::http_response> ready) {
      try {
        ready.wait();
        body->finish();
      } catch (...) {
        body->finish(std::current_exception());
      }
    });
    BoundedBodyReader reader(body);
    std::istream text(&reader);
    int status = headers->status_code();
    if (status < 200 || status >= 300) {
      std::string answer(std::istreambuf_iterator<char>(text), {});
      abandon.finished = true;
      return failure<json>(errorFromResponse(status, answer, describe(http::methods::GET, pathAndQuery)));
    }
    json page = parseListPage(text, take);
    // The parser stops at the page's last brace; the end of the body must follow.
    if (!page.is_object() || text.get() != std::istream::traits_type::eof())
      return failure<json>({0, "", describe(http::methods::GET, pathAndQuery) + ": the answer is not a List"});
    abandon.finished = true;
    return {std::move(page), {}};
  } catch (const std::exception& e) {
    return failure<json>({0, "", failed(describe(http::methods::GET, pathAndQuery), e)});
  }
}

ApiResult<json> RestClient::list(const ResourceRef& collection, const ListOptions& options) {
  json items = json::array();
  std::string continueToken;
  for (;;) {
    std::string limit = options.limit > 0 ? std::to_string(options.limit) : "";
    // resourceVersion may not be combined with continue: the token carries it.
    auto page = listPage(collection.path() + queryString({{"labelSelector", options.labelSelector},
                                                          {"fieldSelector", options.fieldSelector},
                                                          {"limit", limit},
                                                          {"continue", continueToken},
                                                          {"resourceVersion",
                                                           continueToken.empty() ? options.resourceVersion : ""}}),
                         [&](json&& item) {
                           if (options.transform) options.transform(item);
                           items.push_back(std::move(item));
                         });
    if (!page.ok() && page.error.status == 410 && !continueToken.empty()) {
      // The continue token expired mid-way (etcd compacted): one unpaged list, as client-go's pager does.
      ListOptions whole = options;
      whole.limit = 0;
      return list(collection, whole);
    }
    if (!page.ok()) return page;
    continueToken = metadataString(*page.value, "continue");
    if (continueToken.empty()) {
      (*page.value)["items"] = std::move(items);  // the last page's metadata.resourceVersion is the resume point
      return page;
    }
  }
}

ApiError RestClient::watch(const ResourceRef& collection, const WatchOptions& options,
                           const std::function<bool(const WatchEvent&)>& onEvent) {
  const std::string pathAndQuery =
      collection.path() + queryString({{"watch", "1"},
                                       {"allowWatchBookmarks", options.allowWatchBookmarks ? "true" : ""},
                                       {"labelSelector", options.labelSelector},
                                       {"resourceVersion", options.resourceVersion},
                                       {"timeoutSeconds", std::to_string(options.timeoutSeconds)}});
  pplx::cancellation_token_source stop;
  // Cancelling closes the connection, which ends a read_line blocked on it.
  if (options.cancel) options.cancel->onCancel([stop]() { stop.cancel(); });
  struct Unregister {
    const std::shared_ptr<WatchCancel>& cancel;
    ~Unregister() {
      if (cancel) cancel->onCancel({});
    }
  } unregister{options.cancel};
  try {
    // Its own client: the idle timeout must outlast the server's timeoutSeconds.
    auto client = makeHttpClient(std::chrono::seconds(options.timeoutSeconds + kWatchTimeoutMargin));
    // request() completes when the headers arrive; the body streams in after.
    auto headers = waitAtMost(client.request(makeRequest(http::methods::GET, pathAndQuery), stop.get_token()), stop,
                              requestTimeout_);
    if (!headers) return ApiError{0, "Timeout", describe(http::methods::GET, pathAndQuery) + unanswered(requestTimeout_)};
    http::http_response& response = *headers;
    int status = response.status_code();
    if (status < 200 || status >= 300)
      return errorFromResponse(status, response.extract_utf8string(true).get(), describe(http::methods::GET, pathAndQuery));
    // One JSON event per line. Taken from the stream as it arrives, in one
    // copy: read_line took the stream's lock and copied a shared_ptr for
    // every byte, and a ledger Secret's event is 16 KB (a tenth of revoca's
    // CPU in a burst of VaultSecrets went there).
    concurrency::streams::streambuf<uint8_t> stream = response.body().streambuf();
    std::vector<uint8_t> chunk(kWatchReadChunk);
    std::string lines;  // what has arrived of the events not yet handed over
    for (bool ended = false; !ended;) {
      // All that has arrived, or else wait for the next byte (or the end).
      std::size_t available = std::min(stream.in_avail(), chunk.size());
      std::size_t got = stream.getn(chunk.data(), std::max<std::size_t>(available, 1)).get();
      ended = got == 0;
      lines.append(chunk.begin(), chunk.begin() + static_cast<std::ptrdiff_t>(got));
      std::size_t start = 0;
      for (std::size_t end; (end = lines.find('\n', start)) != std::string::npos || (ended && start < lines.size());
           start = end + 1) {
        if (end == std::string::npos) end = lines.size();  // the last line, without its newline
        std::string_view line(lines.data() + start, end - start);
        if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        auto event = parseWatchEvent(std::string(line));
        if (!event) return ApiError{0, "", describe(http::methods::GET, pathAndQuery) + ": " + event.error().message};
        if (!onEvent(*event)) {
          stop.cancel();  // otherwise the connection stays open until the server's timeout
          return ApiError{200, "", ""};
        }
      }
      lines.erase(0, std::min(start, lines.size()));
    }
    return ApiError{200, "", ""};
  } catch (const std::exception& e) {
    if (options.cancel && options.cancel->cancelled()) return ApiError{0, "Cancelled", "the watch was cancelled"};
    return ApiError{0, "", failed(describe(http::methods::GET, pathAndQuery), e)};
  }
}

}  // namespace

Result<std::unique_ptr<ApiClient>> makeRestClient(const ConnectionConfig& config) {
  // cpprestsdk runs every socket and every task continuation on one pool of
  // 40 threads by default. Each hand-off then wakes a thread of its own: in
  // a burst of 1,000 VaultSecrets, context switches were a third of revoca's
  // CPU. Four threads do the same work with fewer wake-ups (revoca's CPU per
  // VaultSecret 10.0 -> 6.4 ms, peak RSS at 2,000 38.4 -> 33.8 MB,
  // bench/kube_scale.py). Nothing of revoca's blocks a pool thread: requests
  // and watches wait on the caller's own thread. Only the first call can
  // size the pool; after that (tests that used it already) it stays as is.
  static std::once_flag sized;
  std::call_once(sized, [] {
    // OpenSSL first: exit handlers run in reverse order, so the pool (its
    // threads joined, their OpenSSL state freed) must end before OpenSSL's
    // own clean-up, which deletes the key those per-thread frees hang on.
    OPENSSL_init_ssl(0, nullptr);
    try {
      crossplat::threadpool::initialize_with_threads(kHttpThreads);
    } catch (const std::exception&) {
    }
  });
  if (config.insecureSkipTlsVerify)
    return makeError((config.origin.empty() ? std::string("the kubeconfig") : config.origin) +
                     " sets insecure-skip-tls-verify: revoca always verifies the apiserver's certificate; "
                     "remove it and give the cluster's certificate-authority instead");
  if (config.server.rfind("https://", 0) != 0)
    return makeError("apiserver " + config.server + ": revoca only talks to the apiserver over https://");
  try {
    web::uri checked(config.server);
    // cpprestsdk 2.10 resolves the host with its brackets ("[fd00::1]"), which
    // fails, and would verify the certificate against that string too.
    if (!checked.host().empty() && checked.host().front() == '[')
      return makeError("apiserver " + config.server + ": the HTTP client (cpprestsdk) cannot connect to an IPv6 "
                       "address literal; use a DNS name in the apiserver's certificate instead (in a pod: "
                       "https://kubernetes.default.svc)");
  } catch (const std::exception& e) {
    return makeError("apiserver " + config.server + " is not a URL: " + e.what());
  }
  auto tls = std::make_shared<TlsMaterial>(TlsMaterial{config.caPem, config.clientCertPem, config.clientKeyPem});
  // cpprestsdk loads the system's roots (some 140 certificates, half a MB
  // parsed) into every new connection's TLS context, which configureTls then
  // replaces with the cluster's CA: at 2,000 VaultSecrets that was half of
  // all revoca's allocations. Nothing else in revoca uses those roots, so
  // with a CA named OpenSSL's default file becomes an empty one, whatever
  // SSL_CERT_FILE said: no connection of revoca's would have trusted it.
  // (The load ignores what it cannot read.) Set once: the elector's client
  // is made while the responder's threads run, and need not touch environ.
  const char* chosen = std::getenv("SSL_CERT_FILE");
  if (!config.caPem.empty() && (!chosen || std::string_view(chosen) != "/dev/null"))
    setenv("SSL_CERT_FILE", "/dev/null", 1);
  try {
    boost::asio::ssl::context probe(boost::asio::ssl::context::tls_client);
    if (std::string problem = configureTls(probe, *tls); !problem.empty())
      return makeError("apiserver " + config.server + ": " + problem);
    return std::unique_ptr<ApiClient>(std::make_unique<RestClient>(config, std::move(tls)));
  } catch (const std::exception& e) {
    return makeError("apiserver " + config.server + ": " + e.what());
  }
}

}  // namespace revoca::kubeclient

namespace revoca::kubeclient {

Result<void> checkApiserverCertificate(const ConnectionConfig& config, std::chrono::seconds timeout) {
  namespace asio = boost::asio;
  std::string host, port;
  try {
    web::uri uri(config.server);
    host = uri.host();
    port = std::to_string(uri.port() > 0 ? uri.port() : 443);
  } catch (const std::exception&) {
    return {};  // makeRestClient has said what is wrong with the URL
  }
  asio::io_context io;
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_default_verify_paths();  // the system roots, unless the config names a CA
  if (!configureTls(context, TlsMaterial{config.caPem, config.clientCertPem, config.clientKeyPem}).empty()) return {};
  asio::ssl::stream<asio::ip::tcp::socket> stream(io, context);
  stream.set_verify_mode(asio::ssl::verify_peer);
  // OpenSSL's own name check, so a mismatch has its own verify error to report.
  boost::system::error_code notAnAddress;
  asio::ip::make_address(host, notAnAddress);
  bool isAddress = !notAnAddress;
  X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
  if (isAddress) {
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  }
  asio::ip::tcp::resolver resolver(io);
  boost::system::error_code failure = asio::error::timed_out;
  resolver.async_resolve(host, port, [&](const boost::system::error_code& error, asio::ip::tcp::resolver::results_type found) {
    if (error) {
      failure = error;
      return;
    }
    asio::async_connect(stream.lowest_layer(), found, [&](const boost::system::error_code& error, const auto&) {
      if (error) {
        failure = error;
        return;
      }
      stream.async_handshake(asio::ssl::stream_base::client, [&](const boost::system::error_code& error) { failure = error; });
    });
  });
  io.run_for(timeout);
  long verdict = SSL_get_verify_result(stream.native_handle());
  // Only a certificate that does not verify is an error: an apiserver that
  // cannot be reached now may be later, and the informers retry and say so.
  if (!failure || verdict == X509_V_OK) return {};
  std::string origin = config.origin.empty() ? "the connection configuration" : config.origin;
  return makeError("apiserver " + config.server + ": its certificate does not verify against " +
                   (config.trustOrigin.empty() ? "the configured certificate authority" : config.trustOrigin) + " (" +
                   X509_verify_cert_error_string(verdict) + "); revoca never skips this check: fix the server "
                   "address or the certificate-authority in " + origin);
}

}  // namespace revoca::kubeclient
