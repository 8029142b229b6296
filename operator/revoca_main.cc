// revoca: the operator. `revoca standalone` runs on a directory of
// declarations with no cluster (SPEC.md "Standalone mode").
#include <cstring>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "operator/flags.h"
#include "standalone/engine.h"

namespace {

constexpr const char* kUsage = R"(usage: revoca standalone --declarations DIR --state DIR --output DIR [--listen ADDR]

  --declarations DIR  revoca.io YAML declarations (re-read when they change)
  --state DIR         keys, ledger, revocations, CRL numbers (kept; back it up)
  --output DIR        files for each deployment: OUTPUT/<namespace>/<deployment>/
  --listen ADDR       CRL/OCSP responder address (default 0.0.0.0:4664)
  --log-level LEVEL   trace, debug, info (default), warn, error
)";

int standalone(revoca::Flags& flags) {
  revoca::StandaloneOptions options;
  options.declarationsDir = flags.take("--declarations");
  options.stateDir = flags.take("--state");
  options.outputDir = flags.take("--output");
  options.listen = flags.take("--listen", options.listen);
  spdlog::set_level(spdlog::level::from_str(flags.take("--log-level", "info")));
  if (!flags.finish(kUsage)) return 2;
  const std::pair<const char*, const std::string*> required[] = {
      {"--declarations", &options.declarationsDir}, {"--state", &options.stateDir}, {"--output", &options.outputDir}};
  for (const auto& [flag, value] : required)
    if (value->empty()) {
      std::cerr << "revoca standalone: " << flag << " is required\n" << kUsage;
      return 2;
    }
  return revoca::runStandalone(options);
}

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    std::cout << kUsage;
    return argc < 2 ? 2 : 0;
  }
  std::string mode = argv[1];
  revoca::Flags flags(argc - 2, argv + 2);
  if (mode == "standalone") return standalone(flags);
  std::cerr << "revoca: unknown mode \"" << mode << "\"\n" << kUsage;
  return 2;
}
