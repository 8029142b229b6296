#include "core/atomic_file.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace revoca {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  AtomicFileTest() {
    char pattern[] = "/tmp/revoca-atomic-XXXXXX";
    dir_ = ::mkdtemp(pattern);
  }
  ~AtomicFileTest() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  static void touch(const std::string& path) { std::ofstream(path) << "x"; }

  std::string dir_;
};

TEST_F(AtomicFileTest, TemporaryNamesAreThePathAndThePid) {
  EXPECT_EQ(temporaryPathFor("/s/key.pem"), "/s/key.pem.tmp-" + std::to_string(::getpid()));
  EXPECT_TRUE(isTemporaryName("key.pem.tmp-123"));
  EXPECT_TRUE(isTemporaryName("..data.tmp-7"));
  EXPECT_FALSE(isTemporaryName("key.pem"));
  EXPECT_FALSE(isTemporaryName("key.pem.tmp-"));
  EXPECT_FALSE(isTemporaryName("key.pem.tmp-12a"));
  EXPECT_FALSE(isTemporaryName(".tmp-12"));
  EXPECT_FALSE(isTemporaryName("notes.tmp"));
}

TEST_F(AtomicFileTest, WriteLeavesNoTemporaryBehind) {
  ASSERT_TRUE(writeFileAtomically(file("key.pem"), "KEY", FileAttributes{0600, std::nullopt, std::nullopt}).ok());
  EXPECT_FALSE(fs::exists(temporaryPathFor(file("key.pem"))));
  struct stat info {};
  ASSERT_EQ(::stat(file("key.pem").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

// What a SIGKILL between the write and the rename leaves: the next start removes it.
TEST_F(AtomicFileTest, LeftoverTemporariesAreRemovedAndNothingElse) {
  ASSERT_TRUE(makeDirectories(file("cas/ca/versions/2")).ok());
  touch(file("cas/ca/versions/2/key.pem.tmp-4242"));
  touch(file("cas/ca/versions/2/key.pem"));
  touch(file("status.json.tmp-1"));
  touch(file("notes.tmp"));
  fs::create_directory(file("dir.tmp-5"));  // a directory is not a temporary file
  fs::create_symlink("..data/cert.pem", file("cert.pem.tmp-9"));
  EXPECT_EQ(removeLeftoverTemporaries(dir_), 3u);
  EXPECT_FALSE(fs::exists(file("cas/ca/versions/2/key.pem.tmp-4242")));
  EXPECT_FALSE(fs::exists(file("status.json.tmp-1")));
  EXPECT_FALSE(fs::is_symlink(file("cert.pem.tmp-9")));
  EXPECT_TRUE(fs::exists(file("cas/ca/versions/2/key.pem")));
  EXPECT_TRUE(fs::exists(file("notes.tmp")));
  EXPECT_TRUE(fs::is_directory(file("dir.tmp-5")));
  EXPECT_EQ(removeLeftoverTemporaries(file("missing")), 0u);
}

// Under --output the broker's uid may plant links: the walk lists what a
// link points at never, so a temporary-looking file outside survives.
TEST_F(AtomicFileTest, LeftoverTemporariesAreNotLookedForThroughLinks) {
  char pattern[] = "/tmp/revoca-outside-XXXXXX";
  std::string outside = ::mkdtemp(pattern);
  touch(outside + "/passwd.tmp-1");
  fs::create_directories(file("out/default"));
  fs::create_directory_symlink(outside, file("out/default/emqx"));
  fs::create_directory_symlink(outside, file("out/..version-1"));
  EXPECT_EQ(removeLeftoverTemporaries(file("out")), 0u);
  EXPECT_TRUE(fs::exists(outside + "/passwd.tmp-1"));
  fs::remove_all(outside);
}

TEST_F(AtomicFileTest, AppendCreatesAPrivateFileAndAddsWholeLines) {
  ASSERT_TRUE(appendLineDurably(file("ledger"), "A 1 2 x").ok());
  ASSERT_TRUE(appendLineDurably(file("ledger"), "B 1 2 y").ok());
  EXPECT_EQ(*readFile(file("ledger")), "A 1 2 x\nB 1 2 y\n");
  struct stat info {};
  ASSERT_EQ(::stat(file("ledger").c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace revoca
