#include "standalone/directory_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "reconcilers/emqx_env.h"
#include "tests/standalone/file_probes.h"
#include "testing/temp_dir.h"

namespace revoca {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::contentsOf;
using testing::modeOf;
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
  EXPECT_EQ(contentsOf(deployment() + "/cert.pem"), "CERT one\n");
  EXPECT_EQ(contentsOf(deployment() + "/cert.key"), "KEY one\n");
  EXPECT_EQ(contentsOf(deployment() + "/ca-cert.pem"), "CA one\n");
}

TEST_F(DirectoryOutputTest, NewContentSwapsDataAndRemovesTheOldVersion) {
  publish(files("one"));
  std::string first = dataTarget();
  publish(files("two"));
  std::string second = dataTarget();
  EXPECT_NE(second, first);
  EXPECT_FALSE(fs::exists(deployment() + "/" + first));
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{second});
  EXPECT_EQ(contentsOf(deployment() + "/cert.pem"), "CERT two\n");
  EXPECT_EQ(contentsOf(deployment() + "/cert.key"), "KEY two\n");
  EXPECT_EQ(contentsOf(deployment() + "/ca-cert.pem"), "CA two\n");
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
  EXPECT_EQ(contentsOf(deployment() + "/cert.pem"), "CERT one\n");
  EXPECT_EQ(contentsOf(deployment() + "/ca-cert.pem"), "CA one\nCA two\n");
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
  EXPECT_EQ(contentsOf(deployment() + "/cert.key"), "KEY one\n");
  EXPECT_EQ(contentsOf(deployment() + "/ca-cert.pem"), "CA one\n");
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
  EXPECT_EQ(contentsOf(deployment() + "/cert.pem"), "CERT two\n");
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
  EXPECT_EQ(*published, (KeyFileAccess{1000, 1000, 0400}));
}

TEST_F(DirectoryOutputTest, ThePublishersAnswerTheOwnerAndModeCertKeyWasWrittenWith) {
  KeyFileAccess self{::geteuid(), ::getegid(), 0440};
  auto published = output.publishSecret("default", "emqx", files("one", 0440));
  ASSERT_TRUE(published.ok()) << published.error().message;
  EXPECT_EQ(*published, self);
  // Unchanged, nothing is written, and the answer is the same.
  EXPECT_EQ(*output.publishSecret("default", "emqx", files("one", 0440)), *published);

  auto env = output.publishEmqxEnv(EmqxOutput{"default", "emqx", "emqx", "server-cert", "/etc/emqx-certs", false, RotationPolicy::Reload, {}});
  ASSERT_TRUE(env.ok()) << env.error().message;
  EXPECT_EQ(env->keyFile, self);
  // A deployment directory with no certificate yet: no facts about one.
  auto bare = output.publishEmqxEnv(EmqxOutput{"default", "bare", "bare", "server-cert", "/etc/emqx-certs", false, RotationPolicy::Reload, {}});
  ASSERT_TRUE(bare.ok()) << bare.error().message;
  EXPECT_FALSE(bare->keyFile.has_value());
}

EmqxOutput emqxOutput(const std::vector<EnvVar>& env) {
  return EmqxOutput{"default", "emqx", "emqx", "server-cert", "/etc/emqx-certs", false, RotationPolicy::Reload, env};
}

TEST_F(DirectoryOutputTest, EmqxEnvIsWrittenAsAnEnvFile) {
  std::vector<EnvVar> env{{"EMQX_LISTENERS__SSL__DEFAULT__BIND", "\"0.0.0.0:8883\""},
                          {"EMQX_CRL_CACHE__REFRESH_INTERVAL", "5m"}};
  ASSERT_TRUE(output.publishEmqxEnv(emqxOutput(env)).ok());
  std::string path = deployment() + "/emqx.env";
  EXPECT_EQ(contentsOf(path), formatEnvFile(env));
  EXPECT_THAT(contentsOf(path), HasSubstr("\nEMQX_LISTENERS__SSL__DEFAULT__BIND=\"0.0.0.0:8883\"\n"));
  EXPECT_EQ(modeOf(path), 0644);

  ino_t inode = statOf(path).st_ino;
  ASSERT_TRUE(output.publishEmqxEnv(emqxOutput(env)).ok());
  EXPECT_EQ(statOf(path).st_ino, inode);  // unchanged: not rewritten
  env.push_back({"EMQX_CRL_CACHE__HTTP_TIMEOUT", "15s"});
  ASSERT_TRUE(output.publishEmqxEnv(emqxOutput(env)).ok());
  EXPECT_THAT(contentsOf(path), HasSubstr("EMQX_CRL_CACHE__HTTP_TIMEOUT=15s\n"));
}

TEST_F(DirectoryOutputTest, CaBundleIsWrittenPerCa) {
  ASSERT_TRUE(output.publishCaBundle("default", "emqx", "mqtt-ca", "PEM\n").ok());
  EXPECT_EQ(contentsOf(deployment() + "/mqtt-ca.ca.pem"), "PEM\n");
  EXPECT_EQ(modeOf(deployment() + "/mqtt-ca.ca.pem"), 0644);
}

TEST_F(DirectoryOutputTest, DeploymentsAndNamespacesAreSeparateDirectories) {
  ASSERT_TRUE(output.publishSecret("default", "emqx", files("a")).ok());
  ASSERT_TRUE(output.publishSecret("default", "emqx-2", files("b")).ok());
  ASSERT_TRUE(output.publishSecret("prod", "emqx", files("c")).ok());
  EXPECT_EQ(contentsOf(dir.file("out/default/emqx/cert.pem")), "CERT a\n");
  EXPECT_EQ(contentsOf(dir.file("out/default/emqx-2/cert.pem")), "CERT b\n");
  EXPECT_EQ(contentsOf(dir.file("out/prod/emqx/cert.pem")), "CERT c\n");
}


// --- nothing under OUTPUT steers where revoca writes ------------------------------------------
// The broker's uid may own its deployment directory (and owns each version
// directory): whatever it plants there, revoca (root) writes, chowns and
// deletes nothing outside, and says which entry is not its own.

class OutputLinksTest : public DirectoryOutputTest {
 protected:
  // A directory outside OUTPUT with a file in it, whose content must survive.
  std::string outside() {
    fs::create_directories(dir.file("outside"));
    std::ofstream(dir.file("outside/precious")) << "PRECIOUS\n";
    return dir.file("outside");
  }
  void expectOutsideUntouched() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir.file("outside"))) names.push_back(entry.path().filename());
    EXPECT_EQ(names, std::vector<std::string>{"precious"});
    EXPECT_EQ(contentsOf(dir.file("outside/precious")), "PRECIOUS\n");
  }
  template <typename T>
  void expectRefused(const Result<T>& result, const std::string& shown) {
    ASSERT_FALSE(result.ok()) << shown;
    EXPECT_THAT(result.error().message, HasSubstr(shown + " in the output directory is "));
    EXPECT_THAT(result.error().message, HasSubstr("not revoca's: remove it"));
  }
  void expectEverythingRefused(const std::string& shown) {
    expectRefused(output.publishSecret("default", "emqx", files("one")), shown);
    expectRefused(output.publishCaBundle("default", "emqx", "mqtt-ca", "PEM\n"), shown);
    auto env = output.publishEmqxEnv(emqxOutput({{"A", "1"}}));
    ASSERT_FALSE(env.ok());
    EXPECT_THAT(env.error().message, HasSubstr(shown + " in the output directory is "));
  }
};

TEST_F(OutputLinksTest, ASymlinkedDeploymentDirectoryIsRefusedAndNothingIsWrittenThroughIt) {
  std::string target = outside();
  fs::create_directories(dir.file("out/default"));
  fs::create_directory_symlink(target, deployment());
  expectEverythingRefused("default/emqx");
  expectOutsideUntouched();
  EXPECT_EQ(fs::read_symlink(deployment()), target);  // refused, not repaired
}

TEST_F(OutputLinksTest, ASymlinkedNamespaceDirectoryIsRefusedAndNothingIsWrittenThroughIt) {
  std::string target = outside();
  fs::create_directories(dir.file("out"));
  fs::create_directory_symlink(target, dir.file("out/default"));
  expectEverythingRefused("default");
  expectOutsideUntouched();
}

TEST_F(OutputLinksTest, AFileWhereTheDeploymentDirectoryBelongsIsRefused) {
  fs::create_directories(dir.file("out/default"));
  std::ofstream(deployment()) << "not a directory\n";
  expectEverythingRefused("default/emqx");
  EXPECT_EQ(contentsOf(deployment()), "not a directory\n");
}

TEST_F(OutputLinksTest, ARegularCertPemIsRefusedBeforeAnythingIsWritten) {
  fs::create_directories(deployment());
  std::ofstream(deployment() + "/cert.pem") << "MINE\n";
  auto published = output.publishSecret("default", "emqx", files("one"));
  expectRefused(published, "default/emqx/cert.pem");
  EXPECT_THAT(published.error().message, HasSubstr("a regular file"));
  EXPECT_EQ(contentsOf(deployment() + "/cert.pem"), "MINE\n");
  EXPECT_FALSE(fs::exists(deployment() + "/..data"));
  EXPECT_TRUE(versionDirectories().empty());
}

TEST_F(OutputLinksTest, AForeignLinkForAKeyFileIsRefusedAndItsTargetUntouched) {
  outside();
  publish(files("one"));
  fs::remove(deployment() + "/cert.key");
  fs::create_symlink(dir.file("outside/precious"), deployment() + "/cert.key");
  auto published = output.publishSecret("default", "emqx", files("two"));
  expectRefused(published, "default/emqx/cert.key");
  EXPECT_THAT(published.error().message, HasSubstr(dir.file("outside/precious")));
  expectOutsideUntouched();
  EXPECT_EQ(contentsOf(deployment() + "/cert.pem"), "CERT one\n");  // the live version is left as it was
}

// Refused rather than repaired: revoca made ..data point at its own version,
// so a ..data pointing elsewhere was put there by someone else, and an
// operator should hear of it (a silent repair would hide the attempt).
TEST_F(OutputLinksTest, DataPointingOutsideIsRefusedAndNotFollowed) {
  std::string target = outside();
  publish(files("one"));
  std::string live = dataTarget();
  for (const std::string& elsewhere : {target, std::string("../../../outside"), std::string("..version-1/../..")}) {
    fs::remove(deployment() + "/..data");
    fs::create_directory_symlink(elsewhere, deployment() + "/..data");
    auto published = output.publishSecret("default", "emqx", files("two"));
    expectRefused(published, "default/emqx/..data");
    EXPECT_THAT(published.error().message, HasSubstr("a symbolic link to \"" + elsewhere + "\""));
    expectOutsideUntouched();
    EXPECT_EQ(versionDirectories(), std::vector<std::string>{live});  // nothing written, nothing removed
  }
  fs::remove(deployment() + "/..data");
  fs::create_directory(deployment() + "/..data");
  expectRefused(output.publishSecret("default", "emqx", files("two")), "default/emqx/..data");
}

TEST_F(OutputLinksTest, AVersionDirectorySwappedForALinkIsRemovedWithoutFollowingIt) {
  std::string target = outside();
  publish(files("one"));
  std::string live = dataTarget();
  fs::create_directory_symlink(target, deployment() + "/..version-5");
  publish(files("one"));  // unchanged: only the cleanup runs
  EXPECT_FALSE(fs::exists(fs::symlink_status(deployment() + "/..version-5")));
  expectOutsideUntouched();
  fs::create_directory_symlink(target, deployment() + "/..version-6");
  publish(files("two"));  // changed: the swap, then the cleanup of the old version and the link
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{dataTarget()});
  expectOutsideUntouched();
  EXPECT_NE(dataTarget(), live);
}

// The live version swapped for a link to a copy of it: the "unchanged?"
// comparison does not read through the link, so revoca writes a version of
// its own, and the copy outside survives the cleanup.
TEST_F(OutputLinksTest, TheLiveVersionSwappedForALinkIsNotReadThroughNorFollowedByTheCleanup) {
  publish(files("one"));
  std::string live = dataTarget();
  fs::rename(deployment() + "/" + live, dir.file("outside"));
  fs::create_directory_symlink(dir.file("outside"), deployment() + "/" + live);
  publish(files("one"));
  EXPECT_NE(dataTarget(), live);
  EXPECT_EQ(versionDirectories(), std::vector<std::string>{dataTarget()});
  EXPECT_EQ(contentsOf(deployment() + "/cert.key"), "KEY one\n");
  EXPECT_EQ(contentsOf(dir.file("outside/cert.key")), "KEY one\n");
  EXPECT_EQ(contentsOf(dir.file("outside/cert.pem")), "CERT one\n");
}

// Deeper in a version directory (the broker's uid owns it): a link to a
// directory is unlinked, what it points at is not entered.
TEST_F(OutputLinksTest, LinksInsideAnOldVersionAreNotFollowedByTheCleanup) {
  std::string target = outside();
  publish(files("one"));
  std::string old = deployment() + "/" + dataTarget();
  fs::create_directories(old + "/sub/deeper");
  fs::create_directory_symlink(target, old + "/sub/deeper/link");
  fs::create_symlink(target + "/precious", old + "/file-link");
  publish(files("two"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(old)));
  expectOutsideUntouched();
}

TEST_F(OutputLinksTest, AnEnvFileLinkedOutsideIsRefusedAndTheOutsideFileIsUnchanged) {
  outside();
  fs::create_directories(deployment());
  fs::create_symlink(dir.file("outside/precious"), deployment() + "/emqx.env");
  auto env = output.publishEmqxEnv(emqxOutput({{"A", "1"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_THAT(env.error().message, HasSubstr("default/emqx/emqx.env in the output directory is a symbolic link"));
  EXPECT_THAT(env.error().message, HasSubstr("remove it; revoca writes only files and directories it created"));
  expectOutsideUntouched();
  EXPECT_TRUE(fs::is_symlink(deployment() + "/emqx.env"));
}

TEST_F(OutputLinksTest, ACaBundleNameThatIsALinkOrADirectoryIsRefused) {
  outside();
  fs::create_directories(deployment());
  fs::create_symlink(dir.file("outside/precious"), deployment() + "/mqtt-ca.ca.pem");
  expectRefused(output.publishCaBundle("default", "emqx", "mqtt-ca", "PEM\n"), "default/emqx/mqtt-ca.ca.pem");
  expectOutsideUntouched();
  fs::create_directory(deployment() + "/other-ca.ca.pem");
  auto published = output.publishCaBundle("default", "emqx", "other-ca", "PEM\n");
  expectRefused(published, "default/emqx/other-ca.ca.pem");
  EXPECT_THAT(published.error().message, HasSubstr("a directory"));
}

TEST_F(OutputLinksTest, NamesThatAreNotOnePlainComponentAreRefused) {
  for (const std::string& name : {std::string(".."), std::string("."), std::string("a/b"), std::string(""),
                                  std::string("a\0b", 3), std::string("../outside")}) {
    auto asNamespace = output.publishSecret(name, "emqx", files("one"));
    ASSERT_FALSE(asNamespace.ok()) << name;
    EXPECT_THAT(asNamespace.error().message, HasSubstr("not one plain path component"));
    auto asDeployment = output.publishSecret("default", name, files("one"));
    ASSERT_FALSE(asDeployment.ok()) << name;
    EXPECT_THAT(asDeployment.error().message, HasSubstr("deployment"));
    EXPECT_FALSE(output.publishEmqxEnv(EmqxOutput{name, "emqx", "emqx", "s", "/c", false, RotationPolicy::Reload, {}}).ok()) << name;
    EXPECT_FALSE(output.publishCaBundle("default", "emqx", name, "PEM\n").ok()) << name;
  }
  EXPECT_FALSE(fs::exists(dir.file("emqx")));
  EXPECT_FALSE(fs::exists(dir.file("outside")));
  EXPECT_FALSE(fs::exists(dir.file("out/default/emqx/cert.pem")));
}

}  // namespace
}  // namespace revoca
