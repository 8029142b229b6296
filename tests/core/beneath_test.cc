#include "core/beneath.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "testing/temp_dir.h"

namespace revoca {
namespace {

namespace fs = std::filesystem;

using testing::contentsOf;

class BeneathTest : public ::testing::Test {
 protected:
  BeneathTest() {
    char pattern[] = "/tmp/revoca-beneath-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    fs::create_directories(file("top"));
    fs::create_directories(file("outside"));
    std::ofstream(file("outside/precious")) << "PRECIOUS";
  }
  ~BeneathTest() override { fs::remove_all(dir_); }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }
  BeneathDirectory top() { return BeneathDirectory::open(file("top"), "top").value(); }

  std::string dir_;
};

TEST_F(BeneathTest, PlainNamesAreOneComponent) {
  EXPECT_TRUE(isPlainName("emqx"));
  EXPECT_TRUE(isPlainName("..data"));
  EXPECT_TRUE(isPlainName("...")) << "a name, not a step up";
  for (const char* name : {"", ".", "..", "a/b", "/", "a/"}) EXPECT_FALSE(isPlainName(name)) << name;
  EXPECT_FALSE(isPlainName(std::string("a\0b", 3)));
}

TEST_F(BeneathTest, ADirectoryLinkIsNotOpenedNorMadeThrough) {
  fs::create_directory_symlink(file("outside"), file("top/link"));
  auto opened = top().openDirectory("link", 0755);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.error().message.find("top/link"), std::string::npos) << opened.error().message;
  EXPECT_EQ(top().kindOf("link"), EntryKind::Symlink);
}

TEST_F(BeneathTest, WritingOverALinkReplacesTheLinkNotItsTarget) {
  fs::create_symlink(file("outside/precious"), file("top/env"));
  ASSERT_TRUE(top().writeFile("env", "NEW", FileAttributes{0600, std::nullopt, std::nullopt}).ok());
  EXPECT_EQ(contentsOf(file("outside/precious")), "PRECIOUS");
  EXPECT_FALSE(fs::is_symlink(file("top/env")));
  EXPECT_EQ(contentsOf(file("top/env")), "NEW");
}

TEST_F(BeneathTest, AWriteRefusesATemporaryNameSomeoneElsePlanted) {
  fs::create_directory(temporaryPathFor(file("top/env")));  // unlinkat cannot remove it; O_EXCL refuses it
  EXPECT_FALSE(top().writeFile("env", "NEW", {}).ok());
  EXPECT_FALSE(fs::exists(file("top/env")));
}

TEST_F(BeneathTest, ReadingRefusesLinksAndFifos) {
  fs::create_symlink(file("outside/precious"), file("top/link"));
  EXPECT_FALSE(top().readFile("link").ok());
  ASSERT_EQ(::mkfifo(file("top/fifo").c_str(), 0600), 0);
  EXPECT_FALSE(top().readFile("fifo").ok());  // and does not block
  std::ofstream(file("top/plain")) << "TEXT";
  auto read = top().readFile("plain");
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(read->content, "TEXT");
  EXPECT_FALSE(top().readFile("plain", 2).ok());
}

TEST_F(BeneathTest, RemovingATreeUnlinksLinksWithoutEnteringThem) {
  fs::create_directories(file("top/tree/a/b"));
  fs::create_directory_symlink(file("outside"), file("top/tree/a/b/dirlink"));
  fs::create_symlink(file("outside/precious"), file("top/tree/filelink"));
  fs::create_directory_symlink(file("outside"), file("top/alone"));
  ASSERT_TRUE(top().removeTree("tree").ok());
  ASSERT_TRUE(top().removeTree("alone").ok());
  ASSERT_TRUE(top().removeTree("missing").ok());
  EXPECT_FALSE(fs::exists(fs::symlink_status(file("top/tree"))));
  EXPECT_FALSE(fs::exists(fs::symlink_status(file("top/alone"))));
  EXPECT_EQ(contentsOf(file("outside/precious")), "PRECIOUS");
}

TEST_F(BeneathTest, RemovalStopsAtItsDepth) {
  fs::create_directories(file("top/deep/1/2/3"));
  EXPECT_FALSE(top().removeTree("deep", 2).ok());
  EXPECT_TRUE(top().removeTree("deep", 8).ok());
}

TEST_F(BeneathTest, AFreshDirectoryMustBeNew) {
  ASSERT_TRUE(top().makeFreshDirectory("v", 0755).ok());
  EXPECT_FALSE(top().makeFreshDirectory("v", 0755).ok());
}

}  // namespace
}  // namespace revoca
