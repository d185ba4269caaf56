#pragma once
// Overloaded{lambda...}: one visitor for std::visit out of several lambdas.
// The deduction guide is for clang 14, which lacks aggregate CTAD.

namespace chat::common {

template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

}  // namespace chat::common
