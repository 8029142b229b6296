#include "pki/key.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>

#include "pki/der.h"
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

// Wipes the private bytes a string held before it lets go of them.
struct Wiped {
  std::string bytes;
  ~Wiped() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

// PKCS#8 DER of an EC key on a named curve, as OpenSSL 3.0's encoder writes it:
//   PrivateKeyInfo ::= SEQUENCE { version INTEGER 0,
//     privateKeyAlgorithm { id-ecPublicKey, namedCurve OID },
//     privateKey OCTET STRING containing
//       ECPrivateKey ::= SEQUENCE { version INTEGER 1,
//         privateKey OCTET STRING (the scalar, padded to the curve's size),
//         publicKey [1] BIT STRING (the point) } }
// (no [0] parameters: the algorithm names the curve). That encoder sets up an
// OSSL_ENCODER context per call: 0.8M instructions, twice the ECDSA
// signature of the certificate the key goes with. False when the key is not
// such a key; the caller then asks OpenSSL.
bool ecPrivateKeyInfo(EVP_PKEY* key, Wiped& out) {
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return false;
  char group[80];
  unsigned char point[160];
  std::size_t groupSize = 0, pointSize = 0;
  BIGNUM* scalar = nullptr;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &groupSize) != 1 ||
      EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, point, sizeof point, &pointSize) != 1 ||
      EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &scalar) != 1) {
    ERR_clear_error();
    return false;
  }
  int curve = OBJ_txt2nid(group);
  int size = (EVP_PKEY_get_bits(key) + 7) / 8;
  unsigned char* curveOid = nullptr;
  int curveOidSize = curve == NID_undef ? 0 : i2d_ASN1_OBJECT(OBJ_nid2obj(curve), &curveOid);
  Wiped scalarBytes{std::string(static_cast<std::size_t>(std::max(size, 0)), '\0')};
  bool ok = curveOidSize > 0 && size > 0 &&
            BN_bn2binpad(scalar, reinterpret_cast<unsigned char*>(scalarBytes.bytes.data()), size) == size;
  BN_clear_free(scalar);
  if (!ok) {
    OPENSSL_free(curveOid);
    ERR_clear_error();
    return false;
  }
  // id-ecPublicKey, 1.2.840.10045.2.1
  static const char kEcPublicKey[] = {0x06, 0x07, 0x2A, static_cast<char>(0x86), 0x48, static_cast<char>(0xCE),
                                      0x3D, 0x02, 0x01};
  std::string algorithm(kEcPublicKey, sizeof kEcPublicKey);
  algorithm.append(reinterpret_cast<const char*>(curveOid), static_cast<std::size_t>(curveOidSize));
  OPENSSL_free(curveOid);

  Wiped ecPrivateKey;
  ecPrivateKey.bytes.reserve(16 + scalarBytes.bytes.size() + pointSize);
  der::appendTlv(ecPrivateKey.bytes, der::kInteger, std::string_view("\x01", 1));
  der::appendTlv(ecPrivateKey.bytes, der::kOctetString, scalarBytes.bytes);
  std::string bits(1, '\0');  // no unused bits
  bits.append(reinterpret_cast<const char*>(point), pointSize);
  std::string publicKey = der::tlv(der::kBitString, bits);
  der::appendTlv(ecPrivateKey.bytes, 0xA1, publicKey);  // [1], constructed
  Wiped sequence{der::tlv(der::kSequence, ecPrivateKey.bytes)};

  Wiped content;
  content.bytes.reserve(32 + algorithm.size() + sequence.bytes.size());
  der::appendTlv(content.bytes, der::kInteger, std::string_view("\x00", 1));
  der::appendTlv(content.bytes, der::kSequence, algorithm);
  der::appendTlv(content.bytes, der::kOctetString, sequence.bytes);
  out.bytes.reserve(8 + content.bytes.size());
  der::appendTlv(out.bytes, der::kSequence, content.bytes);
  return true;
}

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
  Wiped der;
  if (bio && ecPrivateKeyInfo(key_.get(), der)) {
    if (PEM_write_bio(bio.get(), PEM_STRING_PKCS8INF, "", reinterpret_cast<const unsigned char*>(der.bytes.data()),
                      static_cast<long>(der.bytes.size())) <= 0) {
      opensslError();
      return "";
    }
    return bioContents(bio.get());
  }
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
