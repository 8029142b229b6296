#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "core/beneath.h"

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

void syncDirectoryOf(const std::string& path) { syncDirectory(std::filesystem::path(path).parent_path().string()); }

constexpr std::string_view kTemporaryMark = ".tmp-";

}  // namespace

void syncDirectory(const std::string& dir) {
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string temporaryPathFor(const std::string& path) {
  return path + std::string(kTemporaryMark) + std::to_string(::getpid());
}

bool isTemporaryName(const std::string& name) {
  std::size_t mark = name.rfind(kTemporaryMark);
  if (mark == std::string::npos || mark == 0) return false;
  std::size_t digits = mark + kTemporaryMark.size();
  return digits < name.size() &&
         name.find_first_not_of("0123456789", digits) == std::string::npos;
}

namespace {

// Walks with descriptors and never follows a link: under --output, the
// broker's uid may rename entries while this runs.
std::size_t removeTemporariesBeneath(const BeneathDirectory& dir, int depth) {
  auto names = dir.list();
  if (!names) return 0;
  std::size_t removed = 0;
  for (const auto& name : *names) {
    EntryKind kind = dir.kindOf(name);
    if (kind == EntryKind::Directory) {
      if (depth <= 0) continue;
      if (auto child = dir.openDirectory(name)) removed += removeTemporariesBeneath(*child, depth - 1);
      continue;
    }
    if (isTemporaryName(name) && ::unlinkat(dir.fd(), name.c_str(), 0) == 0) ++removed;
  }
  return removed;
}

}  // namespace

std::size_t removeLeftoverTemporaries(const std::string& directory) {
  auto root = BeneathDirectory::open(directory, directory);
  if (!root) return 0;
  // Deeper than any tree revoca writes (state/cas/<ns>/<ca>/versions/<n>/).
  return removeTemporariesBeneath(*root, 16);
}

Result<void> writeFileAtomically(const std::string& path, const std::string& content,
                                 const FileAttributes& attributes) {
  std::string temporary = temporaryPathFor(path);
  // O_EXCL with the final mode: the key bytes never sit in a file others can read.
  ::unlink(temporary.c_str());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, attributes.mode & 0600);
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
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  bool created = false;
  if (fd < 0 && errno == ENOENT) {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    created = true;
  }
  if (fd < 0) return systemError("open", path);
  // One write of the whole line: a kill cannot leave half of it unless the
  // kernel was in the middle of it, and readers drop such a torn tail.
  std::string text = line + "\n";
  auto written = writeAll(fd, text, path);
  int syncResult = written ? ::fsync(fd) : 0;
  ::close(fd);
  if (!written) return written;
  if (syncResult != 0) return systemError("fsync", path);
  // A new file's directory entry must be durable too, or a power cut loses the whole file.
  if (created) syncDirectoryOf(path);
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
    if (::mkdir(built.c_str(), mode) != 0) {
      if (errno == EEXIST) continue;
      return systemError("mkdir", built.string());
    }
    syncDirectoryOf(built.string());
  }
  return {};
}

}  // namespace revoca
