#include "declarations/yaml_fields.h"

#include <gtest/gtest.h>

namespace revoca::decl {
namespace {

const std::vector<std::string> kKnown = {"ttl", "certKeyType", "refreshThreshold", "crl"};

TEST(SuggestField, OtherSpellingsOfTheSameName) {
  EXPECT_EQ(suggestField("cert-key-type", kKnown), "certKeyType");
  EXPECT_EQ(suggestField("cert_key_type", kKnown), "certKeyType");
  EXPECT_EQ(suggestField("CertKeyType", kKnown), "certKeyType");
  EXPECT_EQ(suggestField("TTL", kKnown), "ttl");
}

TEST(SuggestField, SmallTypos) {
  EXPECT_EQ(suggestField("refreshTreshold", kKnown), "refreshThreshold");
  EXPECT_EQ(suggestField("certKeyTpye", kKnown), "certKeyType");
}

TEST(SuggestField, NothingForUnrelatedOrShortNames) {
  EXPECT_FALSE(suggestField("replicas", kKnown));
  EXPECT_FALSE(suggestField("ocsp", kKnown)) << "crl is not what ocsp meant";
  EXPECT_FALSE(suggestField("x", kKnown));
}

struct Read {
  Problems problems;
  std::string text;
  bool flag = false;
  int number = 0;
};

TEST(FieldReader, ReadsAndReportsOnlyUnknownFields) {
  Read r;
  FieldReader reader(YAML::Load("{a: x, b: true, c: 7, d: extra}"), "spec", r.problems);
  EXPECT_TRUE(reader.readString("a", r.text));
  EXPECT_TRUE(reader.readBool("b", r.flag));
  EXPECT_TRUE(reader.readInt("c", r.number));
  EXPECT_FALSE(reader.readString("absent", r.text));
  reader.reportUnknownFields();
  EXPECT_EQ(r.text, "x");
  EXPECT_TRUE(r.flag);
  EXPECT_EQ(r.number, 7);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].field, "spec.d");
  EXPECT_NE(r.problems[0].message.find("(fields of spec: a, b, c, absent)"), std::string::npos)
      << r.problems[0].message;
}

TEST(FieldReader, NullMeansAbsent) {
  Read r;
  FieldReader reader(YAML::Load("{a: ~, b: }"), "spec", r.problems);
  r.text = "default";
  EXPECT_FALSE(reader.readString("a", r.text));
  EXPECT_FALSE(reader.has("b"));
  EXPECT_FALSE(reader.requireString("a", r.text, "a: something"));
  EXPECT_EQ(r.text, "default");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].field, "spec.a");
  EXPECT_NE(r.problems[0].message.find("required; add it, e.g. a: something"), std::string::npos);
}

TEST(FieldReader, RootPathHasNoPrefix) {
  Read r;
  FieldReader reader(YAML::Load("{kind: Vault, extra: 1}"), "", r.problems);
  reader.readString("kind", r.text);
  reader.reportUnknownFields();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].field, "extra");
  EXPECT_NE(r.problems[0].message.find("fields of the document"), std::string::npos);
}

TEST(FieldReader, NonScalarKey) {
  Read r;
  FieldReader reader(YAML::Load("{[a, b]: 1}"), "spec", r.problems);
  reader.reportUnknownFields();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_NE(r.problems[0].message.find("field names are plain strings"), std::string::npos);
}

TEST(FieldReader, NestedMapThatIsNotAMapStaysQuiet) {
  Read r;
  FieldReader reader(YAML::Load("{inner: [1, 2]}"), "spec", r.problems);
  FieldReader inner = reader.readMap("inner");
  inner.requireString("needed", r.text, "needed: x");
  FieldReader deeper = inner.readMap("deeper");
  deeper.requireString("needed", r.text, "needed: x");
  inner.reportUnknownFields();
  reader.reportUnknownFields();
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].field, "spec.inner");
}

TEST(FieldReader, AbsentNestedMapStillReportsRequiredFields) {
  Read r;
  FieldReader reader(YAML::Load("{}"), "spec", r.problems);
  FieldReader inner = reader.readMap("inner");
  inner.requireString("needed", r.text, "needed: x");
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].field, "spec.inner.needed");
}

TEST(FieldReader, IntRange) {
  Read r;
  FieldReader reader(YAML::Load("{big: 99999999999, neg: -5}"), "spec", r.problems);
  EXPECT_FALSE(reader.readInt("big", r.number));
  EXPECT_TRUE(reader.readInt("neg", r.number));
  EXPECT_EQ(r.number, -5);
  EXPECT_EQ(r.problems.size(), 1u);
}

}  // namespace
}  // namespace revoca::decl
