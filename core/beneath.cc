#include "core/beneath.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace revoca {
namespace {

Error systemError(const std::string& what, const std::string& shown) {
  return makeError(what + " " + shown + ": " + std::strerror(errno));
}

constexpr int kDirectoryFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

}  // namespace

bool isPlainName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

const char* describe(EntryKind kind) {
  switch (kind) {
    case EntryKind::Missing: return "missing";
    case EntryKind::Directory: return "a directory";
    case EntryKind::Regular: return "a regular file";
    case EntryKind::Symlink: return "a symbolic link";
    case EntryKind::Other: return "a special file";
  }
  return "unknown";
}

Result<BeneathDirectory> BeneathDirectory::open(const std::string& path, std::string shown) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return systemError("open", path);
  return BeneathDirectory(fd, std::move(shown));
}

BeneathDirectory::BeneathDirectory(BeneathDirectory&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), shown_(std::move(other.shown_)) {}

BeneathDirectory& BeneathDirectory::operator=(BeneathDirectory&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    shown_ = std::move(other.shown_);
  }
  return *this;
}

BeneathDirectory::~BeneathDirectory() {
  if (fd_ >= 0) ::close(fd_);
}

std::string BeneathDirectory::shownChild(const std::string& name) const {
  return shown_.empty() ? name : shown_ + "/" + name;
}

std::optional<struct stat> BeneathDirectory::statOf(const std::string& name) const {
  struct stat info {};
  if (::fstatat(fd_, name.c_str(), &info, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  return info;
}

EntryKind BeneathDirectory::kindOf(const std::string& name) const {
  auto info = statOf(name);
  if (!info) return EntryKind::Missing;
  if (S_ISDIR(info->st_mode)) return EntryKind::Directory;
  if (S_ISREG(info->st_mode)) return EntryKind::Regular;
  if (S_ISLNK(info->st_mode)) return EntryKind::Symlink;
  return EntryKind::Other;
}

Result<BeneathDirectory> BeneathDirectory::openDirectory(const std::string& name,
                                                         std::optional<int> createMode) const {
  int fd = ::openat(fd_, name.c_str(), kDirectoryFlags);
  if (fd < 0 && errno == ENOENT && createMode) {
    if (::mkdirat(fd_, name.c_str(), static_cast<mode_t>(*createMode)) != 0 && errno != EEXIST)
      return systemError("mkdir", shownChild(name));
    sync();
    fd = ::openat(fd_, name.c_str(), kDirectoryFlags);
  }
  // ELOOP: a link; ENOTDIR: a file. Either way nothing below it is opened.
  if (fd < 0) return systemError("open", shownChild(name));
  return BeneathDirectory(fd, shownChild(name));
}

Result<BeneathDirectory> BeneathDirectory::makeFreshDirectory(const std::string& name, int mode) const {
  if (::mkdirat(fd_, name.c_str(), static_cast<mode_t>(mode)) != 0) return systemError("mkdir", shownChild(name));
  auto opened = openDirectory(name);
  if (!opened) return opened;
  // Whoever may rename in this directory could have put another directory
  // under the name between the two calls: only the one this process made will do.
  struct stat info {};
  if (::fstat(opened->fd(), &info) != 0 || info.st_uid != ::geteuid())
    return makeError("mkdir " + shownChild(name) + ": replaced by another directory while it was made");
  return opened;
}

Result<BeneathDirectory::FileContent> BeneathDirectory::readFile(const std::string& name, std::size_t limit) const {
  // O_NONBLOCK: a FIFO planted under the name must not hang the caller.
  int fd = ::openat(fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return systemError("open", shownChild(name));
  FileContent file{};
  if (::fstat(fd, &file.info) != 0 || !S_ISREG(file.info.st_mode) ||
      static_cast<std::size_t>(file.info.st_size) > limit) {
    ::close(fd);
    return makeError("read " + shownChild(name) + ": not a regular file of at most " + std::to_string(limit) +
                     " bytes");
  }
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      Error error = systemError("read", shownChild(name));
      ::close(fd);
      return error;
    }
    if (n == 0) break;
    file.content.append(buffer, static_cast<std::size_t>(n));
    if (file.content.size() > limit) {
      ::close(fd);
      return makeError("read " + shownChild(name) + ": grew past " + std::to_string(limit) + " bytes");
    }
  }
  ::close(fd);
  return file;
}

Result<std::string> BeneathDirectory::readLink(const std::string& name) const {
  char buffer[4096];
  ssize_t n = ::readlinkat(fd_, name.c_str(), buffer, sizeof buffer);
  if (n < 0) return systemError("readlink", shownChild(name));
  if (static_cast<std::size_t>(n) == sizeof buffer) return makeError("readlink " + shownChild(name) + ": too long");
  return std::string(buffer, static_cast<std::size_t>(n));
}

Result<void> BeneathDirectory::writeFile(const std::string& name, const std::string& content,
                                         const FileAttributes& attributes) const {
  std::string temporary = temporaryPathFor(name);
  std::string shownTemporary = shownChild(temporary);
  ::unlinkat(fd_, temporary.c_str(), 0);
  // O_EXCL with the final mode: the key bytes never sit in a file others can
  // read; with O_NOFOLLOW and O_EXCL, never in a file someone else made.
  int fd = ::openat(fd_, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    static_cast<mode_t>(attributes.mode & 0600));
  if (fd < 0) return systemError("create", shownTemporary);
  auto fail = [&](Error error) {
    ::close(fd);
    ::unlinkat(fd_, temporary.c_str(), 0);
    return Result<void>(std::move(error));
  };
  if (attributes.uid || attributes.gid) {
    if (::fchown(fd, attributes.uid.value_or(-1), attributes.gid.value_or(-1)) != 0)
      return fail(systemError("chown", shownTemporary));
  }
  if (::fchmod(fd, static_cast<mode_t>(attributes.mode)) != 0) return fail(systemError("chmod", shownTemporary));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(systemError("write", shownTemporary));
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return fail(systemError("fsync", shownTemporary));
  ::close(fd);
  return renameIntoPlace(temporary, name);
}

Result<void> BeneathDirectory::renameIntoPlace(const std::string& temporary, const std::string& name) const {
  if (::renameat(fd_, temporary.c_str(), fd_, name.c_str()) != 0) {
    Error error = systemError("rename", shownChild(name));
    ::unlinkat(fd_, temporary.c_str(), 0);
    return error;
  }
  sync();
  return {};
}

Result<void> BeneathDirectory::replaceSymlink(const std::string& name, const std::string& target) const {
  // The temporary name of writeFile: one left by a kill is removed at the next start.
  std::string temporary = temporaryPathFor(name);
  ::unlinkat(fd_, temporary.c_str(), 0);
  if (::symlinkat(target.c_str(), fd_, temporary.c_str()) != 0) return systemError("symlink", shownChild(temporary));
  return renameIntoPlace(temporary, name);
}

Result<std::vector<std::string>> BeneathDirectory::list() const {
  // fdopendir takes the descriptor it is given: a duplicate, opened afresh so
  // the listing starts at the beginning whatever this one read before.
  int fd = ::openat(fd_, ".", kDirectoryFlags);
  if (fd < 0) return systemError("open", shown_.empty() ? "." : shown_);
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    Error error = systemError("list", shown_.empty() ? "." : shown_);
    ::close(fd);
    return error;
  }
  std::vector<std::string> names;
  while (const dirent* entry = ::readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(dir);
  return names;
}

Result<void> BeneathDirectory::removeTree(const std::string& name, int depth) const {
  if (::unlinkat(fd_, name.c_str(), 0) == 0 || errno == ENOENT) return {};
  if (errno != EISDIR && errno != EPERM) return systemError("remove", shownChild(name));
  // A directory (Linux says EISDIR, POSIX allows EPERM): opened without
  // following, so a link swapped in since is refused, not walked.
  if (depth <= 0) return makeError("remove " + shownChild(name) + ": nested too deep");
  auto child = openDirectory(name);
  if (!child) return child.error();
  auto names = child->list();
  if (!names) return names.error();
  for (const auto& entry : *names)
    if (auto removed = child->removeTree(entry, depth - 1); !removed) return removed;
  if (::unlinkat(fd_, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return systemError("remove", shownChild(name));
  return {};
}

void BeneathDirectory::sync() const { ::fsync(fd_); }

Result<void> BeneathDirectory::chown(int uid, int gid) const {
  if (::fchown(fd_, uid, gid) != 0) return systemError("chown", shown_);
  return {};
}

}  // namespace revoca
