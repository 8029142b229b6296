// GoogleTest before cpprestsdk: cpprestsdk defines a macro U, a name GoogleTest's templates use.
#include <gtest/gtest.h>

#include "kubeclient/bounded_body.h"

#include <atomic>
#include <chrono>
#include <numeric>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace revoca::kubeclient {
namespace {

using namespace std::chrono_literals;

std::vector<std::uint8_t> bytes(std::size_t size, std::uint8_t first = 0) {
  std::vector<std::uint8_t> out(size);
  std::iota(out.begin(), out.end(), first);
  return out;
}

bool doneWithin(pplx::task<std::size_t>& task, std::chrono::milliseconds wait) {
  auto until = std::chrono::steady_clock::now() + wait;
  while (!task.is_done() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
  return task.is_done();
}

TEST(BoundedBody, AWriteBeyondTheWindowCompletesOnlyOnceTheReaderTookEnough) {
  auto body = std::make_shared<BoundedBody>(1000);
  auto block = bytes(600);
  auto first = body->putn_nocopy(block.data(), block.size());
  ASSERT_TRUE(doneWithin(first, 1s));  // 600 held: within the window
  auto second = body->putn_nocopy(block.data(), block.size());
  EXPECT_FALSE(doneWithin(second, 50ms));  // 1,200 held: the client reads no more from the socket
  std::vector<std::uint8_t> into(300);
  EXPECT_EQ(body->read(into.data(), into.size()), 300u);
  ASSERT_TRUE(doneWithin(second, 1s));  // 900 held
  EXPECT_EQ(second.get(), 600u);
}

TEST(BoundedBody, TheReaderGetsEveryByteInOrderAndThenTheEnd) {
  auto body = std::make_shared<BoundedBody>(4096);
  auto all = bytes(100000, 7);
  std::thread writer([&] {
    for (std::size_t at = 0; at < all.size(); at += 1000) body->putn_nocopy(all.data() + at, 1000).wait();
    body->finish();
  });
  std::vector<std::uint8_t> got, chunk(3000);
  for (std::size_t n; (n = body->read(chunk.data(), chunk.size())) > 0;) got.insert(got.end(), chunk.begin(), chunk.begin() + n);
  writer.join();
  EXPECT_EQ(got, all);
}

TEST(BoundedBody, AStreamReaderParsesAcrossChunks) {
  auto body = std::make_shared<BoundedBody>(64);
  std::string text(5000, 'x');
  std::thread writer([&] {
    for (std::size_t at = 0; at < text.size(); at += 100)
      body->putn_nocopy(reinterpret_cast<const std::uint8_t*>(text.data()) + at, 100).wait();
    body->finish();
  });
  BoundedBodyReader reader(body, 128);
  std::istream in(&reader);
  std::string read(std::istreambuf_iterator<char>(in), {});
  writer.join();
  EXPECT_EQ(read, text);
}

TEST(BoundedBody, AnAnswerCutShortIsAnErrorAtItsEnd) {
  auto body = std::make_shared<BoundedBody>(1000);
  auto block = bytes(10);
  body->putn_nocopy(block.data(), block.size()).wait();
  body->finish(std::make_exception_ptr(std::runtime_error("Failed to read response body")));
  std::vector<std::uint8_t> into(100);
  EXPECT_EQ(body->read(into.data(), into.size()), 10u);
  EXPECT_THROW(body->read(into.data(), into.size()), std::runtime_error);
}

TEST(BoundedBody, AReaderThatStopsReleasesTheWaitingWrite) {
  auto body = std::make_shared<BoundedBody>(100);
  auto block = bytes(500);
  auto waiting = body->putn_nocopy(block.data(), block.size());
  EXPECT_FALSE(doneWithin(waiting, 20ms));
  body->abandon();
  EXPECT_TRUE(doneWithin(waiting, 1s));
}

// cpprestsdk ends an answer on a thread of its pool. Here every thread of
// the pool ends one at the same moment: a finish that waited for a pool
// thread would wait forever.
TEST(BoundedBody, FinishingNeedsNoThreadOfCpprestsdksPool) {
  constexpr int kTasks = 64;  // more than the pool has threads (40 by default; revoca sizes it to 4)
  std::atomic<int> started{0};
  std::vector<pplx::task<void>> tasks;
  for (int i = 0; i < kTasks; ++i)
    tasks.push_back(pplx::create_task([&started] {
      ++started;
      // Until every task runs, or the pool is full: then they all finish at once.
      auto until = std::chrono::steady_clock::now() + 500ms;
      while (started < kTasks && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(1ms);
      std::make_shared<BoundedBody>(1000)->finish();
    }));
  auto all = pplx::when_all(tasks.begin(), tasks.end());
  auto until = std::chrono::steady_clock::now() + 20s;
  while (!all.is_done() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(all.is_done());
}

}  // namespace
}  // namespace revoca::kubeclient
