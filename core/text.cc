#include "core/text.h"

namespace revoca {
namespace {

// A control character: C0, DEL, or C1 (U+0080 to U+009F, encoded C2 80 to C2 9F).
bool isControl(std::string_view text, std::size_t at, std::size_t length) {
  auto lead = static_cast<unsigned char>(text[at]);
  if (length == 1) return lead < 0x20 || lead == 0x7F;
  return length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0;
}

}  // namespace

std::size_t utf8SequenceLength(std::string_view text, std::size_t at) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  unsigned char lead = byte(at);
  if (lead < 0x80) return 1;
  std::size_t length;
  unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte (RFC 3629, section 4)
  if (lead >= 0xC2 && lead <= 0xDF) length = 2;
  else if (lead == 0xE0) length = 3, low = 0xA0;
  else if (lead == 0xED) length = 3, high = 0x9F;  // no UTF-16 surrogates
  else if (lead >= 0xE1 && lead <= 0xEF) length = 3;
  else if (lead == 0xF0) length = 4, low = 0x90;
  else if (lead == 0xF4) length = 4, high = 0x8F;  // nothing above U+10FFFF
  else if (lead >= 0xF1 && lead <= 0xF3) length = 4;
  else return 0;
  if (at + length > text.size()) return 0;
  if (byte(at + 1) < low || byte(at + 1) > high) return 0;
  for (std::size_t i = 2; i < length; ++i)
    if (byte(at + i) < 0x80 || byte(at + i) > 0xBF) return 0;
  return length;
}

bool isValidUtf8(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    std::size_t length = utf8SequenceLength(text, at);
    if (length == 0) return false;
    at += length;
  }
  return true;
}

std::size_t findUnprintable(std::string_view text) {
  for (std::size_t at = 0; at < text.size();) {
    std::size_t length = utf8SequenceLength(text, at);
    if (length == 0 || isControl(text, at, length)) return at;
    at += length;
  }
  return std::string_view::npos;
}

std::string safeText(std::string_view text, std::size_t limit) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    if (out.size() >= limit) return out + "...";
    std::size_t length = utf8SequenceLength(text, at);
    if (length == 0 || isControl(text, at, length)) {
      // One byte at a time: the bytes after a broken lead may start a good sequence.
      length = length == 0 ? 1 : length;
      for (std::size_t i = at; i < at + length; ++i) {
        auto byte = static_cast<unsigned char>(text[i]);
        out += {'\\', 'x', kHex[byte >> 4], kHex[byte & 0xF]};
      }
    } else {
      out.append(text.substr(at, length));
    }
    at += length;
  }
  return out;
}

std::string quotedText(std::string_view text, std::size_t limit) { return "\"" + safeText(text, limit) + "\""; }

}  // namespace revoca
