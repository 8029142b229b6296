#pragma once
// The embedded CRL/OCSP responder on Boost.Beast (docs/overview.md, "The
// responder"):
//
//   GET  /crl/<tenant>/<ca>/<version>       DER, application/pkix-crl
//   GET  /crl-pem/<tenant>/<ca>/<version>   PEM
//   POST /ocsp/<tenant>/<ca>                application/ocsp-request -> application/ocsp-response
//   GET  /ocsp/<tenant>/<ca>/<url-encoded base64 request>   RFC 6960 appendix A
//   GET  /ca/<tenant>/<ca>                  the CA bundle, PEM
//   GET  /healthz, /readyz, /metrics
//
// Bodies over 10 KiB get 413, slow or idle connections are closed, unknown
// paths get 404; nothing a client sends stops the server.
#include <chrono>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "responder/revocation_source.h"

namespace revoca::responder {

struct ServerOptions {
  std::string listen = "127.0.0.1:4664";  // host:port, "[::1]:4664" for IPv6, port 0 = any free
  int threads = 2;
  std::size_t maxBodyBytes = 10 * 1024;
  std::chrono::seconds headerTimeout{10};  // whole request must arrive within this
  std::chrono::seconds idleTimeout{60};    // keep-alive connection with no request
};

class Server {
 public:
  virtual ~Server() = default;
  virtual std::uint16_t port() const = 0;  // the bound port (useful with port 0)
  virtual void stop() = 0;                 // closes the listener and joins the threads
};

// Binds and starts serving on background threads. Error if the address is
// bad or taken ("listen 127.0.0.1:4664: address already in use").
Result<std::unique_ptr<Server>> startServer(const ServerOptions& options,
                                            std::shared_ptr<const RevocationSource> source,
                                            const Clock& clock);
// The same for a command line's --listen, with the error naming the flag.
Result<std::unique_ptr<Server>> startServer(const std::string& listen, int threads,
                                            std::shared_ptr<const RevocationSource> source,
                                            const Clock& clock);

}  // namespace revoca::responder
