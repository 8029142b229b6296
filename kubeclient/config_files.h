#pragma once
// Small helpers shared by the kubeconfig and in-cluster loaders, and the
// base64 of Secret data.
#include <string>
#include <string_view>

#include "core/result.h"

namespace revoca::kubeclient {

// The whole file, or an error naming it and the cause ("No such file or directory").
Result<std::string> readTextFile(const std::string& path);

// Standard base64 as kubeconfig's *-data fields carry it; line breaks and
// spaces are ignored, anything else outside the alphabet is an error.
Result<std::string> decodeBase64(std::string_view text);
// Standard base64 with padding, no line breaks: Secret data as the API wants it.
std::string encodeBase64(std::string_view bytes);

std::string trimSpace(std::string_view text);

}  // namespace revoca::kubeclient
