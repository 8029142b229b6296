#include "core/shutdown.h"

#include <atomic>
#include <csignal>

namespace revoca {
namespace {

// Lock-free, so the handler may touch it.
std::atomic<int> signalsReceived{0};
static_assert(std::atomic<int>::is_always_lock_free);

void countStopSignal(int) { signalsReceived.fetch_add(1, std::memory_order_relaxed); }

}  // namespace

void installStopSignals() {
  std::signal(SIGINT, countStopSignal);
  std::signal(SIGTERM, countStopSignal);
}

int stopSignals() { return signalsReceived.load(std::memory_order_relaxed); }

}  // namespace revoca
