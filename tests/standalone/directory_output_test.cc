#include "standalone/directory_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "reconcilers/emqx_env.h"
#include "tests/standalone/temp_dir.h"

namespace revoca {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::modeOf;
using testing::slurp;
using testing::TempDir;

const char* const kNames[] = {"cert.pem", "cert.key", "ca-cert.pem"};

SecretFiles files(const std::string& tag, int mode = 0400) {
  SecretFiles f;
  f.certPem = "CERT " + tag + "\n";
  f.keyPem = "KEY " + tag + "\n";
  f.caCertPem = "CA " + tag + "\n";
  f.fileMode = mode;
  return f;
}

struct stat statOf(const std::string& path) {
  struct stat info {};
  ::stat(path.c_str(), &info);
  return info;
}

class DirectoryOutputTest : public ::testing::Test {
 protected:
  std::string deployment() const { return dir.file("out/default/emqx"); }
  std::string dataTarget() const { return fs::read_symlink(deployment() + "/..data").string(); }
  std::vector<std::string> versionDirectories() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(deployment()))
      if (entry.path().filename().string().rfind("..version-", 0) == 0) out.push_back(entry.path().filename().string());
    return out;
  }
  void publish(const SecretFiles& f) {
    auto published = output.publishSecret("default", "emqx", f);
    ASSERT_TRUE(published.ok()) << published.error().message;
  }

  TempDir dir;
  DirectoryOutput output{dir.file("out")};
};

TEST_F(DirectoryOutputTest, PublishesTheThreeFilesAsSymlinksThroughData) {
  publish(files("one"));
  ASSERT_TRUE(fs::is_symlink(deployment() + "/..data"));
  std::string version = dataTarget();
  EXPECT_EQ(version.rfind("..version-", 0), 0u) << version;
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{version});
  for (const char* name : kNames) {
    std::string link = deployment() + "/" + name;
    ASSERT_TRUE(fs::is_symlink(link)) << name;
    EXPECT_EQ(fs::read_symlink(link).string(), std::string("..data/") + name);
    EXPECT_EQ(modeOf(link), 0400) << name;  // through the link: the file's own mode
  }
  EXPECT_EQ(slurp(deployment() + "/cert.pem"), "CERT one\n");
  EXPECT_EQ(slurp(deployment() + "/cert.key"), "KEY one\n");
  EXPECT_EQ(slurp(deployment() + "/ca-cert.pem"), "CA one\n");
}

TEST_F(DirectoryOutputTest, NewContentSwapsDataAndRemovesTheOldVersion) {
  publish(files("one"));
  std::string first = dataTarget();
  publish(files("two"));
  std::string second = dataTarget();
  EXPECT_NE(second, first);
  EXPECT_FALSE(fs::exists(deployment() + "/" + first));
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{second});
  EXPECT_EQ(slurp(deployment() + "/cert.pem"), "CERT two\n");
  EXPECT_EQ(slurp(deployment() + "/cert.key"), "KEY two\n");
  EXPECT_EQ(slurp(deployment() + "/ca-cert.pem"), "CA two\n");
  for (const char* name : kNames) EXPECT_TRUE(fs::is_symlink(deployment() + "/" + name)) << name;
  for (const auto& entry : fs::directory_iterator(deployment()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp"), std::string::npos) << entry.path();
}

TEST_F(DirectoryOutputTest, OneChangedFileStillSwapsAllThreeTogether) {
  publish(files("one"));
  std::string first = dataTarget();
  SecretFiles changed = files("one");
  changed.caCertPem = "CA one\nCA two\n";  // a CA rotation: only the bundle changes
  publish(changed);
  EXPECT_NE(dataTarget(), first);
  EXPECT_EQ(slurp(deployment() + "/cert.pem"), "CERT one\n");
  EXPECT_EQ(slurp(deployment() + "/ca-cert.pem"), "CA one\nCA two\n");
}

TEST_F(DirectoryOutputTest, UnchangedContentIsNotRewritten) {
  publish(files("one"));
  std::string first = dataTarget();
  struct stat before = statOf(deployment() + "/cert.pem");
  publish(files("one"));
  EXPECT_EQ(dataTarget(), first);
  struct stat after = statOf(deployment() + "/cert.pem");
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(versionDirectories().size(), 1u);
}

// A kill between the first swap of ..data and the links: the next pass,
// with the same certificate, makes the links instead of finding nothing to do.
TEST_F(DirectoryOutputTest, LinksAKillLeftUnmadeAreMadeWhenNothingChanged) {
  publish(files("one"));
  std::string first = dataTarget();
  fs::remove(deployment() + "/cert.key");
  fs::remove(deployment() + "/ca-cert.pem");
  publish(files("one"));
  EXPECT_EQ(dataTarget(), first);
  EXPECT_EQ(slurp(deployment() + "/cert.key"), "KEY one\n");
  EXPECT_EQ(slurp(deployment() + "/ca-cert.pem"), "CA one\n");
}

// A kill before the swap leaves a half-written version, after it the
// replaced one: neither outlives the next pass, changed or not.
TEST_F(DirectoryOutputTest, VersionsAKillLeftBehindAreRemoved) {
  publish(files("one"));
  std::string live = dataTarget();
  fs::create_directory(deployment() + "/..version-1");
  std::ofstream(deployment() + "/..version-1/cert.key.tmp-42") << "KEY half";
  fs::create_directory(deployment() + "/..version-2");
  publish(files("one"));
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{live});
  fs::create_directory(deployment() + "/..version-3");
  publish(files("two"));
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{dataTarget()});
  EXPECT_EQ(slurp(deployment() + "/cert.pem"), "CERT two\n");
}

TEST_F(DirectoryOutputTest, ModeChangeIsANewVersion) {
  publish(files("one", 0400));
  std::string first = dataTarget();
  publish(files("one", 0440));
  EXPECT_NE(dataTarget(), first);
  for (const char* name : kNames) EXPECT_EQ(modeOf(deployment() + "/" + name), 0440) << name;
}

TEST_F(DirectoryOutputTest, OwnershipIsAppliedToFilesAndTheirDirectory) {
  SecretFiles owned = files("one", 0400);
  owned.ownership = FileOwnership{1000, 1000};
  auto published = output.publishSecret("default", "emqx", owned);
  if (::geteuid() != 0) {
    // Only root may give files away: the error says what to do.
    ASSERT_FALSE(published.ok());
    EXPECT_THAT(published.error().message, HasSubstr("spec.fileOwnership"));
    EXPECT_TRUE(!fs::exists(deployment()) || versionDirectories().empty());
    return;
  }
  ASSERT_TRUE(published.ok()) << published.error().message;
  for (const char* name : kNames) {
    struct stat info = statOf(deployment() + "/" + name);
    EXPECT_EQ(info.st_uid, 1000u) << name;
    EXPECT_EQ(info.st_gid, 1000u) << name;
  }
  struct stat version = statOf(deployment() + "/" + dataTarget());
  EXPECT_EQ(version.st_uid, 1000u);
  // Same content and owner: nothing to do.
  std::string first = dataTarget();
  ASSERT_TRUE(output.publishSecret("default", "emqx", owned).ok());
  EXPECT_EQ(dataTarget(), first);
}

EmqxOutput emqxOutput(const std::vector<EnvVar>& env) {
  return EmqxOutput{"default", "emqx", "emqx", "server-cert", "/etc/emqx-certs", false, env};
}

TEST_F(DirectoryOutputTest, EmqxEnvIsWrittenAsAnEnvFile) {
  std::vector<EnvVar> env{{"EMQX_LISTENERS__SSL__DEFAULT__BIND", "\"0.0.0.0:8883\""},
                          {"EMQX_CRL_CACHE__REFRESH_INTERVAL", "5m"}};
  ASSERT_TRUE(output.publishEmqxEnv(emqxOutput(env)).ok());
  std::string path = deployment() + "/emqx.env";
  EXPECT_EQ(slurp(path), formatEnvFile(env));
  EXPECT_THAT(slurp(path), HasSubstr("\nEMQX_LISTENERS__SSL__DEFAULT__BIND=\"0.0.0.0:8883\"\n"));
  EXPECT_EQ(modeOf(path), 0644);

  ino_t inode = statOf(path).st_ino;
  ASSERT_TRUE(output.publishEmqxEnv(emqxOutput(env)).ok());
  EXPECT_EQ(statOf(path).st_ino, inode);  // unchanged: not rewritten
  env.push_back({"EMQX_CRL_CACHE__HTTP_TIMEOUT", "15s"});
  ASSERT_TRUE(output.publishEmqxEnv(emqxOutput(env)).ok());
  EXPECT_THAT(slurp(path), HasSubstr("EMQX_CRL_CACHE__HTTP_TIMEOUT=15s\n"));
}

TEST_F(DirectoryOutputTest, CaBundleIsWrittenPerCa) {
  ASSERT_TRUE(output.publishCaBundle("default", "emqx", "mqtt-ca", "PEM\n").ok());
  EXPECT_EQ(slurp(deployment() + "/mqtt-ca.ca.pem"), "PEM\n");
  EXPECT_EQ(modeOf(deployment() + "/mqtt-ca.ca.pem"), 0644);
}

TEST_F(DirectoryOutputTest, DeploymentsAndNamespacesAreSeparateDirectories) {
  ASSERT_TRUE(output.publishSecret("default", "emqx", files("a")).ok());
  ASSERT_TRUE(output.publishSecret("default", "emqx-2", files("b")).ok());
  ASSERT_TRUE(output.publishSecret("prod", "emqx", files("c")).ok());
  EXPECT_EQ(slurp(dir.file("out/default/emqx/cert.pem")), "CERT a\n");
  EXPECT_EQ(slurp(dir.file("out/default/emqx-2/cert.pem")), "CERT b\n");
  EXPECT_EQ(slurp(dir.file("out/prod/emqx/cert.pem")), "CERT c\n");
}

}  // namespace
}  // namespace revoca
