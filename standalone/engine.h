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
};

// Runs until SIGINT or SIGTERM. Returns the process exit code.
int runStandalone(const StandaloneOptions& options);

}  // namespace revoca
