#include "kubeclient/api_status.h"

namespace revoca::kubeclient {

std::string reasonForCode(int status) {
  switch (status) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return "";
  }
}

ApiError errorFromStatus(const nlohmann::json& status) {
  ApiError error;
  if (!status.is_object()) {
    error.message = "the watch ended with an error event without a Status";
    return error;
  }
  const auto code = status.find("code");
  error.status = code != status.end() && code->is_number_integer() ? code->get<int>() : 0;
  const auto reason = status.find("reason");
  error.reason = reason != status.end() && reason->is_string() ? reason->get<std::string>() : "";
  if (error.reason.empty()) error.reason = reasonForCode(error.status);
  const auto message = status.find("message");
  error.message = message != status.end() && message->is_string() ? message->get<std::string>() : "";
  return error;
}

ApiError errorFromResponse(int status, const std::string& body, const std::string& request) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object() && parsed.value("kind", "") == "Status") {
    ApiError error = errorFromStatus(parsed);
    error.status = status;  // the HTTP status is authoritative
    if (error.reason.empty()) error.reason = reasonForCode(status);
    if (error.message.empty()) error.message = request + ": HTTP " + std::to_string(status);
    return error;
  }
  std::string firstLine = body.substr(0, body.find('\n'));
  if (firstLine.size() > 200) firstLine = firstLine.substr(0, 200) + "...";
  return ApiError{status, reasonForCode(status),
                  request + ": HTTP " + std::to_string(status) + (firstLine.empty() ? "" : ": " + firstLine)};
}

Result<WatchEvent> parseWatchEvent(const std::string& line) {
  auto parsed = nlohmann::json::parse(line, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) return makeError("a watch event that is not JSON");
  const auto type = parsed.find("type");
  const auto object = parsed.find("object");
  if (type == parsed.end() || !type->is_string() || object == parsed.end())
    return makeError("a watch event without type or object");
  return WatchEvent{type->get<std::string>(), std::move(*object)};
}

}  // namespace revoca::kubeclient
