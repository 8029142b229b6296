#pragma once
// An answer's body as cpprestsdk hands it over, holding at most a window of
// bytes not yet read. cpprestsdk reads the next bytes from the socket only
// once its last write to the body completed; a write that leaves more than
// the window waits until the reader took enough. So an answer of any size
// (a list of 10,000 objects from the apiserver's cache, some 17 MB) costs
// about the window in memory, however far the reader lags behind the
// apiserver. No thread waits for room: the write's task completes later.
// Private to kubeclient: it speaks cpprestsdk's stream types.
#include <cstddef>
#include <cstdint>
#include <exception>
#include <istream>
#include <memory>
#include <mutex>
#include <optional>
#include <streambuf>
#include <vector>

#include <cpprest/producerconsumerstream.h>

namespace revoca::kubeclient {

class BoundedBody final : public concurrency::streams::details::basic_producer_consumer_buffer<std::uint8_t> {
 public:
  explicit BoundedBody(std::size_t window);
  // Blocks until bytes arrive or the body ends (0). Throws what ended the
  // answer early (the connection lost, the idle timeout).
  std::size_t read(std::uint8_t* into, std::size_t size);
  // The answer is complete, or failed with `error`; the reader sees the end.
  void finish(std::exception_ptr error = nullptr);
  // The reader stops early: cpprestsdk's waiting write completes, and
  // nothing more is kept.
  void abandon();

 protected:
  pplx::task<std::size_t> _putn(const std::uint8_t* ptr, std::size_t count) override;

 private:
  void roomIfBelowWindow();

  std::mutex mutex_;
  std::size_t window_;
  std::optional<pplx::task_completion_event<void>> room_;  // a write waits for it
  std::exception_ptr error_;
};

// A std::streambuf over a BoundedBody, for parsers that read std::istream.
class BoundedBodyReader final : public std::streambuf {
 public:
  explicit BoundedBodyReader(std::shared_ptr<BoundedBody> body, std::size_t chunk = 64 * 1024)
      : body_(std::move(body)), chunk_(chunk) {}

 protected:
  int_type underflow() override;

 private:
  std::shared_ptr<BoundedBody> body_;
  std::vector<char> chunk_;
};

}  // namespace revoca::kubeclient
