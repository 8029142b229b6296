#pragma once
// Standalone mode: reconciles a directory of declarations with
// state in a directory, writes each deployment's files to an output
// directory, and serves the responder and the admin socket.
#include <chrono>
#include <string>

namespace revoca {

struct StandaloneOptions {
  std::string declarationsDir;
  std::string stateDir;
  std::string outputDir;
  std::string listen = "0.0.0.0:4664";
  int responderThreads = 2;
  std::chrono::milliseconds watchInterval{500};  // how often DIR is checked for changes
  // From the first SIGTERM or SIGINT, how long /readyz fails while the
  // responder still answers (core/shutdown.h). 0 by default: a standalone
  // revoca usually runs alone behind a fixed address, with no load balancer
  // that would send its requests elsewhere meanwhile, so waiting would only
  // delay the stop. Behind a load balancer that probes /readyz, set it to
  // the time that takes to drop this instance.
  std::chrono::seconds shutdownDelay{0};
};

// Runs until SIGINT or SIGTERM, then drains for shutdownDelay. Returns the process exit code.
int runStandalone(const StandaloneOptions& options);

}  // namespace revoca
