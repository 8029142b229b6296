#include "pki/signature.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "pki/openssl_util.h"

namespace revoca::pki {

namespace {

// The responder signs answer after answer with the same CA key: a context
// set up once per thread and key, then copied for each signature, saves
// EVP_DigestSignInit's provider fetch and key checks (43k instructions of
// a 445k nonce answer, callgrind). The copy shares the key; the prepared
// context holds a reference to it, so its address cannot be reused while
// it is remembered here.
struct PreparedSigner {
  const EVP_PKEY* key = nullptr;
  Digest digest{};
  OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx{nullptr};
  std::string algorithmDer;
};

Result<const PreparedSigner*> preparedSigner(const PrivateKey& key, Digest digest, const std::string& what) {
  thread_local PreparedSigner prepared;
  if (prepared.ctx && prepared.key == key.get() && prepared.digest == digest) return &prepared;
  OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* keyContext = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &keyContext, evpDigest(digest), nullptr, key.get()) != 1)
    return opensslFailure(what);
  // The provider's own AlgorithmIdentifier for this key and digest (what
  // ASN1_item_sign_ctx asks for, too).
  unsigned char algorithm[128];
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_SIGNATURE_PARAM_ALGORITHM_ID, algorithm, sizeof algorithm),
      OSSL_PARAM_construct_end()};
  if (EVP_PKEY_CTX_get_params(keyContext, params) != 1 || !OSSL_PARAM_modified(&params[0]))
    return opensslFailure(what + ": the key's signature algorithm");
  prepared.algorithmDer.assign(reinterpret_cast<const char*>(algorithm), params[0].return_size);
  prepared.ctx = std::move(ctx);
  prepared.key = key.get();
  prepared.digest = digest;
  return &prepared;
}

}  // namespace

Result<Signature> signDer(const std::string& data, const PrivateKey& key, Digest digest, const std::string& what) {
  auto prepared = preparedSigner(key, digest, what);
  if (!prepared) return prepared.error();
  OpensslPtr<EVP_MD_CTX, EVP_MD_CTX_free> ctx(EVP_MD_CTX_new());
  std::size_t length = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), (*prepared)->ctx.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, bytes, data.size()) != 1)
    return opensslFailure(what);
  Signature signature;
  signature.algorithmDer = (*prepared)->algorithmDer;
  signature.value.resize(length);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.value.data()), &length, bytes,
                     data.size()) != 1)
    return opensslFailure(what);
  signature.value.resize(length);  // ECDSA signatures vary in length
  return signature;
}

}  // namespace revoca::pki
