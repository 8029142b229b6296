// Target: a declaration file taken all the way through standalone mode's
// reconcile path, as standalone/engine.cc wires it: parseDeclarations, one
// DeclarationPass over a FileStateStore, a DirectoryOutput and a
// StatusFile, and the status file flushed. The declarations target stops
// at the parser; this one shows what a hostile declaration can make revoca
// write, and where.
//
// One scratch directory per process (in /dev/shm when there is one, so the
// crash-safe writes' fsyncs cost little) holds state/, output/ and an empty
// sentinel/ beside them. Each input starts from an empty state and output
// and a fixed clock, so a finding replays exactly on its own.
//
// Properties, beyond "the pass neither throws nor crashes":
// - STATE/status.json, when written, is valid UTF-8 and parses as JSON
//   (revocactl status and people's scripts read it), and no name, source,
//   reason or message in it holds a control character;
// - every refused declaration's message is one line of valid UTF-8 (it is
//   logged as "declaration refused: ...");
// - nothing is written beside OUTPUT and STATE: the sentinel stays empty,
//   the scratch directory holds nothing else;
// - everything under OUTPUT is OUTPUT/<namespace>/<deployment>/<file>, or
//   one level deeper inside revoca's own ..version-* directory; no other
//   name starts with "..", none is "." or empty, and no symlink under OUTPUT
//   leads out of its deployment's directory.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/atomic_file.h"
#include "declarations/parse.h"
#include "fuzz/check.h"
#include "reconcilers/authority_service.h"
#include "reconcilers/declaration_pass.h"
#include "registry/ca_registry.h"
#include "standalone/directory_output.h"
#include "standalone/file_state_store.h"
#include "standalone/status_file.h"
#include "testing/fake_clock.h"

namespace {
namespace fs = std::filesystem;

struct Scratch {
  fs::path base, state, output, sentinel;
};

// A crash, and libFuzzer's fork mode ending its workers, skip the atexit
// handler below: the scratch directories of processes that are gone are
// removed by the next one.
void removeScratchOfDeadProcesses(const fs::path& parent) {
  const std::string prefix = "revoca-fuzz-pass-";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove_all(entry.path(), ec);
  }
}

// Never destroyed: the atexit handler below runs after static destructors
// of objects constructed before it was registered.
const Scratch& scratch() {
  static const Scratch& dirs = *[] {
    std::error_code ec;
    fs::path parent = fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
    removeScratchOfDeadProcesses(parent);
    std::string pattern = (parent / ("revoca-fuzz-pass-" + std::to_string(::getpid()) + "-XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    auto* s = new Scratch{pattern, fs::path(pattern) / "state", fs::path(pattern) / "output",
                          fs::path(pattern) / "sentinel"};
    fs::create_directories(s->sentinel);
    // Removed when the fuzzer or the replay ends normally; a crash leaves it to look at.
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(scratch().base, ignored);
    });
    spdlog::set_level(spdlog::level::off);  // a pass logs every object; libFuzzer's output is what matters
    return s;
  }();
  return dirs;
}

// RFC 3629, written out here rather than borrowed from the code under test.
bool validUtf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    unsigned char c = byte(i);
    std::size_t length = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (length == 0 || i + length > text.size()) return false;
    std::uint32_t code = length == 1 ? c : length == 2 ? c & 0x1F : length == 3 ? c & 0x0F : c & 0x07;
    for (std::size_t k = 1; k < length; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      code = (code << 6) | (byte(i + k) & 0x3F);
    }
    static constexpr std::uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kLeast[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += length;
  }
  return true;
}

// No C0 control, DEL or C1 control (U+0080..U+009F, C2 80..C2 9F in UTF-8).
bool printable(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7F) return false;
    if (c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) <= 0x9F) return false;
  }
  return true;
}

// For the report of a broken property: every byte outside printable ASCII as \xNN.
std::string escaped(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  return out;
}

void checkOutputTree(const fs::path& output) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(output, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    fs::path relative = it->path().lexically_relative(output);
    int depth = 0;
    bool insideVersion = false;
    for (const fs::path& part : relative) {
      std::string name = part.string();
      ++depth;
      FUZZ_CHECK(!name.empty() && name != "." && name != "..", "a path component under OUTPUT that is . or ..");
      if (name.rfind("..", 0) == 0) {
        bool ours = depth == 3 && (name == "..data" || name.rfind("..version-", 0) == 0);
        FUZZ_CHECK(ours, "a name under OUTPUT starting with .. that revoca does not make");
        insideVersion = name != "..data";
      }
    }
    FUZZ_CHECK(depth <= 3 || (depth == 4 && insideVersion),
               "a path under OUTPUT deeper than <namespace>/<deployment>/<file>");
    if (it->is_symlink(ec)) {
      // cert.pem -> ..data/cert.pem, ..data -> ..version-N: within the deployment's directory.
      fs::path target = fs::read_symlink(it->path(), ec);
      FUZZ_CHECK(target.is_relative(), "an absolute symlink under OUTPUT");
      for (const fs::path& part : target)
        FUZZ_CHECK(part.string() != "..", "a symlink under OUTPUT that leads upwards");
    }
  }
  FUZZ_CHECK(!ec, "OUTPUT could not be walked");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace revoca;
  // Cheap iterations: RSA keys take a second each to generate, and a real
  // declaration file of a few objects fits in 8 KiB.
  if (size > 8192) return 0;
  std::string text(reinterpret_cast<const char*>(data), size);
  std::string lower = text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.find("rsa") != std::string::npos) return 0;

  const Scratch& dirs = scratch();
  std::error_code ec;
  fs::remove_all(dirs.state, ec);
  fs::remove_all(dirs.output, ec);

  DeclarationSet set;
  parseDeclarations(text, "fuzz.yaml", set);
  for (const DeclarationError& error : set.errors) {
    std::string shown = error.str();
    bool oneLine = shown.find('\n') == std::string::npos && shown.find('\r') == std::string::npos;
    if (!validUtf8(shown) || !oneLine) std::fprintf(stderr, "the error: %s\n", escaped(shown).c_str());
    FUZZ_CHECK(validUtf8(shown), "a declaration error that is not valid UTF-8");
    FUZZ_CHECK(oneLine, "a declaration error of more than one line");
  }

  auto store = FileStateStore::open(dirs.state.string());
  FUZZ_CHECK(static_cast<bool>(store), "the state directory cannot be opened");
  FUZZ_CHECK(static_cast<bool>(makeDirectories(dirs.output.string(), 0755)), "the output directory cannot be made");
  // Stuck (const) at 2026-12-01T00:00:00Z: certificates and CRLs come out the same each run.
  const testing::FakeClock clock{fromUnixSeconds(1796083200)};
  CaRegistry registry(clock);
  DirectoryOutput output(dirs.output.string());
  std::string statusPath = (dirs.state / "status.json").string();
  {
    StatusFile status(statusPath);
    AuthorityService authorities(**store, registry, clock);
    DeclarationPass pass(ReconcileContext{authorities, **store, output, clock}, registry, status);
    try {
      pass.run(set);
    } catch (...) {
      FUZZ_CHECK(false, "the declaration pass threw");
    }
    status.flush();
  }

  if (fs::exists(statusPath, ec)) {
    std::ifstream in(statusPath, std::ios::binary);
    std::string written((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    FUZZ_CHECK(validUtf8(written), "status.json is not valid UTF-8");
    nlohmann::json parsed = nlohmann::json::parse(written, nullptr, false);
    FUZZ_CHECK(!parsed.is_discarded(), "status.json does not parse as JSON");
    FUZZ_CHECK(parsed.is_array(), "status.json is not a list of statuses");
    // revocactl status prints these on a terminal.
    for (const nlohmann::json& entry : parsed) {
      for (const char* key : {"kind", "namespace", "name", "source", "reason", "message"}) {
        if (!entry.contains(key) || !entry[key].is_string()) continue;
        std::string text = entry[key].get<std::string>();
        if (!printable(text)) std::fprintf(stderr, "status %s: %s\n", key, escaped(text).c_str());
        FUZZ_CHECK(printable(text), "a status field with a control character");
      }
    }
  }

  FUZZ_CHECK(fs::is_empty(dirs.sentinel, ec) && !ec, "something was written beside OUTPUT");
  for (const auto& entry : fs::directory_iterator(dirs.base, ec)) {
    fs::path name = entry.path().filename();
    FUZZ_CHECK(name == "state" || name == "output" || name == "sentinel",
               "something was written beside OUTPUT and STATE");
  }
  checkOutputTree(dirs.output);
  return 0;
}
