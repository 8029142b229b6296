#pragma once
// Text that came from a user (a declaration, a file name, a revocactl
// argument) is checked once where it enters, and shown in messages only
// through safeText(): a message must be safe to log, to write as JSON and
// to print on a terminal, whatever bytes the user typed.
#include <charconv>
#include <string>
#include <string_view>

namespace revoca {

// Well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing
// above U+10FFFF.
bool isValidUtf8(std::string_view text);

// The length of the well-formed UTF-8 sequence that starts at `at`; 0 when
// none does.
std::size_t utf8SequenceLength(std::string_view text, std::size_t at);

// The first byte offset of a control character (C0, DEL or C1) or of a
// byte that is not well-formed UTF-8; npos when there is none.
std::size_t findUnprintable(std::string_view text);

// `text` with every byte findUnprintable would stop at written as \xNN
// (and '\' as \\), so it stays one line of valid UTF-8. Text longer than
// `limit` bytes is cut there and ends with "...".
std::string safeText(std::string_view text, std::size_t limit = 200);

// safeText in double quotes, for "\"<value>\" is not ..." messages.
std::string quotedText(std::string_view text, std::size_t limit = 200);

// The next field of a state line up to a space, or to the end; `rest`
// moves past it.
inline std::string_view nextField(std::string_view& rest) {
  std::size_t space = rest.find(' ');
  std::string_view field = rest.substr(0, space);
  rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  return field;
}

// A decimal number exactly as std::to_string writes it (digits, a '-' for
// a negative one; no '+', no leading zero, no space) that fits `Number`:
// how state files are read, so a hand edit is never half understood.
template <typename Number>
bool parseExactNumber(std::string_view text, Number& out) {
  std::string_view digits = !text.empty() && text[0] == '-' ? text.substr(1) : text;
  if (digits.empty() || (digits[0] == '0' && (digits.size() > 1 || digits.size() != text.size()))) return false;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace revoca
