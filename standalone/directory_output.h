#pragma once
// OutputSink on OUTPUT/<namespace>/<deployment>/ for standalone mode.
//
// The three certificate files change together, the way kubelet updates a
// Secret volume: they are written into a fresh hidden directory, a `..data`
// symlink is swapped to it with one rename, and cert.pem, cert.key and
// ca-cert.pem are symlinks through `..data`. A reader never sees a new
// certificate beside an old key.
//
// revoca runs as root here, and the broker's uid may own a deployment
// directory and owns each version directory: every entry is opened beneath
// OUTPUT through directory descriptors without following a link
// (core/beneath.h), and an entry of the wrong kind (a link where a directory
// or file belongs, a file where a link belongs, `..data` pointing anywhere
// but a `..version-<digits>` beside it) is refused with an error naming it,
// not written through, into or around.
#include <string>

#include "core/beneath.h"
#include "ports/outputs.h"

namespace revoca {

class DirectoryOutput final : public OutputSink {
 public:
  explicit DirectoryOutput(std::string directory) : directory_(std::move(directory)) {}

  // The owner and mode of cert.key as written.
  Result<std::optional<KeyFileAccess>> publishSecret(const std::string& namespace_, const std::string& deployment,
                                                     const SecretFiles& files) override;
  Result<void> publishCaBundle(const std::string& namespace_, const std::string& deployment,
                               const std::string& caName, const std::string& pem) override;
  // The env file's path, and the owner and mode of the cert.key beside it.
  Result<EmqxEnvFacts> publishEmqxEnv(const EmqxOutput& emqx) override;

 private:
  // OUTPUT/<namespace>/<deployment>, each component one plain name, made
  // when missing, opened without following a link.
  Result<BeneathDirectory> openDeployment(const std::string& namespace_, const std::string& deployment) const;
  std::string directory_;
};

}  // namespace revoca
