#include "kubeclient/list_page.h"

#include <sstream>

#include <gtest/gtest.h>

namespace revoca::kubeclient {
namespace {

using nlohmann::json;

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
}

TEST(ListPage, AStreamGivesWhatTheTextGives) {
  std::string text = R"({"kind": "VaultList", "metadata": {"resourceVersion": "7"}, "items": [{"a": 1}, {"b": [2]}]})";
  std::vector<json> fromText, fromStream;
  json pageFromText = parseListPage(text, [&](json&& item) { fromText.push_back(std::move(item)); });
  std::istringstream stream(text);
  json pageFromStream = parseListPage(stream, [&](json&& item) { fromStream.push_back(std::move(item)); });
  EXPECT_EQ(fromStream, fromText);
  EXPECT_EQ(pageFromStream, pageFromText);
  std::istringstream cut(R"({"items": [{"a": 1}, {"b")");
  EXPECT_TRUE(parseListPage(cut, [](json&&) {}).is_discarded());
}

}  // namespace
}  // namespace revoca::kubeclient
