#pragma once
// URL templates of crlDistUrls and ocspResponderUrls: ${SYS_TENANT_NAME},
// ${SYS_TENANT_UUID}, ${SYS_CA_NAME} and ${SYS_CA_VERSION}.
#include <string>

#include "core/result.h"

namespace revoca {

struct UrlTemplateValues {
  std::string tenantName;
  std::string tenantUuid;
  std::string caName;
  int caVersion = 1;
};

// Error names the unknown variable, e.g. "unknown variable ${SYS_FOO}".
Result<std::string> renderUrlTemplate(const std::string& text, const UrlTemplateValues& values);

}  // namespace revoca
