#include "core/logging.h"

#include <cstdio>
#include <ctime>
#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include "core/text.h"

namespace revoca::logging {
namespace {

thread_local const ObjectScope* innermost = nullptr;

// "2026-11-27T03:34:32.123Z": UTC with milliseconds, as the text lines had.
void appendTime(std::chrono::system_clock::time_point time, spdlog::memory_buf_t& out) {
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(millis / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::size_t length = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &utc);
  length += static_cast<std::size_t>(
      std::snprintf(text + length, sizeof text - length, ".%03dZ", static_cast<int>(millis % 1000)));
  out.append(text, text + length);
}

void append(spdlog::memory_buf_t& out, std::string_view text) { out.append(text.data(), text.data() + text.size()); }

std::string_view levelName(spdlog::level::level_enum level) {
  auto name = spdlog::level::to_string_view(level);
  return {name.data(), name.size()};
}

class TextFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override {
    appendTime(message.time, out);
    out.push_back(' ');
    append(out, levelName(message.level));
    out.push_back(' ');
    std::string_view text(message.payload.data(), message.payload.size());
    append(out, text);
    if (const ObjectScope* object = innermost) {
      std::string qualified = object->namespace_ + "/" + object->name;
      if (text.find(qualified) == std::string_view::npos) {
        append(out, " object=");
        append(out, object->kind);
        out.push_back('/');
        append(out, qualified);
      }
    }
    out.push_back('\n');
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<TextFormatter>(); }
};

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& message, spdlog::memory_buf_t& out) override {
    append(out, "{\"ts\":\"");
    appendTime(message.time, out);
    append(out, "\",\"level\":\"");
    append(out, levelName(message.level));
    append(out, "\",\"msg\":\"");
    append(out, jsonEscape({message.payload.data(), message.payload.size()}));
    out.push_back('"');
    if (const ObjectScope* object = innermost) {
      field(out, "kind", object->kind);
      field(out, "namespace", object->namespace_);
      field(out, "name", object->name);
    }
    append(out, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }

 private:
  static void field(spdlog::memory_buf_t& out, std::string_view name, std::string_view value) {
    append(out, ",\"");
    append(out, name);
    append(out, "\":\"");
    append(out, jsonEscape(value));
    out.push_back('"');
  }
};

}  // namespace

std::optional<Format> parseFormat(std::string_view text) {
  if (text == "text") return Format::kText;
  if (text == "json") return Format::kJson;
  return std::nullopt;
}

void configure(Format format) {
  if (format == Format::kJson)
    spdlog::set_formatter(std::make_unique<JsonFormatter>());
  else
    spdlog::set_formatter(std::make_unique<TextFormatter>());
}

ObjectScope::ObjectScope(std::string_view kind, std::string_view namespace_, std::string_view name)
    : outer_(innermost), kind(kind), namespace_(namespace_), name(name) {
  innermost = this;
}

ObjectScope::~ObjectScope() { innermost = outer_; }

const ObjectScope* currentObject() { return innermost; }

std::string jsonEscape(std::string_view text) {
  std::string escaped;
  escaped.reserve(text.size());
  for (std::size_t at = 0; at < text.size(); ++at) {
    char c = text[at];
    // JSON is UTF-8: a byte that is not (a file name's, a hostile value's)
    // becomes U+FFFD, as nlohmann's error_handler_t::replace does.
    if (static_cast<unsigned char>(c) >= 0x80) {
      std::size_t length = utf8SequenceLength(text, at);
      if (length == 0) {
        escaped += "\ufffd";
      } else {
        escaped.append(text.substr(at, length));
        at += length - 1;
      }
      continue;
    }
    switch (c) {
      case '"': escaped += "\\\""; break;
      case '\\': escaped += "\\\\"; break;
      case '\n': escaped += "\\n"; break;
      case '\r': escaped += "\\r"; break;
      case '\t': escaped += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char code[8];
          std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned char>(c));
          escaped += code;
        } else {
          escaped += c;
        }
    }
  }
  return escaped;
}

}  // namespace revoca::logging
