#include "pki/digest.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace revoca::pki {

std::string Sha256::hex() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex(2 * bytes.size(), '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    hex[2 * i] = kHex[bytes[i] >> 4];
    hex[2 * i + 1] = kHex[bytes[i] & 15];
  }
  return hex;
}

std::optional<Sha256> Sha256::fromHex(std::string_view hex) {
  Sha256 digest;
  if (hex.size() != 2 * digest.bytes.size()) return std::nullopt;
  auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  for (std::size_t i = 0; i < digest.bytes.size(); ++i) {
    int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    digest.bytes[i] = static_cast<unsigned char>(high << 4 | low);
  }
  return digest;
}

Sha256 sha256(std::string_view bytes) {
  Sha256 digest;
  SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), digest.bytes.data());
  return digest;
}

struct Sha256Stream::State {
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(context); }
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {
  EVP_DigestInit_ex(state_->context, EVP_sha256(), nullptr);
}
Sha256Stream::~Sha256Stream() = default;
void Sha256Stream::update(std::string_view bytes) { EVP_DigestUpdate(state_->context, bytes.data(), bytes.size()); }
Sha256 Sha256Stream::finish() {
  Sha256 digest;
  EVP_DigestFinal_ex(state_->context, digest.bytes.data(), nullptr);
  return digest;
}

std::string sha256Hex(std::string_view bytes) { return sha256(bytes).hex(); }

}  // namespace revoca::pki
