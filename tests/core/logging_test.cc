#include "core/logging.h"

#include <memory>
#include <sstream>

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

namespace revoca::logging {
namespace {

// Captures what the default logger writes, in the given format.
class CapturedLog {
 public:
  explicit CapturedLog(Format format) : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text_);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("captured", sink));
    configure(format);
  }
  ~CapturedLog() { spdlog::set_default_logger(previous_); }
  std::string text() const { return text_.str(); }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::logger> previous_;
};

TEST(Logging, JsonLinesCarryTheObjectOfTheScope) {
  CapturedLog log(Format::kJson);
  {
    ObjectScope scope("VaultSecret", "mqtt", "server-cert");
    spdlog::info("Issued serial {}", "7B");
  }
  spdlog::warn("no object \"here\"\n");
  std::string text = log.text();
  EXPECT_NE(text.find(R"("level":"info","msg":"Issued serial 7B","kind":"VaultSecret","namespace":"mqtt","name":"server-cert"})"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"("level":"warning","msg":"no object \"here\"\n"})"), std::string::npos) << text;
  EXPECT_EQ(text.find("kind", text.find("no object")), std::string::npos) << "the scope ended";
}

TEST(Logging, TextLinesNameTheObjectOnlyWhenTheMessageDoesNot) {
  CapturedLog log(Format::kText);
  ObjectScope scope("Vault", "mqtt", "vault");
  spdlog::info("Vault mqtt/vault: Ready");
  spdlog::info("distributes to 1 deployment");
  std::string text = log.text();
  EXPECT_NE(text.find(" info Vault mqtt/vault: Ready\n"), std::string::npos) << text;
  EXPECT_NE(text.find(" info distributes to 1 deployment object=Vault/mqtt/vault\n"), std::string::npos) << text;
}

TEST(Logging, ScopesNestAndRestoreTheOuterObject) {
  ObjectScope outer("CertificateAuthority", "a", "ca");
  {
    ObjectScope inner("VaultSecret", "a", "vs");
    EXPECT_EQ(currentObject()->name, "vs");
  }
  EXPECT_EQ(currentObject()->name, "ca");
}

TEST(Logging, FormatNamesAreTextAndJsonOnly) {
  EXPECT_EQ(parseFormat("json"), Format::kJson);
  EXPECT_EQ(parseFormat("text"), Format::kText);
  EXPECT_FALSE(parseFormat("logfmt").has_value());
}

TEST(Logging, JsonEscapeHandlesControlCharacters) {
  EXPECT_EQ(jsonEscape(std::string("a\x01" "b\t\\")), "a\\u0001b\\t\\\\");
}

}  // namespace
}  // namespace revoca::logging
