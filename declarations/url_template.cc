#include "declarations/url_template.h"

#include "core/text.h"

namespace revoca {
namespace {

constexpr const char* kKnownVariables =
    "${SYS_TENANT_NAME}, ${SYS_TENANT_UUID}, ${SYS_CA_NAME} or ${SYS_CA_VERSION}";

}  // namespace

Result<std::string> renderUrlTemplate(const std::string& text, const UrlTemplateValues& values) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, start - i);
    std::size_t end = text.find('}', start + 2);
    if (end == std::string::npos)
      return makeError("unterminated \"${\" in " + quotedText(text) +
                       "; close the variable with }, e.g. ${SYS_CA_NAME}");
    std::string name = text.substr(start + 2, end - start - 2);
    if (name == "SYS_TENANT_NAME") out += values.tenantName;
    else if (name == "SYS_TENANT_UUID") out += values.tenantUuid;
    else if (name == "SYS_CA_NAME") out += values.caName;
    else if (name == "SYS_CA_VERSION") out += std::to_string(values.caVersion);
    else
      return makeError("unknown variable ${" + name + "} in " + quotedText(text) + "; use " + kKnownVariables);
    i = end + 1;
  }
  return out;
}

}  // namespace revoca
