#include "declarations/types.h"

namespace revoca {

std::string DeclarationError::str() const {
  // Kind and object read as one phrase ("VaultSecret default/server-cert"),
  // so they share a part; empty parts are left out rather than shown as "".
  std::string subject = kind;
  if (!object.empty()) subject += (subject.empty() ? "" : " ") + object;

  std::string out;
  auto append = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  append(source);
  append(subject);
  append(field);
  append(message);
  return out;
}

}  // namespace revoca
