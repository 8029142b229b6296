#include "pki/digest.h"
#include "ports/outputs.h"

namespace revoca {

pki::Sha256 SecretFiles::certSha256() const { return certPem.empty() ? certDigest : pki::sha256(certPem); }

pki::Sha256 SecretFiles::keySha256() const { return keyPem.empty() ? keyDigest : pki::sha256(keyPem); }

Result<LeafPems> SecretFiles::pems() const {
  if (!certPem.empty()) return LeafPems{certPem, keyPem};
  if (!readPems) return makeError("the certificate of " + secretName + " is neither in memory nor readable");
  return readPems();
}

}  // namespace revoca
