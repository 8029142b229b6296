#pragma once
// SHA-256 in lower-case hex: how revoca tells contents apart without
// keeping them (outputs already applied, records whose PEMs stay in the
// state store).
#include <string>
#include <string_view>

namespace revoca::pki {

std::string sha256Hex(std::string_view bytes);

}  // namespace revoca::pki
