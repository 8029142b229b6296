#include "standalone/directory_output.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <vector>

#include "core/atomic_file.h"
#include "reconcilers/emqx_env.h"

namespace revoca {
namespace fs = std::filesystem;
namespace {

bool sameContent(const std::string& path, const std::string& content) {
  auto existing = readFile(path);
  return existing && *existing == content;
}

bool sameAttributes(const std::string& path, const FileAttributes& attributes) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return false;
  if ((info.st_mode & 07777) != static_cast<mode_t>(attributes.mode)) return false;
  if (attributes.uid && info.st_uid != static_cast<uid_t>(*attributes.uid)) return false;
  if (attributes.gid && info.st_gid != static_cast<gid_t>(*attributes.gid)) return false;
  return true;
}

Result<void> writeIfChanged(const std::string& path, const std::string& content, const FileAttributes& attributes) {
  if (sameContent(path, content) && sameAttributes(path, attributes)) return {};
  return writeFileAtomically(path, content, attributes);
}

Result<void> replaceSymlink(const std::string& target, const std::string& link) {
  // The temporary name of writeFileAtomically: one left by a kill is removed at the next start.
  std::string temporary = temporaryPathFor(link);
  ::unlink(temporary.c_str());
  if (::symlink(target.c_str(), temporary.c_str()) != 0) return makeError("symlink " + link + ": cannot create");
  if (::rename(temporary.c_str(), link.c_str()) != 0) {
    ::unlink(temporary.c_str());
    return makeError("rename " + link + ": cannot swap");
  }
  syncDirectory(fs::path(link).parent_path().string());
  return {};
}

// Every ..version-* directory but `keep`: the one replaced by the last swap,
// and any a kill left half-written or not yet removed.
void removeOtherVersions(const std::string& dir, const std::string& keep) {
  std::error_code ec;
  std::vector<fs::path> stale;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind("..version-", 0) == 0 && name != keep) stale.push_back(entry.path());
  }
  for (const auto& path : stale) fs::remove_all(path, ec);
}

}  // namespace

Result<std::string> DirectoryOutput::deploymentDirectory(const std::string& namespace_, const std::string& deployment) {
  std::string dir = directory_ + "/" + namespace_ + "/" + deployment;
  if (auto made = makeDirectories(dir, 0755); !made) return made.error();
  return dir;
}

Result<void> DirectoryOutput::publishSecret(const std::string& namespace_, const std::string& deployment,
                                            const SecretFiles& files) {
  auto dir = deploymentDirectory(namespace_, deployment);
  if (!dir) return dir.error();
  FileAttributes attributes{files.fileMode, std::nullopt, std::nullopt};
  if (files.ownership) {
    attributes.uid = files.ownership->uid;
    attributes.gid = files.ownership->gid;
  }
  auto pems = files.pems();
  if (!pems) return pems.error();
  const std::pair<const char*, const std::string*> entries[] = {
      {"cert.pem", &pems->certPem}, {"cert.key", &pems->keyPem}, {"ca-cert.pem", &files.caCertPem}};
  std::string data = *dir + "/..data";
  std::error_code ec;
  std::string current = fs::is_symlink(data, ec) ? fs::read_symlink(data, ec).string() : std::string();
  bool unchanged = !current.empty();
  for (const auto& [name, content] : entries)
    unchanged = unchanged && sameContent(data + "/" + name, *content) && sameAttributes(data + "/" + name, attributes);

  if (!unchanged) {
    std::string stamp = std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    std::string version = "..version-" + stamp;
    std::string versionDir = *dir + "/" + version;
    if (auto made = makeDirectories(versionDir, 0755); !made) return made;
    for (const auto& [name, content] : entries) {
      auto written = writeFileAtomically(versionDir + "/" + name, *content, attributes);
      if (!written) {
        fs::remove_all(versionDir);
        if (files.ownership && written.error().message.rfind("chown", 0) == 0)
          return makeError(written.error().message + "; spec.fileOwnership needs revoca to run as root, or remove it");
        return written;
      }
    }
    // The directory must be searchable by the file owner (EMQX runs as uid 1000).
    if (files.ownership) (void)::chown(versionDir.c_str(), files.ownership->uid, files.ownership->gid);
    if (auto swapped = replaceSymlink(version, data); !swapped) return swapped;
    current = version;
  }
  // Also when nothing changed: a kill between the swap and here left a
  // link missing (the first publish) or an old version behind.
  for (const auto& [name, content] : entries) {
    std::string link = *dir + "/" + name;
    if (fs::is_symlink(link, ec)) continue;
    if (auto linked = replaceSymlink(std::string("..data/") + name, link); !linked) return linked;
  }
  removeOtherVersions(*dir, current);
  return {};
}

Result<void> DirectoryOutput::publishCaBundle(const std::string& namespace_, const std::string& deployment,
                                              const std::string& caName, const std::string& pem) {
  auto dir = deploymentDirectory(namespace_, deployment);
  if (!dir) return dir.error();
  return writeIfChanged(*dir + "/" + caName + ".ca.pem", pem, FileAttributes{0644, std::nullopt, std::nullopt});
}

Result<std::map<std::string, std::string>> DirectoryOutput::publishEmqxEnv(const EmqxOutput& emqx) {
  auto dir = deploymentDirectory(emqx.namespace_, emqx.deployment);
  if (!dir) return dir.error();
  std::string path = *dir + "/emqx.env";
  if (auto written = writeIfChanged(path, formatEnvFile(emqx.env), FileAttributes{0644, std::nullopt, std::nullopt});
      !written)
    return written.error();
  return std::map<std::string, std::string>{{"envFile", path}};
}

}  // namespace revoca
