#pragma once
// Prometheus series about the declarations, the same in every backend: Ready
// per object, each certificate's expiry and renewal times, reconcile counts
// and failures by reason, the pass's duration and the work waiting for it.
// It is the StatusSink the pass reports to and forwards every report to the
// backend's own sink, so nothing reconciles twice to be measured.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/metrics_page.h"
#include "ports/outputs.h"

namespace revoca {

class ObjectMetrics : public StatusSink {
 public:
  explicit ObjectMetrics(StatusSink& next) : next_(&next) {}

  // Reports go to `next` from now on (a replica that stops leading drops them).
  void forwardTo(StatusSink& next);
  void report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) override;

  // An object deleted: its series go (a backend that reconciles one object
  // at a time has no pass to tell).
  void forget(Kind kind, const ObjectKey& key);
  // Appended to every page after revoca's own (the work queues' series).
  // Called under this object's lock: it must not call back into it.
  void setMoreSeries(std::function<void(std::string&)> render);

  // Around each pass: objects the pass did not report are gone (deleted, or
  // this replica stopped leading), and so are their series.
  void passStarted();
  void passFinished(std::chrono::nanoseconds took);
  // passStarted(), run(), passFinished(its duration); returns what run() returns.
  template <typename Run>
  auto measurePass(Run&& run) {
    passStarted();
    auto started = std::chrono::steady_clock::now();
    auto result = run();
    passFinished(std::chrono::steady_clock::now() - started);
    return result;
  }
  // Changes seen but not yet reconciled (the work queue of a whole-pass
  // loop; the Kubernetes backend's queues, all together).
  void setQueueDepth(std::size_t depth);
  void setLeader(bool leader);

  // Text exposition format 0.0.4, HELP and TYPE included, appended to `out`.
  void render(std::string& out) const;
  std::string render() const;
  // The same text a piece at a time: appends from `cursor` on until `out`
  // holds `budget` bytes or more (the lock is held for one piece only), and
  // returns true once the whole text is written. At 10,000 VaultSecrets the
  // whole is some 4 MB, which a scrape then never holds at once.
  bool renderPiece(std::string& out, MetricsCursor& cursor, std::size_t budget) const;
  // renderPiece of this object, for whoever serves the page (it must not outlive this).
  std::function<bool(std::string&, MetricsCursor&, std::size_t)> pieces() const {
    return [this](std::string& out, MetricsCursor& cursor, std::size_t budget) {
      return renderPiece(out, cursor, budget);
    };
  }

 private:
  // "kind namespace name" in one string, not three: there is one per
  // object, 20,000 at 10,000 VaultSecrets. A space sorts before every
  // character a kind or a checked name holds, so the order is the same.
  using Key = std::string;
  static constexpr std::int64_t kNoTime = INT64_MIN;
  struct Series {
    bool ready = false;
    std::uint32_t pass = 0;           // the pass that last reported it
    std::int64_t expiry = kNoTime;   // unix seconds
    std::int64_t renewal = kNoTime;  // unix seconds
  };

  void renderTotals(std::string& out) const;  // the counters and gauges that are not per object

  mutable std::mutex mutex_;
  StatusSink* next_;
  std::map<Key, Series> objects_;
  std::map<std::pair<Kind, bool>, std::uint64_t> reconciles_;  // (kind, ready) -> count
  std::map<std::pair<Kind, std::string>, std::uint64_t> errors_;  // (kind, reason) -> count
  std::uint32_t pass_ = 0;
  std::uint64_t passesFinished_ = 0;
  double passSeconds_ = 0, lastPassSeconds_ = 0;
  std::size_t queueDepth_ = 0;
  std::optional<bool> leader_;
  std::function<void(std::string&)> moreSeries_;
};

}  // namespace revoca
