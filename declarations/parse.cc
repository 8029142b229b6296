#include "declarations/parse.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

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

// yaml-cpp 0.7 (Debian 12) never ends on a document that is a stray flow
// indicator (a lone ","): each call yields another empty document without
// consuming it, and LoadAll() collects them until memory runs out (found by
// fuzz/declarations_fuzzer.cc). The documents are counted first, from parser
// events alone, and a text that yields more of them than it has lines is
// refused before LoadAll() sees it.
class DocumentCounter final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Throws YAML::Exception on a syntax error, as LoadAll() would.
bool parserMakesProgress(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter counter;
  std::size_t limit = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 2;
  for (std::size_t documents = 0; parser.HandleNextDocument(counter);)
    if (++documents > limit) return false;
  return true;
}

std::string documentSource(const std::string& sourceName, int number) {
  return sourceName + " (document " + std::to_string(number) + ")";
}

}  // namespace

void parseDeclarations(const std::string& yamlText, const std::string& sourceName, DeclarationSet& out) {
  int documentNumber = 0;
  for (const Chunk& chunk : splitAtDocumentMarkers(yamlText)) {
    std::vector<YAML::Node> documents;
    try {
      if (!parserMakesProgress(chunk.text)) {
        int firstLine = chunk.firstLine + 1 + (chunk.text.rfind("---", 0) == 0 ? 1 : 0);  // after its marker
        out.errors.push_back({documentSource(sourceName, ++documentNumber), "", "", "",
                              "not valid YAML from line " + std::to_string(firstLine) +
                                  ": a ',' or other flow indicator stands outside [ ] or { }; quote the value "
                                  "that holds it or remove it"});
        continue;
      }
      documents = YAML::LoadAll(chunk.text);
    } catch (const YAML::Exception& e) {
      std::string where = e.mark.is_null() ? ""
                                           : " at line " + std::to_string(chunk.firstLine + e.mark.line + 1) +
                                                 ", column " + std::to_string(e.mark.column + 1);
      out.errors.push_back({documentSource(sourceName, ++documentNumber), "", "", "",
                            "not valid YAML" + where + ": " + e.msg +
                                "; fix the syntax (indent with spaces, not tabs; put a space after ':')"});
      continue;
    }
    for (const YAML::Node& document : documents)
      decl::parseDocument(document, documentSource(sourceName, ++documentNumber), out);
  }
}

DeclarationSet loadDeclarationDirectory(const std::string& directory) {
  namespace fs = std::filesystem;
  DeclarationSet set;
  std::error_code error;
  if (!fs::is_directory(directory, error)) {
    std::string why = fs::exists(directory, error) ? "is not a directory" : "does not exist";
    set.errors.push_back({directory, "", "", "",
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
    set.errors.push_back({directory, "", "", "", "cannot list the declaration directory: " + error.message() +
                                                     "; check that revoca may read it"});
    return set;
  }
  std::sort(files.begin(), files.end(),
            [](const fs::path& a, const fs::path& b) { return a.filename() < b.filename(); });

  for (const fs::path& path : files) {
    std::ifstream file(path, std::ios::binary);
    if (!file) {
      set.errors.push_back(
          {path.string(), "", "", "", "cannot open the file; check that revoca may read it"});
      continue;
    }
    std::ostringstream text;
    text << file.rdbuf();
    parseDeclarations(text.str(), path.string(), set);
  }
  return set;
}

}  // namespace revoca
