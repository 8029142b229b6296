#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace revoca {
namespace {

Error systemError(const std::string& what, const std::string& path) {
  return makeError(what + " " + path + ": " + std::strerror(errno));
}

Result<void> writeAll(int fd, const std::string& content, const std::string& path) {
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return systemError("write", path);
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

void syncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace

Result<void> writeFileAtomically(const std::string& path, const std::string& content,
                                 const FileAttributes& attributes) {
  std::string temporary = path + ".tmp-" + std::to_string(::getpid());
  // O_EXCL with the final mode: the key bytes never sit in a file others can read.
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, attributes.mode & 0600);
  if (fd < 0) return systemError("create", temporary);
  auto fail = [&](Error error) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return Result<void>(std::move(error));
  };
  if (attributes.uid || attributes.gid) {
    if (::fchown(fd, attributes.uid.value_or(-1), attributes.gid.value_or(-1)) != 0)
      return fail(systemError("chown", temporary));
  }
  if (::fchmod(fd, attributes.mode) != 0) return fail(systemError("chmod", temporary));
  if (auto written = writeAll(fd, content, temporary); !written) return fail(written.error());
  if (::fsync(fd) != 0) return fail(systemError("fsync", temporary));
  ::close(fd);
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    Error error = systemError("rename", path);
    ::unlink(temporary.c_str());
    return error;
  }
  syncDirectoryOf(path);
  return {};
}

Result<void> appendLineDurably(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return systemError("open", path);
  std::string text = line + "\n";
  auto written = writeAll(fd, text, path);
  int syncResult = written ? ::fsync(fd) : 0;
  ::close(fd);
  if (!written) return written;
  if (syncResult != 0) return systemError("fsync", path);
  return {};
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return systemError("read", path);
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Result<void> makeDirectories(const std::string& path, int mode) {
  std::error_code ec;
  std::filesystem::path target(path);
  std::filesystem::path built;
  for (const auto& part : target) {
    built /= part;
    if (std::filesystem::exists(built, ec)) continue;
    if (::mkdir(built.c_str(), mode) != 0 && errno != EEXIST) return systemError("mkdir", built.string());
  }
  return {};
}

}  // namespace revoca
