#pragma once
// Log lines as an operator's users read them: text for a terminal, or one
// JSON object per line for a log pipeline (--log-format json), and the
// object being reconciled on every line written while it is, as
// controller-runtime's logger carries "namespace"/"name". Messages never
// hold key material: callers log serials and names, never PEM.
#include <optional>
#include <string>
#include <string_view>

namespace revoca::logging {

enum class Format { kText, kJson };

// "text" or "json"; nullopt for anything else.
std::optional<Format> parseFormat(std::string_view text);

// Installs the format on spdlog's default logger (stderr); call once at start.
void configure(Format format);

// While alive, log lines from this thread name this object: JSON lines get
// "kind", "namespace" and "name" fields, text lines end in
// "object=Kind/namespace/name" unless the message already names it.
class ObjectScope {
 public:
  ObjectScope(std::string_view kind, std::string_view namespace_, std::string_view name);
  ~ObjectScope();
  ObjectScope(const ObjectScope&) = delete;
  ObjectScope& operator=(const ObjectScope&) = delete;

 private:
  const ObjectScope* outer_;

 public:
  const std::string kind, namespace_, name;
};

// The innermost scope of this thread, or nullptr.
const ObjectScope* currentObject();

// `text` as the contents of a JSON string (quotes not included).
std::string jsonEscape(std::string_view text);

}  // namespace revoca::logging
