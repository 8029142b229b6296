#include "responder/server.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include "responder/listen_address.h"
#include "responder/router.h"
#include "responder/session.h"

namespace revoca::responder {
namespace {

namespace net = boost::asio;
using net::ip::tcp;
using std::chrono::steady_clock;

constexpr std::chrono::milliseconds kAcceptRetry{100};
constexpr std::chrono::minutes kAcceptWarnEvery{1};

// Every connection holds a descriptor: the usual soft limit of 1024 would
// turn clients away (EMFILE) long before memory or CPU run short. Raising the
// soft limit up to the hard one needs no privilege, and nothing in revoca
// uses select(), which cannot handle descriptors above 1023.
void raiseOpenFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &limit) == 0) {
    spdlog::info("responder: open file limit raised from {} to {}", before, limit.rlim_max);
  } else {
    spdlog::warn("responder: open file limit stays at {} (could not raise it to {}): at most "
                 "about that many connections at once", before, limit.rlim_max);
  }
}

class ServerImpl final : public Server {
 public:
  ServerImpl(const ServerOptions& options, std::shared_ptr<const RevocationSource> source,
             const Clock& clock)
      : options_(options), router_(std::move(source), clock) {
    // One io_context per thread, as nginx has one event loop per worker: a
    // connection lives on one loop for good, so its handlers need no strand,
    // and no loop wakes another's thread for work it could do itself.
    // Sharing one io_context among the threads cost a futex wake-up for one
    // request in four and a context switch with it (bench/README.md).
    const int threads = std::max(1, options.threads);
    loops_.reserve(static_cast<std::size_t>(threads));
    for (int i = 0; i < threads; ++i) {
      auto& loop = loops_.emplace_back();
      loop.io = std::make_unique<net::io_context>(1);  // hint: one thread runs it
      loop.work.emplace(net::make_work_guard(*loop.io));
    }
  }

  ~ServerImpl() override { stop(); }

  Result<void> bind(const tcp::endpoint& endpoint) {
    auto fail = [&](const beast::error_code& ec) {
      return makeError("listen " + options_.listen + ": " + ec.message());
    };
    beast::error_code ec;
    acceptor_.emplace(*loops_.front().io);
    if (acceptor_->open(endpoint.protocol(), ec); ec) return fail(ec);
    // Lets a restarted responder bind while old connections sit in TIME_WAIT;
    // on Linux it still refuses a port another process listens on.
    if (acceptor_->set_option(net::socket_base::reuse_address(true), ec); ec) return fail(ec);
    if (acceptor_->bind(endpoint, ec); ec) return fail(ec);
    if (acceptor_->listen(net::socket_base::max_listen_connections, ec); ec) return fail(ec);
    port_ = acceptor_->local_endpoint(ec).port();
    retry_.emplace(acceptor_->get_executor());
    return {};
  }

  void run() {
    accept();
    for (auto& loop : loops_) {
      loop.thread = std::thread([io = loop.io.get()] { runLoop(*io); });
    }
  }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    std::call_once(stopped_, [this] {
      for (auto& loop : loops_) loop.io->stop();
      for (auto& loop : loops_) {
        if (loop.thread.joinable()) loop.thread.join();
      }
      // Acceptor and timer before the io_context they belong to; destroying
      // an io_context then destroys every pending handler and with them the
      // sessions, closing their connections.
      retry_.reset();
      acceptor_.reset();
      for (auto& loop : loops_) {
        loop.work.reset();
        loop.io.reset();
      }
    });
  }

 private:
  struct Loop {
    std::unique_ptr<net::io_context> io;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::thread thread;
  };

  static void runLoop(net::io_context& io) {
    for (;;) {
      try {
        io.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw; the others and the listener carry on.
        spdlog::error("responder: {}", e.what());
      } catch (...) {
        spdlog::error("responder: unknown exception in a connection handler");
      }
    }
  }

  void accept() {
    // Connections go to the loops in turn; the accept handler itself runs on
    // the first loop, the only one that touches the acceptor.
    net::io_context& next = *loops_[nextLoop_++ % loops_.size()].io;
    acceptor_->async_accept(next,
                            [this](beast::error_code ec, Session::Socket socket) {
                              onAccept(ec, std::move(socket));
                            });
  }

  void onAccept(beast::error_code ec, Session::Socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) return retryAccept(ec);
    if (acceptFailures_ > 0) {
      spdlog::info("responder: accepting on {} again, after {} failed attempts", options_.listen,
                   acceptFailures_);
      acceptFailures_ = 0;
    }
    // One write per response already; no reason to let Nagle delay it.
    socket.set_option(tcp::no_delay(true), ec);
    std::make_shared<Session>(std::move(socket), router_, options_)->start();
    accept();
  }

  // Out of file descriptors, typically: the client waits in the kernel's
  // backlog until a connection closes. Pause instead of spinning on the
  // error, and warn once a minute rather than ten times a second.
  void retryAccept(beast::error_code ec) {
    auto now = steady_clock::now();
    if (acceptFailures_++ == 0 || now - lastAcceptWarning_ >= kAcceptWarnEvery) {
      lastAcceptWarning_ = now;
      const bool outOfFiles = ec == net::error::no_descriptors;
      spdlog::warn("responder: accept on {} failed: {}; retrying every {} ms{}", options_.listen,
                   ec.message(), kAcceptRetry.count(),
                   outOfFiles ? " (every descriptor is in use: raise the open file limit, "
                                "ulimit -Hn or the container's nofile)"
                              : "");
    }
    retry_->expires_after(kAcceptRetry);
    retry_->async_wait([this](beast::error_code waitError) {
      if (!waitError) accept();
    });
  }

  const ServerOptions options_;
  Router router_;
  std::vector<Loop> loops_;
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::steady_timer> retry_;
  std::uint16_t port_ = 0;
  std::once_flag stopped_;
  // Touched only by the accept handlers, which run on the first loop.
  std::size_t nextLoop_ = 0;
  std::size_t acceptFailures_ = 0;
  steady_clock::time_point lastAcceptWarning_;
};

}  // namespace

Result<std::unique_ptr<Server>> startServer(const std::string& listen, int threads,
                                            std::shared_ptr<const RevocationSource> source,
                                            const Clock& clock) {
  ServerOptions options;
  options.listen = listen;
  options.threads = threads;
  auto server = startServer(options, std::move(source), clock);
  if (!server) return makeError("--listen: " + server.error().message);
  return server;
}

Result<std::unique_ptr<Server>> startServer(const ServerOptions& options,
                                            std::shared_ptr<const RevocationSource> source,
                                            const Clock& clock) {
  if (!source) return makeError("responder: no revocation source");
  raiseOpenFileLimit();
  auto endpoint = parseListenAddress(options.listen);
  if (!endpoint) return endpoint.error();
  try {
    auto server = std::make_unique<ServerImpl>(options, std::move(source), clock);
    if (auto bound = server->bind(*endpoint); !bound) return bound.error();
    server->run();
    return std::unique_ptr<Server>(std::move(server));
  } catch (const std::exception& e) {
    // Thread creation and the like; rare, but not a reason to throw at the caller.
    return makeError("listen " + options.listen + ": " + e.what());
  }
}

}  // namespace revoca::responder
