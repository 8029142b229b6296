#include "standalone/engine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "core/shutdown.h"
#include "declarations/parse.h"
#include "reconcilers/declaration_pass.h"
#include "metrics/object_metrics.h"
#include "responder/server.h"
#include "responder/source_with_metrics.h"
#include "standalone/admin_commands.h"
#include "standalone/admin_server.h"
#include "standalone/directory_output.h"
#include "standalone/file_state_store.h"
#include "standalone/status_file.h"

namespace revoca {
namespace fs = std::filesystem;
namespace {

// Names, sizes and modification times of the declaration files: a change
// in any of them means the directory must be read again.
std::string directoryFingerprint(const std::string& directory) {
  std::string fingerprint;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    auto size = entry.is_regular_file(ec) ? entry.file_size(ec) : 0;
    auto mtime = entry.last_write_time(ec).time_since_epoch().count();
    fingerprint += entry.path().filename().string() + ":" + std::to_string(size) + ":" + std::to_string(mtime) + ";";
  }
  return fingerprint;
}

// One instance per state directory: two would hand out the same CRL numbers.
Result<int> lockStateDirectory(const std::string& stateDir) {
  std::string path = stateDir + "/lock";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return makeError("cannot open " + path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return makeError("another revoca already runs on state directory " + stateDir + "; stop it or use another --state");
  }
  return fd;
}

void logDeclarationErrors(const DeclarationSet& set) {
  for (const auto& error : set.errors) spdlog::error("declaration refused: {}", error.str());
}

}  // namespace

int runStandalone(const StandaloneOptions& options) {
  auto store = FileStateStore::open(options.stateDir);
  if (!store) {
    spdlog::error("--state {}: {}", options.stateDir, store.error().message);
    return 1;
  }
  auto lock = lockStateDirectory(options.stateDir);
  if (!lock) {
    spdlog::error("{}", lock.error().message);
    return 1;
  }
  if (auto made = makeDirectories(options.outputDir, 0755); !made) {
    spdlog::error("--output {}: {}", options.outputDir, made.error().message);
    return 1;
  }
  // A kill leaves the temporary files of the writes it interrupted (a CA
  // key's among them); with the lock held, no other writer owns any of them.
  std::size_t leftovers = removeLeftoverTemporaries(options.stateDir) + removeLeftoverTemporaries(options.outputDir);
  if (leftovers) spdlog::info("removed {} temporary file(s) an interrupted run left in --state and --output", leftovers);
  if (!fs::is_directory(options.declarationsDir)) {
    spdlog::error("--declarations {}: not a directory; point it at a folder of revoca YAML files", options.declarationsDir);
    return 1;
  }

  SystemClock clock;
  auto registry = std::make_shared<CaRegistry>(clock);
  DirectoryOutput output(options.outputDir);
  StatusFile status(options.stateDir + "/status.json");
  AuthorityService authorities(**store, *registry, clock);
  ObjectMetrics metrics(status);
  DeclarationPass pass(ReconcileContext{authorities, **store, output, clock}, *registry, metrics);
  std::mutex engineMutex;  // one writer at a time: the reconcile pass or an admin command
  // An admin command (a revocation, say) can change what the declarations need.
  std::atomic<bool> passRequested{false};

  auto source = std::make_shared<responder::SourceWithMetrics>(registry, metrics.pieces());
  auto server = responder::startServer(options.listen, options.responderThreads, source, clock);
  if (!server) {
    spdlog::error("{}", server.error().message);
    return 1;
  }
  AdminContext adminContext{authorities, **store, *registry, status, clock};
  auto admin = startAdminServer(options.stateDir + "/admin.sock", [&](const nlohmann::json& request) {
    std::lock_guard guard(engineMutex);
    auto answer = runAdminCommand(adminContext, request);
    status.flush();
    passRequested = true;
    return answer;
  });
  if (!admin) {
    spdlog::error("{}", admin.error().message);
    return 1;
  }
  spdlog::info("revoca standalone: declarations {}, state {}, output {}, responder on port {}",
               options.declarationsDir, options.stateDir, options.outputDir, (*server)->port());

  ShutdownSequence shutdown(clock, options.shutdownDelay);
  using Phase = ShutdownSequence::Phase;
  installStopSignals();
  std::string fingerprint;
  DeclarationSet declarations;
  TimePoint wakeup = clock.now();
  while (shutdown.update(stopSignals()) == Phase::kRunning) {
    std::string current = directoryFingerprint(options.declarationsDir);
    bool changed = current != fingerprint;
    if (changed) {
      fingerprint = current;
      declarations = loadDeclarationDirectory(options.declarationsDir);
      logDeclarationErrors(declarations);
    }
    if (changed || passRequested.exchange(false) || clock.now() >= wakeup) {
      std::lock_guard guard(engineMutex);
      wakeup = metrics.measurePass([&] { return pass.run(declarations); });
      status.flush();
    }
    std::this_thread::sleep_for(options.watchInterval);
  }
  source->setStopping();
  // No more writes from here on, drain or not.
  (*admin)->stop();
  if (shutdown.phase() == Phase::kDraining) {
    spdlog::info("revoca standalone: draining: /readyz answers 503, the responder answers for {} s more, then stops "
                 "(a second SIGTERM or SIGINT stops at once)",
                 std::chrono::ceil<std::chrono::seconds>(shutdown.remaining()).count());
    shutdown.waitOutDrain();
    spdlog::info("revoca standalone: drain over, stopping");
  } else {
    spdlog::info("revoca standalone: stopping");
  }
  (*server)->stop();
  ::close(*lock);
  return 0;
}

}  // namespace revoca
