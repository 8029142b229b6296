#include "standalone/admin_server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

namespace revoca {
namespace {

constexpr std::size_t kMaxRequestBytes = 64 * 1024;

Result<sockaddr_un> socketAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path))
    return makeError("admin socket path " + path + " is too long (at most 107 bytes); use a shorter --state directory");
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

bool readLine(int fd, std::string& line) {
  char buffer[4096];
  while (line.find('\n') == std::string::npos) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return !line.empty();
    line.append(buffer, static_cast<std::size_t>(n));
    if (line.size() > kMaxRequestBytes) return false;
  }
  line.resize(line.find('\n'));
  return true;
}

// The socket is 0600 in a 0700 directory, so only revoca's user (and root)
// can connect; the peer's credentials are checked too, so a state directory
// or socket someone widened by hand still admits nobody else.
std::optional<std::string> refusePeer(int client) {
  ucred peer{};
  socklen_t length = sizeof peer;
  if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &length) != 0)
    return "permission denied: revoca cannot tell which user is calling (SO_PEERCRED: " +
           std::string(std::strerror(errno)) + ")";
  uid_t owner = ::geteuid();
  if (peer.uid == owner || peer.uid == 0) return std::nullopt;
  return "permission denied: uid " + std::to_string(peer.uid) + " may not use revoca's admin socket; run revocactl as uid " +
         std::to_string(owner) + " (the user running revoca) or root";
}

bool writeAll(int fd, const std::string& text) {
  std::size_t done = 0;
  while (done < text.size()) {
    // MSG_NOSIGNAL: a peer that closed early is an EPIPE, not a SIGPIPE that kills revocactl.
    ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

class UnixAdminServer final : public AdminServer {
 public:
  UnixAdminServer(int fd, std::string path, AdminHandler handler)
      : fd_(fd), path_(std::move(path)), handler_(std::move(handler)), thread_([this] { serve(); }) {}
  ~UnixAdminServer() override { stop(); }

  void stop() override {
    if (stopped_.exchange(true)) return;
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
    ::unlink(path_.c_str());
  }

 private:
  void serve() {
    while (!stopped_) {
      int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (errno == EINTR) continue;
        return;  // the listening socket was closed
      }
      timeval timeout{10, 0};
      ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
      std::string line;
      nlohmann::json answer;
      if (auto refused = refusePeer(client)) {
        spdlog::warn("admin socket {}: {}", path_, *refused);
        answer = {{"ok", false}, {"error", *refused}};
      } else if (!readLine(client, line)) {
        answer = {{"ok", false}, {"error", "request too long or connection closed"}};
      } else {
        auto request = nlohmann::json::parse(line, nullptr, false);
        if (request.is_discarded() || !request.is_object())
          answer = {{"ok", false}, {"error", "request is not a JSON object"}};
        else
          answer = answerSafely(request);
      }
      writeAll(client, answer.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      ::close(client);
    }
  }

  // A command that throws (a field of an unexpected type, say) is one
  // refused request: the thread that serves the socket must outlive it.
  nlohmann::json answerSafely(const nlohmann::json& request) {
    try {
      return handler_(request);
    } catch (const std::exception& e) {
      spdlog::error("admin socket {}: a request failed: {}", path_, e.what());
      return {{"ok", false}, {"error", "the request could not be carried out; see revoca's log"}};
    }
  }

  int fd_;
  std::string path_;
  AdminHandler handler_;
  std::atomic<bool> stopped_{false};
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<AdminServer>> startAdminServer(const std::string& socketPath, AdminHandler handler) {
  auto address = socketAddress(socketPath);
  if (!address) return address.error();
  ::unlink(socketPath.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError("admin socket: " + std::string(std::strerror(errno)));
  // The umask makes the socket 0600 from the moment it exists.
  mode_t previous = ::umask(0177);
  int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un));
  ::umask(previous);
  if (bound != 0 || ::listen(fd, 16) != 0) {
    std::string error = std::strerror(errno);
    ::close(fd);
    return makeError("admin socket " + socketPath + ": " + error);
  }
  return std::unique_ptr<AdminServer>(new UnixAdminServer(fd, socketPath, std::move(handler)));
}

Result<nlohmann::json> callAdminSocket(const std::string& socketPath, const nlohmann::json& request) {
  auto address = socketAddress(socketPath);
  if (!address) return address.error();
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return makeError(std::string("socket: ") + std::strerror(errno));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&*address), sizeof(sockaddr_un)) != 0) {
    int code = errno;
    std::string error = std::strerror(code);
    ::close(fd);
    if (code == EACCES || code == EPERM)
      return makeError("permission denied on revoca's admin socket " + socketPath +
                       ": only the user running revoca (the owner of its --state directory) and root may use it; "
                       "run revocactl as that user");
    return makeError("cannot reach revoca at " + socketPath + " (" + error +
                     "); is `revoca standalone --state` running on that directory?");
  }
  std::string line;
  // The answer is read even when the request could not be sent whole: a
  // server that refuses a caller answers without reading its request.
  writeAll(fd, request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  bool received = readLine(fd, line);
  ::close(fd);
  if (!received) return makeError("revoca closed the admin connection without an answer");
  auto answer = nlohmann::json::parse(line, nullptr, false);
  if (answer.is_discarded()) return makeError("revoca sent an answer that is not JSON");
  return answer;
}

}  // namespace revoca
