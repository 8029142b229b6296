#pragma once
// Crash-safe file writes: write a temporary file beside the target, fsync
// it, rename it over the target, fsync the directory. A reader (or a
// restart after SIGKILL) sees the old file or the new one, never half of one.
#include <optional>
#include <string>

#include "core/result.h"

namespace revoca {

struct FileAttributes {
  int mode = 0644;
  std::optional<int> uid;  // chown when set (needs the right to)
  std::optional<int> gid;
};

// Mode and ownership are set on the temporary file before any byte is
// written, so a key is never readable by others, even for an instant.
Result<void> writeFileAtomically(const std::string& path, const std::string& content,
                                 const FileAttributes& attributes = {});

// Appends a line and fsyncs (and the directory, when it creates the file);
// a torn last line after a crash is skipped by readers.
Result<void> appendLineDurably(const std::string& path, const std::string& line);

Result<std::string> readFile(const std::string& path);

// mkdir -p with the given mode for the directories it creates; each new
// directory's entry is fsynced, so a file written in it outlives a power cut.
Result<void> makeDirectories(const std::string& path, int mode = 0755);

// fsync of a directory: makes the renames and creations in it durable.
void syncDirectory(const std::string& directory);

// The temporary file name writeFileAtomically uses for `path`.
std::string temporaryPathFor(const std::string& path);
// True for a name temporaryPathFor makes ("<name>.tmp-<pid>").
bool isTemporaryName(const std::string& name);
// Removes the temporary files a killed process left under `directory`
// (recursively, through directory descriptors, never following a link).
// Only for a directory no other process writes temporaries in: the caller
// holds its lock. Returns how many it removed.
std::size_t removeLeftoverTemporaries(const std::string& directory);

}  // namespace revoca
