#pragma once
// SHA-256: how revoca tells contents apart without keeping them (outputs
// already applied, records whose PEMs stay in the state store).
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace revoca::pki {

// A SHA-256 kept as its 32 bytes. revoca holds three per VaultSecret (its
// record's two PEMs, its output Secret): as hex they would be 64 characters
// on the heap each, some 2 MB more at 10,000 VaultSecrets.
struct Sha256 {
  std::array<unsigned char, 32> bytes{};

  bool operator==(const Sha256&) const = default;
  std::string hex() const;  // lower case
  // Exactly what hex() writes: 64 lower-case hex digits.
  static std::optional<Sha256> fromHex(std::string_view hex);
};

Sha256 sha256(std::string_view bytes);

// SHA-256 over bytes given in pieces, without holding them together.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void update(std::string_view bytes);
  Sha256 finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
};
std::string sha256Hex(std::string_view bytes);  // sha256(bytes).hex()

}  // namespace revoca::pki
