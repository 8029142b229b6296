#include "standalone/directory_output.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <string_view>

#include "reconcilers/emqx_env.h"

namespace revoca {
namespace {

constexpr std::string_view kVersionPrefix = "..version-";
constexpr const char* kData = "..data";
constexpr const char* kLinkedNames[] = {"cert.pem", "cert.key", "ca-cert.pem"};

Error notRevocas(const std::string& shown, const std::string& what) {
  return makeError(shown + " in the output directory is " + what +
                   ", not revoca's: remove it; revoca writes only files and directories it created");
}

// A directory that would not open: refused when something else sits under
// its name, else the system's error (a permission, a full disk...).
Error refusalOrError(const BeneathDirectory& parent, const std::string& name, const Error& error) {
  EntryKind kind = parent.kindOf(name);
  if (kind == EntryKind::Symlink || kind == EntryKind::Regular || kind == EntryKind::Other)
    return notRevocas(parent.shownChild(name), describe(kind));
  return error;
}

Result<void> checkPlainName(const char* what, const std::string& name) {
  if (isPlainName(name)) return {};
  return makeError(std::string(what) + " \"" + name +
                   "\" is not one plain path component (empty, \".\", \"..\", or holds '/' or NUL): "
                   "revoca writes only beneath OUTPUT/<namespace>/<deployment>/");
}

// The names revoca gives its version directories: "..version-<digits>".
bool isVersionName(const std::string& name) {
  return name.size() > kVersionPrefix.size() && name.compare(0, kVersionPrefix.size(), kVersionPrefix) == 0 &&
         name.find_first_not_of("0123456789", kVersionPrefix.size()) == std::string::npos;
}

bool sameAttributes(const struct stat& info, const FileAttributes& attributes) {
  if ((info.st_mode & 07777) != static_cast<mode_t>(attributes.mode)) return false;
  if (attributes.uid && info.st_uid != static_cast<uid_t>(*attributes.uid)) return false;
  if (attributes.gid && info.st_gid != static_cast<gid_t>(*attributes.gid)) return false;
  return true;
}

bool sameFile(const BeneathDirectory& dir, const std::string& name, const std::string& content,
              const FileAttributes& attributes) {
  auto file = dir.readFile(name);
  return file && file->content == content && sameAttributes(file->info, attributes);
}

// emqx.env and <ca>.ca.pem: a regular file revoca replaces whole. A link,
// a directory or a special file under the name is not revoca's.
Result<void> writeIfChanged(const BeneathDirectory& dir, const std::string& name, const std::string& content,
                            const FileAttributes& attributes) {
  EntryKind kind = dir.kindOf(name);
  if (kind != EntryKind::Missing && kind != EntryKind::Regular) return notRevocas(dir.shownChild(name), describe(kind));
  if (kind == EntryKind::Regular && sameFile(dir, name, content, attributes)) return {};
  return dir.writeFile(name, content, attributes);
}

// cert.pem, cert.key and ca-cert.pem: missing (a first publish, or a kill
// before the links were made) or revoca's link through ..data.
Result<void> checkLinkedName(const BeneathDirectory& dir, const std::string& name) {
  EntryKind kind = dir.kindOf(name);
  if (kind == EntryKind::Missing) return {};
  if (kind != EntryKind::Symlink) return notRevocas(dir.shownChild(name), describe(kind));
  auto target = dir.readLink(name);
  if (!target) return target.error();
  if (*target != std::string(kData) + "/" + name)
    return notRevocas(dir.shownChild(name), "a symbolic link to \"" + *target + "\"");
  return {};
}

// The version ..data names: "" when there is none yet.
Result<std::string> currentVersion(const BeneathDirectory& dir) {
  EntryKind kind = dir.kindOf(kData);
  if (kind == EntryKind::Missing) return std::string();
  if (kind != EntryKind::Symlink) return notRevocas(dir.shownChild(kData), describe(kind));
  auto target = dir.readLink(kData);
  if (!target) return target.error();
  if (!isVersionName(*target)) return notRevocas(dir.shownChild(kData), "a symbolic link to \"" + *target + "\"");
  return *target;
}

// Every ..version-* entry but `keep`: the one replaced by the last swap,
// and any a kill left half-written or not yet removed. Removed without
// following a link: an entry swapped for one loses the link, not its target.
void removeOtherVersions(const BeneathDirectory& dir, const std::string& keep) {
  auto names = dir.list();
  if (!names) return;
  for (const auto& name : *names) {
    if (name.rfind(kVersionPrefix, 0) != 0 || name == keep) continue;
    if (auto removed = dir.removeTree(name); !removed)
      spdlog::warn("output: leaving {}: {}", dir.shownChild(name), removed.error().message);
  }
}

// The owner and mode of cert.key in the version directory `version`, for
// the status: a broker running as another uid cannot read it, and some
// (RabbitMQ) then reset every TLS connection without a word.
std::optional<KeyFileAccess> keyFileAccess(const BeneathDirectory& dir, const std::string& version) {
  auto live = dir.openDirectory(version);
  if (!live) return std::nullopt;
  auto info = live->statOf("cert.key");
  if (!info) return std::nullopt;
  return KeyFileAccess{info->st_uid, info->st_gid, static_cast<unsigned>(info->st_mode & 07777)};
}

}  // namespace

Result<BeneathDirectory> DirectoryOutput::openDeployment(const std::string& namespace_,
                                                         const std::string& deployment) const {
  if (auto plain = checkPlainName("namespace", namespace_); !plain) return plain.error();
  if (auto plain = checkPlainName("deployment", deployment); !plain) return plain.error();
  // OUTPUT itself is the operator's choice: made and opened by path, a link followed.
  auto root = BeneathDirectory::open(directory_, "");
  if (!root) {
    if (auto made = makeDirectories(directory_, 0755); !made) return made.error();
    root = BeneathDirectory::open(directory_, "");
    if (!root) return root.error();
  }
  auto tenant = root->openDirectory(namespace_, 0755);
  if (!tenant) return refusalOrError(*root, namespace_, tenant.error());
  auto dir = tenant->openDirectory(deployment, 0755);
  if (!dir) return refusalOrError(*tenant, deployment, dir.error());
  return dir;
}

Result<std::optional<KeyFileAccess>> DirectoryOutput::publishSecret(const std::string& namespace_,
                                                                    const std::string& deployment,
                                                                    const SecretFiles& files) {
  auto dir = openDeployment(namespace_, deployment);
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

  // Before anything is written: every entry the swap replaces or a reader
  // follows is revoca's.
  for (const char* name : kLinkedNames)
    if (auto checked = checkLinkedName(*dir, name); !checked) return checked.error();
  auto current = currentVersion(*dir);
  if (!current) return current.error();

  // The live version's files, read through no-follow opens beneath the
  // deployment directory; anything unreadable or different is a new version.
  bool unchanged = false;
  if (!current->empty()) {
    if (auto live = dir->openDirectory(*current)) {
      unchanged = true;
      for (const auto& [name, content] : entries)
        unchanged = unchanged && sameFile(*live, name, *content, attributes);
    }
  }

  if (!unchanged) {
    std::string stamp = std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    std::string version = std::string(kVersionPrefix) + stamp;
    auto versionDir = dir->makeFreshDirectory(version, 0755);
    if (!versionDir) return versionDir.error();
    for (const auto& [name, content] : entries) {
      auto written = versionDir->writeFile(name, *content, attributes);
      if (!written) {
        (void)dir->removeTree(version);
        if (files.ownership && written.error().message.rfind("chown", 0) == 0)
          return makeError(written.error().message + "; spec.fileOwnership needs revoca to run as root, or remove it");
        return written.error();
      }
    }
    // The directory must be searchable by the file owner (EMQX runs as uid
    // 1000): changed through its descriptor, never by a path.
    if (files.ownership) (void)versionDir->chown(files.ownership->uid, files.ownership->gid);
    if (auto swapped = dir->replaceSymlink(kData, version); !swapped) return swapped.error();
    *current = version;
  }
  // Also when nothing changed: a kill between the swap and here left a
  // link missing (the first publish) or an old version behind.
  for (const char* name : kLinkedNames) {
    if (dir->kindOf(name) != EntryKind::Missing) continue;
    if (auto linked = dir->replaceSymlink(name, std::string(kData) + "/" + name); !linked) return linked.error();
  }
  removeOtherVersions(*dir, *current);
  return keyFileAccess(*dir, *current);
}

Result<void> DirectoryOutput::publishCaBundle(const std::string& namespace_, const std::string& deployment,
                                              const std::string& caName, const std::string& pem) {
  if (auto plain = checkPlainName("CA name", caName); !plain) return plain;
  auto dir = openDeployment(namespace_, deployment);
  if (!dir) return dir.error();
  return writeIfChanged(*dir, caName + ".ca.pem", pem, FileAttributes{0644, std::nullopt, std::nullopt});
}

Result<EmqxEnvFacts> DirectoryOutput::publishEmqxEnv(const EmqxOutput& emqx) {
  auto dir = openDeployment(emqx.namespace_, emqx.deployment);
  if (!dir) return dir.error();
  if (auto written = writeIfChanged(*dir, "emqx.env", formatEnvFile(emqx.env),
                                    FileAttributes{0644, std::nullopt, std::nullopt});
      !written)
    return written.error();
  EmqxEnvFacts facts;
  facts.envFile = directory_ + "/" + emqx.namespace_ + "/" + emqx.deployment + "/emqx.env";
  if (auto current = currentVersion(*dir); current && !current->empty()) facts.keyFile = keyFileAccess(*dir, *current);
  return facts;
}

}  // namespace revoca
