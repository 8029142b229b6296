#pragma once
// One callable made of several lambdas, one per alternative of a std::variant:
// std::visit(Overloaded{[](const A&) {...}, [](const B&) {...}}, value).

namespace revoca {

template <typename... Lambdas>
struct Overloaded : Lambdas... {
  using Lambdas::operator()...;
};
// Deduced from the lambdas; C++20 deduces it without this, clang before 17 does not.
template <typename... Lambdas>
Overloaded(Lambdas...) -> Overloaded<Lambdas...>;

}  // namespace revoca
