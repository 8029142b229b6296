#include "kubeclient/bounded_body.h"

#include <algorithm>
#include <limits>

namespace revoca::kubeclient {

BoundedBody::BoundedBody(std::size_t window) : basic_producer_consumer_buffer(64 * 1024), window_(window) {}

pplx::task<std::size_t> BoundedBody::_putn(const std::uint8_t* ptr, std::size_t count) {
  // Copied at once (cpprestsdk reuses its buffer when the task completes).
  auto written = basic_producer_consumer_buffer::_putn(ptr, count);
  std::lock_guard lock(mutex_);
  if (in_avail() <= window_) return written;
  // cpprestsdk writes again only once this write completed; should a write
  // overlap one that waits anyway, both wait for the same room.
  if (!room_) room_.emplace();
  return pplx::create_task(*room_).then([count] { return count; });
}

void BoundedBody::roomIfBelowWindow() {
  std::optional<pplx::task_completion_event<void>> room;
  {
    std::lock_guard lock(mutex_);
    if (!room_ || in_avail() > window_) return;
    room = std::exchange(room_, std::nullopt);
  }
  room->set();
}

std::size_t BoundedBody::read(std::uint8_t* into, std::size_t size) {
  // At most what has arrived (at least one byte): a read of more waits
  // until that much arrived, and the writer may be waiting for room.
  std::size_t got = getn(into, std::max<std::size_t>(1, std::min(in_avail(), size))).get();
  roomIfBelowWindow();
  if (got == 0) {
    std::lock_guard lock(mutex_);
    if (error_) std::rethrow_exception(error_);
  }
  return got;
}

void BoundedBody::finish(std::exception_ptr error) {
  {
    std::lock_guard lock(mutex_);
    error_ = error;
  }
  // Not waited for: the close takes effect at once, and only its task's
  // continuation runs on cpprestsdk's pool, whose threads may all be here.
  close(std::ios_base::out);
}

void BoundedBody::abandon() {
  {
    std::lock_guard lock(mutex_);
    window_ = std::numeric_limits<std::size_t>::max();
  }
  roomIfBelowWindow();
  close(std::ios_base::in);
}

BoundedBodyReader::int_type BoundedBodyReader::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  std::size_t got = body_->read(reinterpret_cast<std::uint8_t*>(chunk_.data()), chunk_.size());
  if (got == 0) return traits_type::eof();
  setg(chunk_.data(), chunk_.data(), chunk_.data() + got);
  return traits_type::to_int_type(*gptr());
}

}  // namespace revoca::kubeclient
