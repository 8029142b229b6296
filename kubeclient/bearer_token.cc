#include "kubeclient/bearer_token.h"

#include "kubeclient/config_files.h"

namespace revoca::kubeclient {

namespace {
constexpr auto kRereadEvery = std::chrono::minutes(1);
}

BearerTokenSource::BearerTokenSource(std::string token, std::string file, const Clock& clock)
    : current_(std::move(token)), file_(std::move(file)), clock_(clock) {}

std::string BearerTokenSource::token() {
  std::lock_guard lock(mutex_);
  if (file_.empty()) return current_;
  TimePoint now = clock_.now();
  std::error_code error;
  auto mtime = std::filesystem::last_write_time(file_, error);  // follows the projected volume's symlinks
  bool changed = !error && mtime != lastMtime_;
  if (!read_ || changed || now - lastRead_ >= kRereadEvery) {
    read_ = true;
    lastRead_ = now;
    if (!error) lastMtime_ = mtime;
    if (auto contents = readTextFile(file_); contents) {
      std::string token = trimSpace(*contents);
      if (!token.empty()) current_ = std::move(token);
    }
  }
  return current_;
}

}  // namespace revoca::kubeclient
