#include "responder/ocsp_get.h"

#include <array>
#include <cstdint>

namespace revoca::responder {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr std::int8_t kSkip = -2;
constexpr std::int8_t kPad = -3;
constexpr std::int8_t kBad = -1;

constexpr std::array<std::int8_t, 256> makeBase64Table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) v = kBad;
  for (int i = 0; i < 26; ++i) {
    t['A' + i] = static_cast<std::int8_t>(i);
    t['a' + i] = static_cast<std::int8_t>(26 + i);
  }
  for (int i = 0; i < 10; ++i) t['0' + i] = static_cast<std::int8_t>(52 + i);
  t['+'] = t['-'] = 62;
  t['/'] = t['_'] = 63;
  t['='] = kPad;
  t[' '] = t['\t'] = t['\r'] = t['\n'] = kSkip;
  return t;
}
constexpr auto kBase64 = makeBase64Table();

}  // namespace

// Both decoders write through a pointer into a string sized for the most
// they can produce, then cut it: push_back per byte was a twentieth of a
// cached GET answer's CPU (perf).
std::optional<std::string> percentDecode(std::string_view in) {
  if (in.find('%') == std::string_view::npos) return std::string(in);
  std::string out(in.size(), '\0');
  char* w = out.data();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      *w++ = in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = hexValue(in[i + 1]);
    int lo = hexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    *w++ = static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
  return out;
}

std::optional<std::string> base64Decode(std::string_view in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  char* w = out.data();
  std::uint32_t bits = 0;
  int count = 0;  // sextets collected in `bits`
  bool padded = false;
  for (unsigned char c : in) {
    std::int8_t v = kBase64[c];
    if (v == kSkip) continue;
    if (v == kBad) return std::nullopt;
    if (v == kPad) {
      padded = true;
      continue;
    }
    if (padded) return std::nullopt;  // data after '='
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    if (++count == 4) {
      *w++ = static_cast<char>(bits >> 16);
      *w++ = static_cast<char>(bits >> 8);
      *w++ = static_cast<char>(bits);
      bits = 0;
      count = 0;
    }
  }
  // A lone trailing sextet cannot hold a byte: not base64.
  if (count == 1) return std::nullopt;
  if (count == 2) *w++ = static_cast<char>(bits >> 4);
  if (count == 3) {
    *w++ = static_cast<char>(bits >> 10);
    *w++ = static_cast<char>(bits >> 2);
  }
  out.resize(static_cast<std::size_t>(w - out.data()));
  return out;
}

std::optional<std::string> decodeOcspGetRequest(std::string_view urlPart) {
  auto unescaped = percentDecode(urlPart);
  if (!unescaped) return std::nullopt;
  auto der = base64Decode(*unescaped);
  if (!der || der->empty()) return std::nullopt;
  return der;
}

}  // namespace revoca::responder
