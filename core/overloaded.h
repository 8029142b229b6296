#pragma once
// One callable made of several lambdas, one per alternative of a std::variant:
// std::visit(Overloaded{[](const A&) {...}, [](const B&) {...}}, value).

namespace revoca {

template <typename... Lambdas>
struct Overloaded : Lambdas... {
  using Lambdas::operator()...;
};

}  // namespace revoca
