#pragma once
// A property a fuzz target asserts beyond "does not crash". A broken one
// aborts, which libFuzzer and the replay test both report as a failure,
// with the input that broke it.
#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                      \
  do {                                                                                   \
    if (!(condition)) {                                                                  \
      std::fprintf(stderr, "%s:%d: fuzz property broken: %s\n", __FILE__, __LINE__, what); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
