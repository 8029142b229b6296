#include "declarations/parse.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "core/text.h"
#include "declarations/document.h"

namespace revoca {
namespace {

struct Chunk {
  std::string text;
  int firstLine = 0;  // 0-based line of the chunk in the whole file
};

// Splits a stream at its "---" lines so that a syntax error in one document
// leaves the others readable (YAML::LoadAll gives up on the whole stream).
// YAML forbids "---" at the start of a line inside a document's content, so
// this split never cuts a document in two.
std::vector<Chunk> splitAtDocumentMarkers(const std::string& text) {
  std::vector<Chunk> chunks(1);
  std::istringstream lines(text);
  std::string line;
  int lineNumber = 0;
  while (std::getline(lines, line)) {
    bool marker = line.rfind("---", 0) == 0 &&
                  (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker && lineNumber > 0) chunks.push_back({"", lineNumber});
    chunks.back().text += line + "\n";
    ++lineNumber;
  }
  return chunks;
}

// Memory bounds. yaml-cpp spends about 200 bytes and more per node of the
// tree it builds (an 8 MiB file once cost 2 GiB), so each document is sized
// and its nodes counted from the parser's events alone, before any tree
// exists. No Kubernetes object can be larger than etcd's 1.5 MiB request
// limit; a declaration, pod template included, has hundreds of nodes.
constexpr std::size_t kMaxFileBytes = 16 << 20;
constexpr std::size_t kMaxDocumentBytes = 1 << 20;

struct TooManyNodes {};

// yaml-cpp 0.7 (Debian 12) never ends on a document that is a stray flow
// indicator (a lone ","): each call yields another empty document without
// consuming it, and LoadAll() collects them until memory runs out (found by
// fuzz/declarations_fuzzer.cc). The documents are counted first, from parser
// events alone, and a text that yields more of them than it has lines is
// refused before LoadAll() sees it. The same events count the nodes.
class NodeCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { count(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { count(); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { count(); }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    count();
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {
    count();
  }
  void OnMapEnd() override {}

 private:
  // Thrown through the parser, the only way to stop it mid-document.
  void count() {
    if (++nodes_ > kMaxDocumentNodes) throw TooManyNodes{};
  }
  std::size_t nodes_ = 0;
};

enum class ChunkShape { Fine, EndlessDocuments, TooManyNodes };

// Throws YAML::Exception on a syntax error, as LoadAll() would.
ChunkShape shapeOf(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  NodeCounter counter;
  std::size_t limit = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 2;
  try {
    for (std::size_t documents = 0; parser.HandleNextDocument(counter);)
      if (++documents > limit) return ChunkShape::EndlessDocuments;
  } catch (const TooManyNodes&) {
    return ChunkShape::TooManyNodes;
  }
  return ChunkShape::Fine;
}

// A file name may hold any byte but '/' and NUL; the source is shown in
// logs and status, so it is made safe once, here.
std::string documentSource(const std::string& sourceName, int number) {
  return safeText(sourceName, 1024) + " (document " + std::to_string(number) + ")";
}

std::string tooManyNodes(const std::string& fromLine) {
  return "the document " + fromLine + " has more than " + std::to_string(kMaxDocumentNodes) +
         " values; a declaration has hundreds at most: split it into documents separated by ---";
}

}  // namespace

void parseDeclarations(const std::string& yamlText, const std::string& sourceName, DeclarationSet& out) {
  int documentNumber = 0;
  for (const Chunk& chunk : splitAtDocumentMarkers(yamlText)) {
    std::vector<YAML::Node> documents;
    int firstLine = chunk.firstLine + 1 + (chunk.text.rfind("---", 0) == 0 ? 1 : 0);  // after its marker
    std::string fromLine = "from line " + std::to_string(firstLine);
    auto refuse = [&](const std::string& message) {
      out.errors.push_back({documentSource(sourceName, ++documentNumber), "", "", "", message});
    };
    if (chunk.text.size() > kMaxDocumentBytes) {
      refuse("the document " + fromLine + " is " + std::to_string(chunk.text.size()) + " bytes long; revoca reads documents of up to " +
             std::to_string(kMaxDocumentBytes) + " bytes (as etcd stores objects of up to 1.5 MiB): split it "
             "into documents separated by ---");
      continue;
    }
    try {
      ChunkShape shape = shapeOf(chunk.text);
      if (shape == ChunkShape::EndlessDocuments) {
        refuse("not valid YAML " + fromLine + ": a ',' or other flow indicator stands outside [ ] or { }; quote the value "
               "that holds it or remove it");
        continue;
      }
      if (shape == ChunkShape::TooManyNodes) {
        refuse(tooManyNodes(fromLine));
        continue;
      }
      documents = YAML::LoadAll(chunk.text);
    } catch (const YAML::Exception& e) {
      std::string where = e.mark.is_null() ? ""
                                           : " at line " + std::to_string(chunk.firstLine + e.mark.line + 1) +
                                                 ", column " + std::to_string(e.mark.column + 1);
      out.errors.push_back({documentSource(sourceName, ++documentNumber), "", "", "",
                            "not valid YAML" + where + ": " + safeText(e.msg) +
                                "; fix the syntax (indent with spaces, not tabs; put a space after ':')"});
      continue;
    }
    for (const YAML::Node& document : documents)
      decl::parseDocument(document, documentSource(sourceName, ++documentNumber), out);
  }
}

void parseDeclarationTree(const YAML::Node& document, const TreeSize& size, const std::string& sourceName,
                          DeclarationSet& out) {
  std::string source = documentSource(sourceName, 1);
  if (size.nodes > kMaxDocumentNodes)
    out.errors.push_back({source, "", "", "", tooManyNodes("from line 1")});
  else if (size.depth > kMaxTreeDepth)
    out.errors.push_back({source, "", "", "",
                          "the document nests more than " + std::to_string(kMaxTreeDepth) +
                              " levels deep; a declaration nests a dozen at most: flatten it"});
  else
    decl::parseDocument(document, source, out);
}

DeclarationSet loadDeclarationDirectory(const std::string& directory) {
  namespace fs = std::filesystem;
  DeclarationSet set;
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    std::string why = fs::exists(directory, error) ? "is not a directory" : "does not exist";
    set.errors.push_back({safeText(directory, 1024), "", "", "",
                          "the declaration directory " + why +
                              "; create it, or pass the directory that holds your *.yaml declarations"});
    return set;
  }

  std::vector<fs::path> files;
  for (fs::directory_iterator it(directory, error), end; !error && it != end; it.increment(error)) {
    const fs::path& path = it->path();
    std::string extension = path.extension().string();
    // Dot files are editor leftovers and, in a mounted ConfigMap, its
    // internal "..data" links; is_regular_file follows the ConfigMap's symlinks.
    bool hidden = path.filename().string().front() == '.';
    std::error_code typeError;
    if (!hidden && (extension == ".yaml" || extension == ".yml") && fs::is_regular_file(path, typeError))
      files.push_back(path);
  }
  if (error) {
    set.errors.push_back({safeText(directory, 1024), "", "", "", "cannot list the declaration directory: " + error.message() +
                                                     "; check that revoca may read it"});
    return set;
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  std::error_code canonicalError;
  fs::path inside = fs::canonical(directory, canonicalError);
  for (const fs::path& path : files) {
    std::string shown = safeText(path.string(), 1024);
    // A link may lead to any file root can read (a key, say), and parse
    // errors quote what they read: only links that stay inside the
    // directory are followed, as a mounted ConfigMap's do.
    fs::path target = fs::canonical(path, canonicalError);
    if (canonicalError || std::mismatch(inside.begin(), inside.end(), target.begin(), target.end()).first != inside.end()) {
      set.errors.push_back({shown, "", "", "",
                            "is a link to a file outside the declaration directory; revoca reads only files inside "
                            "it: copy the file in instead of linking to it"});
      continue;
    }
    std::ifstream file(target, std::ios::binary);
    if (!file) {
      set.errors.push_back({shown, "", "", "", "cannot open the file; check that revoca may read it"});
      continue;
    }
    // Read with a bound, in pieces: the file may grow while it is read.
    std::string text;
    char piece[65536];
    while (text.size() <= kMaxFileBytes && file.read(piece, sizeof piece).gcount() > 0)
      text.append(piece, static_cast<std::size_t>(file.gcount()));
    if (text.size() > kMaxFileBytes) {
      set.errors.push_back({shown, "", "", "",
                            "the file is more than " + std::to_string(kMaxFileBytes) +
                                " bytes long, the most revoca reads of one declaration file: split it into several files"});
      continue;
    }
    parseDeclarations(text, path.string(), set);
  }
  return set;
}

}  // namespace revoca
