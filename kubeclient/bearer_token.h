#pragma once
// The bearer token sent with each request. Projected service account tokens
// rotate (the kubelet rewrites the file, by default hourly, and the old token
// expires), so a token file is re-read when its mtime changes, and at least
// once a minute in case the mtime is unchanged (client-go's cachingTokenSource
// re-reads every minute). A failed or empty read keeps the last good token.
#include <filesystem>
#include <mutex>
#include <string>

#include "core/clock.h"

namespace revoca::kubeclient {

class BearerTokenSource {
 public:
  // `token` is used until (and if) `file` yields one; either may be empty.
  BearerTokenSource(std::string token, std::string file, const Clock& clock);

  std::string token();  // "" when there is no token auth

 private:
  std::mutex mutex_;
  std::string current_;
  const std::string file_;
  const Clock& clock_;
  bool read_ = false;
  TimePoint lastRead_{};
  std::filesystem::file_time_type lastMtime_{};
};

}  // namespace revoca::kubeclient
