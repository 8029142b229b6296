#pragma once
// Open beneath a directory without following links.
//
// In standalone mode revoca runs as root and writes private keys into
// OUTPUT/<namespace>/<deployment>/, directories whose files (and sometimes
// the directories themselves) belong to the broker's uid. A path string is
// resolved again at every system call, so anyone who may rename entries on
// the way can swap a directory for a symlink between two calls and make root
// write, chown or delete where they choose. A BeneathDirectory is an open
// directory file descriptor instead: every name below it is one component,
// opened with *at() calls and O_NOFOLLOW, so what revoca touches is what it
// opened, never where a link points. Only the top directory is opened by
// path, and following a link there is the operator's choice.
//
// Messages name entries by `shown` paths (for DirectoryOutput: relative to
// OUTPUT), so an error says which entry without exposing the machine's layout.
#include <sys/stat.h>

#include <optional>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/result.h"

namespace revoca {

// One path component: not empty, not "." or "..", no '/', no NUL.
bool isPlainName(const std::string& name);

// What lstat finds under a name.
enum class EntryKind { Missing, Directory, Regular, Symlink, Other };
const char* describe(EntryKind kind);  // "a symbolic link", "a regular file"...

class BeneathDirectory {
 public:
  // Opens `path` as a directory, following links: the top is the caller's choice.
  // `shown` names it in messages ("" for a root whose children are shown bare).
  static Result<BeneathDirectory> open(const std::string& path, std::string shown);

  BeneathDirectory(BeneathDirectory&& other) noexcept;
  BeneathDirectory& operator=(BeneathDirectory&& other) noexcept;
  BeneathDirectory(const BeneathDirectory&) = delete;
  BeneathDirectory& operator=(const BeneathDirectory&) = delete;
  ~BeneathDirectory();

  int fd() const { return fd_; }
  const std::string& shown() const { return shown_; }
  std::string shownChild(const std::string& name) const;

  EntryKind kindOf(const std::string& name) const;
  // fstatat without following; nullopt when missing or unreadable.
  std::optional<struct stat> statOf(const std::string& name) const;

  // The directory `name`, made with `createMode` when missing and a mode is
  // given (the new entry fsynced). Fails on a link or anything not a directory.
  Result<BeneathDirectory> openDirectory(const std::string& name, std::optional<int> createMode = std::nullopt) const;
  // Makes `name`, which must not exist, and opens it: a directory this process made.
  Result<BeneathDirectory> makeFreshDirectory(const std::string& name, int mode) const;

  // A regular file's content and attributes, opened without following a link
  // and without blocking on a FIFO; an error for anything else or over `limit` bytes.
  struct FileContent {
    std::string content;
    struct stat info;
  };
  Result<FileContent> readFile(const std::string& name, std::size_t limit = 1 << 20) const;
  Result<std::string> readLink(const std::string& name) const;

  // writeFileAtomically beneath this directory: a fresh temporary (O_EXCL,
  // O_NOFOLLOW) chowned and chmodded through its descriptor before any byte,
  // written, fsynced, renamed over `name`, and the directory fsynced.
  // A rename replaces the entry: nothing is ever written through a link at `name`.
  Result<void> writeFile(const std::string& name, const std::string& content, const FileAttributes& attributes) const;
  // Points `name` at `target` with one rename of a fresh link.
  Result<void> replaceSymlink(const std::string& name, const std::string& target) const;

  Result<std::vector<std::string>> list() const;
  // Removes `name`: a link or file is unlinked, a directory emptied first,
  // walking descriptors and never following a link. At most `depth` levels.
  Result<void> removeTree(const std::string& name, int depth = 8) const;
  void sync() const;
  Result<void> chown(int uid, int gid) const;

 private:
  BeneathDirectory(int fd, std::string shown) : fd_(fd), shown_(std::move(shown)) {}
  // Renames `temporary` over `name` and fsyncs the directory; a temporary
  // that could not be renamed is removed.
  Result<void> renameIntoPlace(const std::string& temporary, const std::string& name) const;
  int fd_ = -1;
  std::string shown_;
};

}  // namespace revoca
