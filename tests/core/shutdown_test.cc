#include "core/shutdown.h"

#include <gtest/gtest.h>

#include <csignal>

#include "testing/fake_clock.h"

namespace revoca {
namespace {

using namespace std::chrono_literals;
using Phase = ShutdownSequence::Phase;

TEST(ShutdownSequence, RunsUntilASignal) {
  testing::FakeClock clock;
  ShutdownSequence shutdown(clock, 5s);
  EXPECT_EQ(shutdown.update(0), Phase::kRunning);
  clock.advance(1h);
  EXPECT_EQ(shutdown.update(0), Phase::kRunning);
  EXPECT_EQ(shutdown.remaining(), 0ms);
}

TEST(ShutdownSequence, DrainsForTheDelayFromTheFirstSignal) {
  testing::FakeClock clock;
  ShutdownSequence shutdown(clock, 5s);
  clock.advance(1h);  // the delay counts from the signal, not from the start
  EXPECT_EQ(shutdown.update(1), Phase::kDraining);
  EXPECT_EQ(shutdown.remaining(), 5s);
  clock.advance(4900ms);
  EXPECT_EQ(shutdown.update(1), Phase::kDraining);
  EXPECT_EQ(shutdown.remaining(), 100ms);
  clock.advance(100ms);
  EXPECT_EQ(shutdown.update(1), Phase::kStopping);
  EXPECT_EQ(shutdown.remaining(), 0ms);
}

TEST(ShutdownSequence, ASecondSignalStopsAtOnce) {
  testing::FakeClock clock;
  ShutdownSequence shutdown(clock, 5s);
  EXPECT_EQ(shutdown.update(1), Phase::kDraining);
  clock.advance(1s);
  EXPECT_EQ(shutdown.update(2), Phase::kStopping);
}

TEST(ShutdownSequence, TwoSignalsBeforeTheFirstLookStopAtOnce) {
  testing::FakeClock clock;
  ShutdownSequence shutdown(clock, 5s);
  EXPECT_EQ(shutdown.update(2), Phase::kStopping);
}

TEST(ShutdownSequence, NoDelayStopsAtTheFirstSignal) {
  testing::FakeClock clock;
  ShutdownSequence shutdown(clock, 0s);
  EXPECT_EQ(shutdown.update(0), Phase::kRunning);
  EXPECT_EQ(shutdown.update(1), Phase::kStopping);
}

TEST(ShutdownSequence, StoppingStays) {
  testing::FakeClock clock;
  ShutdownSequence shutdown(clock, 1s);
  shutdown.update(1);
  clock.advance(2s);
  EXPECT_EQ(shutdown.update(1), Phase::kStopping);
  clock.advance(-1h);  // a clock set back does not start serving again
  EXPECT_EQ(shutdown.update(1), Phase::kStopping);
  EXPECT_EQ(shutdown.phase(), Phase::kStopping);
}

TEST(StopSignals, CountsEachSigtermAndSigint) {
  installStopSignals();
  int before = stopSignals();
  std::raise(SIGTERM);
  EXPECT_EQ(stopSignals(), before + 1);
  std::raise(SIGINT);
  EXPECT_EQ(stopSignals(), before + 2);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
}

}  // namespace
}  // namespace revoca
