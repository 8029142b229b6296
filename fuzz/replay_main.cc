// The main of the replay tests: every file of the directories (or files)
// named on the command line, in name order, through the fuzz target's
// LLVMFuzzerTestOneInput. Built by gcc into the plain and ASan+UBSan unit
// builds, so each seed and each past crash stays a test without clang.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputsUnder(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> files;
  std::error_code error;
  if (fs::is_regular_file(path, error)) return {path};
  // A target with no regressions yet has no directory: nothing to replay.
  if (!fs::is_directory(path, error)) return files;
  for (const auto& entry : fs::directory_iterator(path, error))
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    for (const auto& file : inputsUnder(argv[i])) {
      std::ifstream in(file, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "cannot read %s; check its permissions\n", file.c_str());
        return 1;
      }
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      // Named before it runs: if it crashes, the last name printed is the culprit.
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", file.c_str(), bytes.size());
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  if (replayed == 0) {
    std::fprintf(stderr, "no inputs found under the given paths; the seed corpus should be in fuzz/corpus/<target>\n");
    return 1;
  }
  std::printf("replayed %zu inputs\n", replayed);
  return 0;
}
