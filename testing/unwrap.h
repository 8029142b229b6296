#pragma once
// The value of a Result that a test expects to succeed.
#include <stdexcept>
#include <utility>

#include "core/result.h"

namespace revoca::testing {

// Throws on an error: GoogleTest reports the message as the failure.
template <typename T>
T unwrap(Result<T> result) {
  if (!result) throw std::runtime_error(result.error().message);
  return std::move(result).value();
}

}  // namespace revoca::testing
