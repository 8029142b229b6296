#pragma once
// One page of a List answer, read item by item.
#include <functional>
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

namespace revoca::kubeclient {

// Parses one page of a List, handing each element of its `items` to `take`
// the moment it is whole, and keeping it out of the page: a page of 100
// Secrets with their keys is over a megabyte of text and several more as
// nodes, and so the whole page never exists as nodes. Returns the page
// without its items (kind, metadata), or a discarded value when the text is
// not JSON.
nlohmann::json parseListPage(const std::string& text, const std::function<void(nlohmann::json&&)>& take);
// The same, read from `text` as it arrives: the page never exists as text
// either (an answer from the apiserver's cache is every object at once).
nlohmann::json parseListPage(std::istream& text, const std::function<void(nlohmann::json&&)>& take);

}  // namespace revoca::kubeclient
