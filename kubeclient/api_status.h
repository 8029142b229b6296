#pragma once
// From the apiserver's answers to our types, without the HTTP library: a
// failure's metav1.Status to an ApiError, a watch stream's line to a WatchEvent.
#include <string>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "kubeclient/api_client.h"

namespace revoca::kubeclient {

// `body` is usually a metav1.Status ({"kind":"Status","reason":"Conflict","message":...});
// a proxy or load balancer may answer with anything else, whose first line is kept.
ApiError errorFromResponse(int status, const std::string& body, const std::string& request);

// The Status that an ERROR watch event carries ({"code":410,"reason":"Expired",...}).
ApiError errorFromStatus(const nlohmann::json& status);

// metav1.StatusReason for a code when the server gave none.
std::string reasonForCode(int status);

// One line of a watch stream: {"type":"ADDED","object":{...}}.
Result<WatchEvent> parseWatchEvent(const std::string& line);

}  // namespace revoca::kubeclient
