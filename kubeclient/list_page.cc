#include "kubeclient/list_page.h"

namespace revoca::kubeclient {

using nlohmann::json;

namespace {

// nlohmann's parser callback that hands over the items and keeps the rest.
struct ItemsOut {
  const std::function<void(json&&)>& take;
  bool itemsNext = false, inItems = false;

  bool operator()(int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      itemsNext = parsed == "items";
      inItems = false;
    }
    if (depth == 1 && event == json::parse_event_t::array_start) inItems = itemsNext;
    bool itemWhole = event == json::parse_event_t::object_end || event == json::parse_event_t::array_end ||
                     event == json::parse_event_t::value;
    if (depth != 2 || !inItems || !itemWhole) return true;
    take(std::move(parsed));
    return false;  // not kept in the page
  }
};

}  // namespace

json parseListPage(std::istream& text, const std::function<void(json&&)>& take) {
  ItemsOut out{take};
  return json::parse(text, std::ref(out), false);
}

}  // namespace revoca::kubeclient
