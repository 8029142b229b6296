#include "kubeclient/list_page.h"

namespace revoca::kubeclient {

using nlohmann::json;

json parseListPage(const std::string& text, const std::function<void(json&&)>& take) {
  bool itemsNext = false, inItems = false;
  return json::parse(
      text,
      [&](int depth, json::parse_event_t event, json& parsed) {
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
      },
      false);
}

}  // namespace revoca::kubeclient
