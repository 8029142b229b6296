#pragma once
// Private keys: generation and PEM (PKCS#8) round trips, OpenSSL 3 EVP_PKEY
// behind an owning handle. Key bytes are never logged.
#include <memory>
#include <string>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace revoca::pki {

enum class KeyType { Ecdsa, Rsa };
enum class Curve { P256, P384, P521 };
enum class Digest { Sha256, Sha384, Sha512 };

struct KeySpec {
  KeyType type = KeyType::Ecdsa;
  Curve curve = Curve::P256;  // for Ecdsa
  int rsaBits = 2048;         // for Rsa: 2048 to 4096
};

class PrivateKey {
 public:
  static Result<PrivateKey> generate(const KeySpec& spec);
  static Result<PrivateKey> fromPem(const std::string& pem);

  std::string toPem() const;           // unencrypted PKCS#8 PEM
  std::string publicKeyDer() const;    // SubjectPublicKeyInfo DER
  EVP_PKEY* get() const { return key_.get(); }

 private:
  explicit PrivateKey(std::shared_ptr<EVP_PKEY> key) : key_(std::move(key)) {}
  std::shared_ptr<EVP_PKEY> key_;  // shared: EVP_PKEY is immutable once made
};

}  // namespace revoca::pki
