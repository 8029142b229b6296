#pragma once
// One page of a List answer, read item by item.
#include <functional>
#include <istream>

#include <nlohmann/json.hpp>

namespace revoca::kubeclient {

// Parses one page of a List from `text` as it arrives, handing each element
// of its `items` to `take` the moment it is whole, and keeping it out of the
// page: an answer from the apiserver's cache is every object at once (10,000
// VaultSecrets are some 17 MB of text and several times that as nodes), and
// so it never exists whole, as text or as nodes. Returns the page without
// its items (kind, metadata), or a discarded value when the text is not JSON.
nlohmann::json parseListPage(std::istream& text, const std::function<void(nlohmann::json&&)>& take);

}  // namespace revoca::kubeclient
