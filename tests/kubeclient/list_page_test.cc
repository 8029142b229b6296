#include "kubeclient/list_page.h"

#include <sstream>

#include <gtest/gtest.h>

namespace revoca::kubeclient {
namespace {

using nlohmann::json;

// The text as a stream, as the client reads an answer.
json parseListPage(const std::string& text, const std::function<void(json&&)>& take) {
  std::istringstream stream(text);
  return kubeclient::parseListPage(stream, take);
}

TEST(ListPage, HandsOverEachItemWholeAndKeepsThePageWithoutThem) {
  std::vector<json> taken;
  json page = parseListPage(
      R"({"kind": "SecretList", "metadata": {"continue": "next", "resourceVersion": "42", "nested": {"a": [1]}},
          "items": [{"metadata": {"name": "a"}, "data": {"k": "dg=="}}, {"metadata": {"name": "b"}}, 3, [4, [5]], null]})",
      [&](json&& item) { taken.push_back(std::move(item)); });
  ASSERT_EQ(taken.size(), 5u);
  EXPECT_EQ(taken[0], json::parse(R"({"metadata": {"name": "a"}, "data": {"k": "dg=="}})"));
  EXPECT_EQ(taken[1]["metadata"]["name"], "b");
  EXPECT_EQ(taken[2], 3);
  EXPECT_EQ(taken[3], json::parse("[4, [5]]"));
  EXPECT_TRUE(taken[4].is_null());
  EXPECT_EQ(page["items"], json::array());
  EXPECT_EQ(page["metadata"], json::parse(R"({"continue": "next", "resourceVersion": "42", "nested": {"a": [1]}})"));
  EXPECT_EQ(page["kind"], "SecretList");
}

TEST(ListPage, OnlyTheTopLevelItemsArrayHoldsItems) {
  int taken = 0;
  json page = parseListPage(R"({"metadata": {"items": [1, 2]}, "items": {"x": 1}, "other": [{"items": [3]}]})",
                            [&](json&&) { ++taken; });
  EXPECT_EQ(taken, 0);
  EXPECT_EQ(page["metadata"]["items"], json::parse("[1, 2]"));
  EXPECT_EQ(page["items"], json::parse(R"({"x": 1})"));
}

TEST(ListPage, TextThatIsNotJsonIsDiscarded) {
  int taken = 0;
  EXPECT_TRUE(parseListPage(R"({"items": [{"a": 1}, )", [&](json&&) { ++taken; }).is_discarded());
  EXPECT_TRUE(parseListPage("", [&](json&&) { ++taken; }).is_discarded());
  EXPECT_TRUE(parseListPage(R"({"items": [{"a": 1}, {"b")", [&](json&&) { ++taken; }).is_discarded());
}

}  // namespace
}  // namespace revoca::kubeclient
