#pragma once
// Reaching past the standalone stores to their files: bytes appended behind
// their back, and the permission bits they left.
#include <sys/stat.h>

#include <fstream>
#include <string>

namespace revoca::testing {

inline void appendRaw(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::app) << bytes;
}

// Permission bits of `path` (following symlinks); -1 when it is missing.
inline int modeOf(const std::string& path) {
  struct stat info {};
  return ::stat(path.c_str(), &info) == 0 ? static_cast<int>(info.st_mode & 07777) : -1;
}

}  // namespace revoca::testing
