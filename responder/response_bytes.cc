#include "responder/response_bytes.h"

namespace revoca::responder {

void appendHeaderBytes(const boost::beast::http::response_header<>& header, std::string& out) {
  out.reserve(out.size() + 384);  // an OCSP answer's header is about 300 bytes: one allocation
  unsigned version = header.version();
  unsigned code = header.result_int();
  // "HTTP/1.1 200 " in one append.
  const char statusLine[] = {'H', 'T', 'T', 'P', '/',
                             static_cast<char>('0' + version / 10 % 10), '.', static_cast<char>('0' + version % 10),
                             ' ',
                             static_cast<char>('0' + code / 100 % 10), static_cast<char>('0' + code / 10 % 10),
                             static_cast<char>('0' + code % 10), ' '};
  out.append(statusLine, sizeof statusLine);
  auto reason = header.reason();
  out.append(reason.data(), reason.size());
  out.append("\r\n", 2);
  for (const auto& field : header) {
    auto name = field.name_string();
    auto value = field.value();
    out.append(name.data(), name.size());
    out.append(": ", 2);
    out.append(value.data(), value.size());
    out.append("\r\n", 2);
  }
  out.append("\r\n", 2);
}

}  // namespace revoca::responder
