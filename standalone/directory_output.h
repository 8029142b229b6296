#pragma once
// OutputSink on OUTPUT/<namespace>/<deployment>/ for standalone mode.
//
// The three certificate files change together, the way kubelet updates a
// Secret volume: they are written into a fresh hidden directory, a `..data`
// symlink is swapped to it with one rename, and cert.pem, cert.key and
// ca-cert.pem are symlinks through `..data`. A reader never sees a new
// certificate beside an old key.
#include <string>

#include "reconcilers/ports.h"

namespace revoca {

class DirectoryOutput final : public OutputSink {
 public:
  explicit DirectoryOutput(std::string directory) : directory_(std::move(directory)) {}

  Result<void> publishSecret(const std::string& namespace_, const std::string& deployment,
                             const SecretFiles& files) override;
  Result<void> publishCaBundle(const std::string& namespace_, const std::string& deployment,
                               const std::string& caName, const std::string& pem) override;
  Result<std::map<std::string, std::string>> publishEmqxEnv(const EmqxOutput& emqx) override;

 private:
  Result<std::string> deploymentDirectory(const std::string& namespace_, const std::string& deployment);
  std::string directory_;
};

}  // namespace revoca
