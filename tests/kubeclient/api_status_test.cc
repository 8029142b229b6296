#include "kubeclient/api_status.h"

#include <gtest/gtest.h>

namespace revoca::kubeclient {
namespace {

TEST(ApiStatus, TakesReasonAndMessageFromAStatusBody) {
  auto error = errorFromResponse(
      409, R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"Operation cannot be fulfilled on configmaps \"a\": the object has been modified","reason":"Conflict","code":409})",
      "PUT https://h/api/v1/namespaces/ns/configmaps/a");
  EXPECT_EQ(error.status, 409);
  EXPECT_EQ(error.reason, "Conflict");
  EXPECT_EQ(error.message, "Operation cannot be fulfilled on configmaps \"a\": the object has been modified");
  EXPECT_FALSE(error.ok());
}

TEST(ApiStatus, KeepsTheFirstLineOfAnythingElse) {
  auto error = errorFromResponse(502, "<html>Bad Gateway</html>\n<body>...", "GET https://h/api/v1/secrets");
  EXPECT_EQ(error.status, 502);
  EXPECT_EQ(error.reason, "");
  EXPECT_EQ(error.message, "GET https://h/api/v1/secrets: HTTP 502: <html>Bad Gateway</html>");
  EXPECT_EQ(errorFromResponse(404, "", "GET x").reason, "NotFound");
}

TEST(ApiStatus, ReadsTheStatusOfAnErrorEvent) {
  auto error = errorFromStatus({{"kind", "Status"}, {"code", 410}, {"reason", "Expired"},
                                {"message", "too old resource version: 1 (200)"}});
  EXPECT_EQ(error.status, 410);
  EXPECT_EQ(error.reason, "Expired");
  EXPECT_EQ(errorFromStatus({{"code", 410}}).reason, "Gone");
}

TEST(ApiStatus, ParsesWatchLines) {
  auto event = parseWatchEvent(R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"12"}}})");
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->type, "BOOKMARK");
  EXPECT_EQ(event->object["metadata"]["resourceVersion"], "12");
  EXPECT_FALSE(parseWatchEvent("{\"type\":\"ADDED\""));
  EXPECT_FALSE(parseWatchEvent(R"({"object":{}})"));
  EXPECT_FALSE(parseWatchEvent("[]"));
}

}  // namespace
}  // namespace revoca::kubeclient
