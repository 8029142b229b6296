#pragma once
// A fresh directory for one test, removed with everything in it, and what a
// test reads back from the files written there.
#include <string>

namespace revoca::testing {

class TempDir {
 public:
  TempDir();  // throws when no directory can be made
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name; nothing is made.
  std::string file(const std::string& name) const;
  // Writes `text` to path()/relative, making the directories between; returns its path.
  std::string write(const std::string& relative, const std::string& text) const;

 private:
  std::string path_;
};

// Every byte of the file; empty when it cannot be read, so a missing file
// fails the comparison that follows.
std::string contentsOf(const std::string& path);

}  // namespace revoca::testing
