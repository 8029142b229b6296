// Target (c): a declaration file as standalone reads one from its
// directory (loadDeclarationDirectory hands each file's text to
// parseDeclarations): multi-document YAML in, objects and errors out.
#include <cstddef>
#include <cstdint>
#include <string>

#include "declarations/parse.h"
#include "fuzz/check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace revoca;
  std::string text(reinterpret_cast<const char*>(data), size);
  DeclarationSet set;
  parseDeclarations(text, "fuzz.yaml", set);
  // A user is told where and what: every error names its source and says something.
  for (const auto& error : set.errors) {
    FUZZ_CHECK(error.source.rfind("fuzz.yaml", 0) == 0, "an error that does not name its file");
    FUZZ_CHECK(!error.message.empty(), "an error without a message");
    FUZZ_CHECK(!error.str().empty(), "an error that prints as nothing");
  }
  return 0;
}
