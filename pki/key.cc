#include "pki/key.h"

#include <openssl/pem.h>

#include "pki/openssl_util.h"

namespace revoca::pki {
namespace {

const char* curveName(Curve curve) {
  switch (curve) {
    case Curve::P384: return "P-384";
    case Curve::P521: return "P-521";
    case Curve::P256: break;
  }
  return "P-256";
}

// Refuses to prompt: the default PEM callback would read a passphrase from
// the terminal, which must never happen inside the operator.
int noPassphrase(char*, int, int, void*) { return -1; }

}  // namespace

Result<PrivateKey> PrivateKey::generate(const KeySpec& spec) {
  EVP_PKEY* raw = nullptr;
  if (spec.type == KeyType::Rsa) {
    if (spec.rsaBits < 2048 || spec.rsaBits > 4096) {
      return makeError("RSA key size " + std::to_string(spec.rsaBits) +
                       " is not supported: use 2048 to 4096 bits (e.g. 2048, 3072 or 4096)");
    }
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(spec.rsaBits));
  } else {
    raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curveName(spec.curve));
  }
  if (raw == nullptr) return opensslFailure("generating a private key");
  return PrivateKey(std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free));
}

Result<PrivateKey> PrivateKey::fromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return opensslFailure("reading a private key");
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, noPassphrase, nullptr));
  // The reason says what is wrong with the PEM without repeating any of it.
  if (!key) return opensslFailure("not a PEM private key (or it is encrypted)");
  int id = EVP_PKEY_get_base_id(key.get());
  if (id != EVP_PKEY_EC && id != EVP_PKEY_RSA) {
    return makeError("private key type " + std::string(OBJ_nid2sn(id)) +
                     " is not supported: use an EC or RSA key");
  }
  return PrivateKey(std::shared_ptr<EVP_PKEY>(key.release(), EVP_PKEY_free));
}

std::string PrivateKey::toPem() const {
  // Secure-memory BIO: the key's bytes are cleansed when it is freed.
  BioPtr bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PKCS8PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr,
                                            nullptr) != 1) {
    opensslError();  // leave no stale error behind for the next caller
    return "";
  }
  return bioContents(bio.get());
}

std::string PrivateKey::publicKeyDer() const {
  return derOf(i2d_PUBKEY, key_.get());
}

}  // namespace revoca::pki
