#include "kubernetes/status_writer.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <set>

#include "declarations/values.h"
#include "kubeclient/forwarding_api_client.h"
#include "kubernetes/names.h"
#include "testing/cluster_fixture.h"
#include "testing/fake_clock.h"
#include "testing/refusing_api_client.h"
#include "tests/kubernetes/crd_files.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

using testing::kCrds;
using testing::toJson;

std::vector<json> loadCrds() {
  std::vector<json> crds;
  for (const auto& file : std::filesystem::directory_iterator(kCrds))
    if (file.path().extension() == ".yaml") crds.push_back(toJson(YAML::LoadFile(file.path().string())));
  return crds;
}

ObjectStatus ready(ObjectFacts facts = {}, std::int64_t generation = 3) {
  ObjectStatus status;
  status.ready = true;
  status.reason = "Ready";
  status.message = "fine";
  status.observedGeneration = generation;
  status.facts = std::move(facts);
  return status;
}

ObjectStatus failed(std::string reason, std::string message = "what to fix") {
  ObjectStatus status;
  status.reason = std::move(reason);
  status.message = std::move(message);
  status.observedGeneration = 3;
  return status;
}

const TimePoint kNow = fromUnixSeconds(1'800'000'000);  // 2027-01-15T08:00:00Z

VaultSecretFacts secret(std::string serial, std::optional<ReissueReason> reason = std::nullopt) {
  VaultSecretFacts facts;
  facts.serial = std::move(serial);
  facts.notBefore = kNow;
  facts.notAfter = kNow + 90 * 24h;
  facts.renewalTime = kNow + 60 * 24h;
  facts.caVersion = 1;
  facts.lastIssueReason = reason;
  return facts;
}

CertificateAuthorityFacts ca(int version, std::string serial = "") {
  CertificateAuthorityFacts facts;
  facts.version = facts.clientSigningVersion = facts.serverSigningVersion = version;
  facts.liveVersions = 1;
  facts.serial = std::move(serial);
  facts.notBefore = facts.clientSwitchTime = facts.serverSwitchTime = kNow;
  facts.notAfter = kNow + 365 * 24h;
  facts.renewalTime = kNow + 300 * 24h;
  return facts;
}

CertificateAuthorityFacts caWithCrl(int version, std::string serial, std::string tenantUuid, std::uint64_t crlNumber) {
  CertificateAuthorityFacts facts = ca(version, std::move(serial));
  facts.tenantUuid = std::move(tenantUuid);
  facts.crlNumber = crlNumber;
  return facts;
}

CertificateRevocationFacts revocation(std::string serial) { return {std::move(serial), kNow, std::nullopt}; }

json bodyOf(Kind kind, const ObjectStatus& status) {
  return statusBody(kind, json::object(), status, kNow);
}

// --- the status body ---------------------------------------------------------

TEST(StatusWriterBody, FactsAreTypedAsTheCrdSays) {
  CertificateAuthorityFacts facts = ca(2, "ABCD");
  facts.crlNumber = 17;
  facts.notAfter = fromUnixSeconds(1'830'297'600);  // 2028-01-01T00:00:00Z
  json body = bodyOf(Kind::CertificateAuthority, ready(facts));
  EXPECT_TRUE(body["version"].is_number_integer());
  EXPECT_EQ(body["version"], 2);
  EXPECT_EQ(body["crlNumber"], 17);
  EXPECT_EQ(body["liveVersions"], 1);
  EXPECT_EQ(body["serial"], "ABCD");
  EXPECT_EQ(body["notAfter"], "2028-01-01T00:00:00Z");
  EXPECT_FALSE(body.contains("crlUrl"));
  EXPECT_EQ(body["observedGeneration"], 3);
  ASSERT_EQ(body["conditions"].size(), 1u);
  const json& condition = body["conditions"][0];
  EXPECT_EQ(condition["type"], "Ready");
  EXPECT_EQ(condition["status"], "True");
  EXPECT_EQ(condition["reason"], "Ready");
  EXPECT_EQ(condition["message"], "fine");
  EXPECT_EQ(condition["observedGeneration"], 3);
  EXPECT_EQ(condition["lastTransitionTime"], "2027-01-15T08:00:00Z");
}

TEST(StatusWriterBody, TimesAreRfc3339InWholeSeconds) {
  VaultSecretFacts facts = secret("AA");
  facts.notBefore = kNow + 500ms;
  json body = bodyOf(Kind::VaultSecret, ready(facts));
  EXPECT_EQ(body["notBefore"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(body["notAfter"], "2027-04-15T08:00:00Z");
  EXPECT_EQ(body["caVersion"], 1);
}

TEST(StatusWriterBody, EveryKindHasItsFacts) {
  json vault = bodyOf(Kind::Vault, ready(VaultFacts{2}));
  EXPECT_EQ(vault["deployments"], 2);
  EXPECT_EQ(vault.size(), 3u) << vault.dump();  // with observedGeneration and conditions
  CertificateRevocationFacts revoked = revocation("AA");
  revoked.crlNumber = 9;
  EXPECT_EQ(bodyOf(Kind::CertificateRevocation, ready(revoked))["crlNumber"], 9);
  EmqxDeploymentFacts emqx{"emqx", std::nullopt, {}};
  emqx.published.rollout = EmqxRollout{"emqx-env", "h1", "h2", RotationPolicy::Restart};
  json body = bodyOf(Kind::EmqxDeployment, ready(emqx));
  EXPECT_EQ(body["configMap"], "emqx-env");
  EXPECT_EQ(body["rotation"], "restart");
}

// Every fact a backend reports, once per kind (cert.key's owner and mode of
// a VaultSecret: standalone only).
ObjectFacts everyFactOf(Kind kind) {
  KeyFileAccess keyFile{0, 1000, 0440};
  switch (kind) {
    case Kind::CertificateAuthority: {
      CertificateAuthorityFacts facts = ca(2, "AB");
      facts.tenantUuid = "0b7c";
      facts.crlUrl = "http://revoca/crl";
      facts.crlNumber = 3;
      return facts;
    }
    case Kind::Vault: return VaultFacts{1};
    case Kind::VaultSecret: {
      VaultSecretFacts facts = secret("AB", ReissueReason::Missing);
      facts.keyFile = keyFile;
      return facts;
    }
    case Kind::CertificateRevocation: {
      CertificateRevocationFacts facts = revocation("AB");
      facts.crlNumber = 3;
      return facts;
    }
    case Kind::EmqxDeployment:
      return EmqxDeploymentFacts{
          "emqx", "http://revoca/ocsp/", {std::nullopt, EmqxRollout{"m", "h1", "h2", RotationPolicy::Reload}, keyFile}};
  }
  return {};
}

TEST(StatusWriterBody, EveryFactIsInItsCrdsStatusSchemaWithItsType) {
  auto crds = loadCrds();
  ASSERT_EQ(crds.size(), 5u) << "in " << kCrds;
  for (const json& crd : crds) {
    std::string name = crd["spec"]["names"]["kind"];
    std::optional<Kind> kind = kindNamed(name);
    ASSERT_TRUE(kind) << name;
    const json& properties = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
    json body = bodyOf(*kind, ready(everyFactOf(*kind)));
    for (const auto& [field, value] : body.items()) {
      if (field == "conditions" || field == "observedGeneration") continue;
      ASSERT_TRUE(properties.contains(field)) << name << " status." << field << " is not in its CRD";
      const json& schema = properties[field];
      if (schema["type"] == "integer") {
        EXPECT_TRUE(value.is_number_integer()) << name << " status." << field << ": " << value;
      } else {
        EXPECT_EQ(schema["type"], "string") << name << " status." << field;
        EXPECT_TRUE(value.is_string()) << name << " status." << field << ": " << value;
        if (schema.value("format", "") == "date-time")
          EXPECT_TRUE(decl::parseTimestamp(value.get<std::string>())) << name << " status." << field << ": " << value;
      }
    }
  }
}

// A field a CRD declares and nothing writes is documented, and shown by
// kubectl, as if it were known.
TEST(StatusWriterBody, EveryFieldOfACrdsStatusSchemaIsWritten) {
  for (const json& crd : loadCrds()) {
    std::string name = crd["spec"]["names"]["kind"];
    std::optional<Kind> kind = kindNamed(name);
    ASSERT_TRUE(kind) << name;
    const json& properties = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]["properties"];
    json body = bodyOf(*kind, ready(everyFactOf(*kind)));
    for (const auto& [field, schema] : properties.items())
      EXPECT_TRUE(body.contains(field)) << name << " status." << field << " is declared and never written";
  }
}

TEST(StatusWriterBody, TheTransitionTimeStaysUntilReadyFlips) {
  json before = statusBody(Kind::VaultSecret, json::object(), failed("IssuerNotReady"), kNow);
  // Still False, for another reason: the time it became False stays.
  json again = statusBody(Kind::VaultSecret, before, failed("PublishFailed"), kNow + 60s);
  EXPECT_EQ(again["conditions"][0]["lastTransitionTime"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(again["conditions"][0]["reason"], "PublishFailed");
  json flipped = statusBody(Kind::VaultSecret, again, ready(secret("AA")), kNow + 120s);
  EXPECT_EQ(flipped["conditions"][0]["status"], "True");
  EXPECT_EQ(flipped["conditions"][0]["lastTransitionTime"], "2027-01-15T08:02:00Z");
}

TEST(StatusWriterBody, TheLastIssueReasonStaysUntilTheNextIssue) {
  json issued = statusBody(Kind::VaultSecret, json::object(), ready(secret("AA", ReissueReason::Missing)), kNow);
  // The next pass issued nothing and does not know why AA was issued.
  json later = statusBody(Kind::VaultSecret, issued, ready(secret("AA")), kNow + 60s);
  EXPECT_EQ(later, issued);
  json renewed = statusBody(Kind::VaultSecret, later, ready(secret("BB", ReissueReason::NearExpiry)), kNow);
  EXPECT_EQ(renewed["lastIssueReason"], "NearExpiry");
  json unknown = statusBody(Kind::VaultSecret, issued, ready(secret("CC")), kNow);
  EXPECT_FALSE(unknown.contains("lastIssueReason"));
}

TEST(StatusWriterBody, ReasonAndMessageAreMadeAcceptable) {
  json body = bodyOf(Kind::Vault, failed("9 not a reason!", "bad \xff byte " + std::string(40000, 'x')));
  const json& condition = body["conditions"][0];
  EXPECT_EQ(condition["reason"], "notareason");
  EXPECT_LE(condition["message"].get<std::string>().size(), 32768u);
  EXPECT_NO_THROW((void)body.dump());
  EXPECT_EQ(bodyOf(Kind::Vault, failed(""))["conditions"][0]["reason"], "Unknown");
}

// --- events ------------------------------------------------------------------

TEST(StatusWriterEvents, AFirstSerialIsIssuedANewOneRenewedTheSameOneNothing) {
  auto first = eventsFor(Kind::VaultSecret, json::object(), ready(secret("AA", ReissueReason::Missing)));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, "Normal");
  EXPECT_EQ(first[0].reason, "Issued");
  EXPECT_EQ(first[0].action, "Issue");
  EXPECT_NE(first[0].message.find("serial AA"), std::string::npos);
  EXPECT_NE(first[0].message.find("Missing"), std::string::npos);
  json before = bodyOf(Kind::VaultSecret, ready(secret("AA")));
  auto renewed = eventsFor(Kind::VaultSecret, before, ready(secret("BB")));
  ASSERT_EQ(renewed.size(), 1u);
  EXPECT_EQ(renewed[0].reason, "Renewed");
  EXPECT_TRUE(eventsFor(Kind::VaultSecret, before, ready(secret("AA"))).empty());
}

TEST(StatusWriterEvents, CaVersionsAreIssuedThenRotatedAndTheServersNumbersCompareWithOurText) {
  EXPECT_EQ(eventsFor(Kind::CertificateAuthority, json::object(), ready(ca(1)))[0].reason, "Issued");
  json before = json::parse(R"({"version": 1, "conditions": [{"type": "Ready", "status": "True", "reason": "Ready"}]})");
  EXPECT_TRUE(eventsFor(Kind::CertificateAuthority, before, ready(ca(1))).empty());
  auto rotated = eventsFor(Kind::CertificateAuthority, before, ready(ca(2, "CC")));
  ASSERT_EQ(rotated.size(), 1u);
  EXPECT_EQ(rotated[0].reason, "Rotated");
  EXPECT_NE(rotated[0].message.find("version 2 (serial CC)"), std::string::npos);
}

TEST(StatusWriterEvents, AFailureIsAWarningOncePerReason) {
  auto first = eventsFor(Kind::VaultSecret, json::object(), failed("InvalidSpec", "spec.autoCert.ttl: bad"));
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].type, "Warning");
  EXPECT_EQ(first[0].reason, "Failed");
  EXPECT_EQ(first[0].message, "InvalidSpec: spec.autoCert.ttl: bad");
  json before = bodyOf(Kind::VaultSecret, failed("InvalidSpec"));
  EXPECT_TRUE(eventsFor(Kind::VaultSecret, before, failed("InvalidSpec", "another message")).empty());
  EXPECT_EQ(eventsFor(Kind::VaultSecret, before, failed("IssuerNotReady")).size(), 1u);
  // Ready, then failing: a warning.
  EXPECT_EQ(eventsFor(Kind::VaultSecret, bodyOf(Kind::VaultSecret, ready(secret("AA"))), failed("InvalidSpec")).size(), 1u);
}

TEST(StatusWriterEvents, ARevocationIsAnnouncedWhenItBecomesReady) {
  ObjectStatus revoked = ready(revocation("AA"));
  revoked.message = "serial AA is on the CRL";
  auto first = eventsFor(Kind::CertificateRevocation, json::object(), revoked);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].reason, "Revoked");
  EXPECT_EQ(first[0].message, "serial AA is on the CRL");
  EXPECT_TRUE(eventsFor(Kind::CertificateRevocation, bodyOf(Kind::CertificateRevocation, revoked), revoked).empty());
  auto afterFailure =
      eventsFor(Kind::CertificateRevocation, bodyOf(Kind::CertificateRevocation, failed("CaNotReady")), revoked);
  ASSERT_EQ(afterFailure.size(), 1u);
  EXPECT_EQ(afterFailure[0].reason, "Revoked");
}

TEST(StatusWriterEvents, TheEventIsACoreV1Event) {
  ObjectMeta meta{"tenant", "mqtt-ca", "", 1};
  json event = eventBody(Kind::CertificateAuthority, meta, "uid-1", {"Normal", "Issued", "Issue", "issued version 1"},
                         "mqtt-ca.18a2b", "host-1", kNow + 1234us);
  EXPECT_EQ(event["apiVersion"], "v1");
  EXPECT_EQ(event["kind"], "Event");
  EXPECT_EQ(event["metadata"]["name"], "mqtt-ca.18a2b");
  EXPECT_EQ(event["metadata"]["namespace"], "tenant");
  EXPECT_EQ(event["involvedObject"],
            json({{"apiVersion", "revoca.io/v1alpha1"}, {"kind", "CertificateAuthority"}, {"name", "mqtt-ca"},
                  {"namespace", "tenant"}, {"uid", "uid-1"}}));
  EXPECT_EQ(event["type"], "Normal");
  EXPECT_EQ(event["reason"], "Issued");
  EXPECT_EQ(event["source"]["component"], "revoca");
  EXPECT_EQ(event["reportingComponent"], "revoca");
  EXPECT_EQ(event["reportingInstance"], "host-1");
  EXPECT_EQ(event["firstTimestamp"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(event["lastTimestamp"], "2027-01-15T08:00:00Z");
  EXPECT_EQ(event["eventTime"], "2027-01-15T08:00:00.001234Z");
  EXPECT_EQ(event["count"], 1);
}

// --- the writer against a fake API -------------------------------------------

// Records status applies and Events; answers applies with `applyError` when set.
class RecordingApi final : public kubeclient::testing::RefusingApiClient {
 public:
  std::vector<json> applied;
  std::vector<json> events;
  std::optional<kubeclient::ApiError> applyError;

  kubeclient::ApiResult<json> applyStatus(const kubeclient::ResourceRef& ref, const json& body, const std::string& manager) override {
    EXPECT_EQ(manager, "revoca");
    EXPECT_EQ(ref.subresource, "");  // the client adds "status" itself
    if (applyError) return {std::nullopt, *applyError};
    applied.push_back(body);
    json object = body;
    object["metadata"]["uid"] = "uid-" + ref.name;
    object["metadata"]["resourceVersion"] = std::to_string(100 + applied.size());
    return {object, {}};
  }
  kubeclient::ApiResult<json> create(const kubeclient::ResourceRef& ref, const json& object) override {
    EXPECT_EQ(ref.plural, "events");
    events.push_back(object);
    return {object, {}};
  }

  std::vector<std::string> eventReasons() const {
    std::vector<std::string> reasons;
    for (const auto& event : events) reasons.push_back(event["reason"]);
    return reasons;
  }
};

class StatusWriterFake : public ::testing::Test {
 protected:
  StatusWriterFake()
      : writer_(api_, clock_, [this](Kind, const std::string&, const std::string&) { return informer_; }) {}

  // What the informer shows: the object with the status last applied.
  void informerCatchesUp() {
    informer_ = json{{"metadata", {{"uid", "uid-vs"}, {"resourceVersion", std::to_string(100 + api_.applied.size())}}},
                     {"status", api_.applied.back()["status"]}};
  }

  RecordingApi api_;
  revoca::testing::FakeClock clock_;
  std::optional<json> informer_;
  StatusWriter writer_;
  ObjectMeta meta_{"tenant", "vs", "", 3};
};

TEST_F(StatusWriterFake, TheSameStatusAgainIsNotWrittenEvenBeforeTheInformerSeesIt) {
  informer_ = json{{"metadata", {{"uid", "uid-vs"}, {"resourceVersion", "7"}}}};  // no status yet
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  ASSERT_EQ(api_.applied.size(), 1u);
  const json& body = api_.applied[0];
  EXPECT_EQ(body["apiVersion"], "revoca.io/v1alpha1");
  EXPECT_EQ(body["kind"], "VaultSecret");
  EXPECT_EQ(body["metadata"], json({{"name", "vs"}, {"namespace", "tenant"}}));
  EXPECT_EQ(body["status"]["serial"], "AA");
  EXPECT_EQ(api_.eventReasons(), std::vector<std::string>{"Issued"});
  EXPECT_EQ(api_.events[0]["involvedObject"]["uid"], "uid-vs");
  EXPECT_EQ(api_.events[0]["metadata"]["name"].get<std::string>().rfind("vs.", 0), 0u);

  clock_.advance(5s);
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));  // the informer still shows version 7
  informerCatchesUp();
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  writer_.forget();  // a resync: the informer's copy alone says it is there
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  EXPECT_EQ(api_.applied.size(), 1u);
  EXPECT_EQ(api_.events.size(), 1u);
}

// A pass that writes thousands of new statuses reports none of them again
// before it ends: each write drops the texts of older ones the informer shows.
TEST_F(StatusWriterFake, EachWriteDropsTheTextsOfOlderWritesTheInformerHasSeen) {
  informer_ = json{{"metadata", {{"resourceVersion", "7"}}}};
  for (const char* name : {"a", "b", "c"})
    writer_.report(Kind::VaultSecret, {"tenant", name, "", 1}, ready(secret(name)));
  EXPECT_EQ(writer_.writesAwaitingInformer(), 3u);
  informer_ = json{{"metadata", {{"resourceVersion", "200"}}}};  // it has seen them all
  writer_.report(Kind::VaultSecret, {"tenant", "d", "", 1}, ready(secret("d")));
  EXPECT_EQ(writer_.writesAwaitingInformer(), 2u);  // "a" and "b" dropped; "c" and "d" left
  writer_.report(Kind::VaultSecret, {"tenant", "e", "", 1}, ready(secret("e")));
  EXPECT_EQ(writer_.writesAwaitingInformer(), 2u);  // "c" dropped; "d" and "e" not seen yet
  // Nothing written twice for it.
  writer_.report(Kind::VaultSecret, {"tenant", "d", "", 1}, ready(secret("d")));
  EXPECT_EQ(api_.applied.size(), 5u);
}

TEST_F(StatusWriterFake, AnObjectTheInformerHasNotSeenIsWrittenOnce) {
  writer_.report(Kind::Vault, meta_, ready(VaultFacts{2}));
  writer_.report(Kind::Vault, meta_, ready(VaultFacts{2}));
  ASSERT_EQ(api_.applied.size(), 1u);
  EXPECT_EQ(api_.applied[0]["status"]["observedGeneration"], 3);
  EXPECT_EQ(api_.applied[0]["status"]["deployments"], 2);
  EXPECT_TRUE(api_.events.empty());
}

TEST_F(StatusWriterFake, AStatusSomeoneElseChangedIsWrittenAgain) {
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  informer_ = json{{"metadata", {{"resourceVersion", "555"}}},
                   {"status", {{"observedGeneration", 3}, {"serial", "edited"}}}};
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  EXPECT_EQ(api_.applied.size(), 2u);
}

TEST_F(StatusWriterFake, ANewSerialIsRenewedAndAFailureBetweenIsNoNewIssue) {
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  writer_.report(Kind::VaultSecret, meta_, failed("PublishFailed"));  // the status loses its serial
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  writer_.report(Kind::VaultSecret, meta_, ready(secret("BB")));
  EXPECT_EQ(api_.applied.size(), 4u);
  EXPECT_EQ(api_.eventReasons(), (std::vector<std::string>{"Issued", "Failed", "Renewed"}));
  EXPECT_EQ(api_.events[1]["type"], "Warning");
  // Unique names, even with a clock that stands still.
  std::set<std::string> names;
  for (const auto& event : api_.events) names.insert(event["metadata"]["name"]);
  EXPECT_EQ(names.size(), api_.events.size());
}

TEST_F(StatusWriterFake, AFailedWriteIsRetriedOnTheNextReportAndMakesNoEvent) {
  api_.applyError = kubeclient::ApiError{500, "InternalError", "etcd is down"};
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  EXPECT_TRUE(api_.events.empty());
  api_.applyError.reset();
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  EXPECT_EQ(api_.applied.size(), 1u);
  EXPECT_EQ(api_.eventReasons(), std::vector<std::string>{"Issued"});
}

TEST_F(StatusWriterFake, ADeletedObjectIsNoError) {
  api_.applyError = kubeclient::ApiError{404, "NotFound", "vaultsecrets.revoca.io \"vs\" not found"};
  writer_.report(Kind::VaultSecret, meta_, ready(secret("AA")));
  EXPECT_TRUE(api_.applied.empty());
  EXPECT_TRUE(api_.events.empty());
}

// --- against a real kube-apiserver -------------------------------------------

// Counts the writes that go through to the real client.
class CountingApi final : public kubeclient::ForwardingApiClient {
 public:
  explicit CountingApi(kubeclient::ApiClient& real) : ForwardingApiClient(real) {}
  std::atomic<int> statusWrites{0};

  kubeclient::ApiResult<json> applyStatus(const kubeclient::ResourceRef& r, const json& b, const std::string& m) override {
    ++statusWrites;
    return inner_.applyStatus(r, b, m);
  }
};

class StatusWriterIntegration : public kubeclient::testing::ClusterTest {
 protected:
  void SetUp() override {
    ClusterTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    for (const json& crd : loadCrds()) {
      std::string name = crd["metadata"]["name"];
      auto applied = client_->apply({"apiextensions.k8s.io", "v1", "customresourcedefinitions", "", name}, crd,
                                    "revoca-test");
      ASSERT_TRUE(applied.ok()) << name << ": " << applied.error.message;
    }
    for (Kind kind : {Kind::VaultSecret, Kind::CertificateAuthority})
      ASSERT_TRUE(eventually([&] { return client_->list(revocaObjects(kind, namespace_), {}).ok(); }))
          << kindPlural(kind);
  }

  json create(Kind kind, const std::string& name, const json& spec) {
    json object = {{"apiVersion", "revoca.io/v1alpha1"},
                   {"kind", kindName(kind)},
                   {"metadata", {{"name", name}, {"namespace", namespace_}}},
                   {"spec", spec}};
    auto created = client_->create(revocaObjects(kind, namespace_), object);
    EXPECT_TRUE(created.ok()) << created.error.message;
    return created.ok() ? *created.value : json();
  }

  json read(Kind kind, const std::string& name) {
    auto object = client_->get(revocaObjects(kind, namespace_, name));
    EXPECT_TRUE(object.ok()) << object.error.message;
    return object.ok() ? *object.value : json();
  }

  // The reasons of the Events about `name`, oldest first.
  std::vector<std::string> eventReasons(const std::string& name, const std::string& uid) {
    std::vector<std::string> reasons;
    auto events = client_->list(kubernetes::events(namespace_), {});
    EXPECT_TRUE(events.ok()) << events.error.message;
    if (!events.ok()) return reasons;
    std::vector<std::pair<std::string, std::string>> found;  // eventTime, reason
    for (const auto& event : (*events.value)["items"])
      if (event["involvedObject"].value("name", "") == name) {
        EXPECT_EQ(event["involvedObject"].value("uid", ""), uid);
        found.emplace_back(event.value("eventTime", ""), event.value("reason", ""));
      }
    std::sort(found.begin(), found.end());
    for (const auto& [time, reason] : found) reasons.push_back(reason);
    return reasons;
  }

  // What the informer would answer: here, the object as the server has it now.
  std::optional<json> lookup(Kind kind, const std::string& ns, const std::string& name) {
    auto object = client_->get(revocaObjects(kind, ns, name));
    return object.ok() ? std::optional<json>(*object.value) : std::nullopt;
  }

  SystemClock clock_;
};

TEST_F(StatusWriterIntegration, TypedStatusSurvivesARepeatIsNotWrittenAndEventsFollowTheSerial) {
  json vs = create(Kind::VaultSecret, "server-cert",
                   {{"vault", "mqtt-vault"}, {"autoCert", {{"issuingCa", "mqtt-ca"}, {"host", "broker.example"}}}});
  ASSERT_FALSE(HasFailure());
  std::string uid = vs["metadata"]["uid"];
  std::int64_t generation = vs["metadata"]["generation"];
  ObjectMeta meta{namespace_, "server-cert", "", generation};

  CountingApi api(*client_);
  // An informer that has not seen anything yet: the writer's own memory keeps it quiet.
  StatusWriter writer(api, clock_, [](Kind, const std::string&, const std::string&) {
    return std::optional<json>();
  });
  VaultSecretFacts facts = secret("1A2B", ReissueReason::Missing);
  facts.renewalTime = fromUnixSeconds(1'805'097'600);  // 2027-03-15T08:00:00Z
  auto issued = ready(facts, generation);
  writer.report(Kind::VaultSecret, meta, issued);
  ASSERT_EQ(api.statusWrites.load(), 1);

  json object = read(Kind::VaultSecret, "server-cert");
  const json& status = object["status"];
  EXPECT_TRUE(status["caVersion"].is_number_integer()) << status.dump();
  EXPECT_EQ(status["caVersion"], 1);
  EXPECT_EQ(status["serial"], "1A2B");
  EXPECT_EQ(status["notAfter"], "2027-04-15T08:00:00Z");
  EXPECT_EQ(status["renewalTime"], "2027-03-15T08:00:00Z");
  EXPECT_EQ(status["lastIssueReason"], "Missing");
  EXPECT_EQ(status["observedGeneration"], generation);
  ASSERT_EQ(status["conditions"].size(), 1u);
  EXPECT_EQ(status["conditions"][0]["type"], "Ready");
  EXPECT_EQ(status["conditions"][0]["status"], "True");
  EXPECT_EQ(status["conditions"][0]["reason"], "Ready");
  EXPECT_EQ(status["conditions"][0]["observedGeneration"], generation);
  EXPECT_FALSE(status["conditions"][0].value("lastTransitionTime", "").empty());
  std::string version = object["metadata"]["resourceVersion"];

  writer.report(Kind::VaultSecret, meta, issued);
  // Another process (a new leader) whose informer has the object: no write either.
  StatusWriter successor(api, clock_, [this](Kind k, const std::string& n, const std::string& o) {
    return lookup(k, n, o);
  });
  successor.report(Kind::VaultSecret, meta, issued);
  EXPECT_EQ(api.statusWrites.load(), 1);
  EXPECT_EQ(read(Kind::VaultSecret, "server-cert")["metadata"]["resourceVersion"], version);

  auto renewed = issued;
  renewed.facts = secret("3C4D", ReissueReason::NearExpiry);
  successor.report(Kind::VaultSecret, meta, renewed);
  EXPECT_EQ(api.statusWrites.load(), 2);
  EXPECT_EQ(read(Kind::VaultSecret, "server-cert")["status"]["serial"], "3C4D");
  EXPECT_TRUE(eventually([&] { return eventReasons("server-cert", uid).size() >= 2; }));
  EXPECT_EQ(eventReasons("server-cert", uid), (std::vector<std::string>{"Issued", "Renewed"}));
}

TEST_F(StatusWriterIntegration, ACaKeepsItsIntegersAndAFailureIsAWarningWithItsTransitionTime) {
  json ca = create(Kind::CertificateAuthority, "mqtt-ca", json::object());
  ASSERT_FALSE(HasFailure());
  std::string uid = ca["metadata"]["uid"];
  ObjectMeta meta{namespace_, "mqtt-ca", "", ca["metadata"]["generation"].get<std::int64_t>()};
  StatusWriter writer(*client_, clock_, [this](Kind k, const std::string& n, const std::string& o) {
    return lookup(k, n, o);
  });

  writer.report(Kind::CertificateAuthority, meta,
                ready(caWithCrl(1, "CAFE", "0b7c", 3), meta.generation));
  json status = read(Kind::CertificateAuthority, "mqtt-ca")["status"];
  EXPECT_EQ(status["version"], 1);
  EXPECT_EQ(status["liveVersions"], 1);
  EXPECT_EQ(status["crlNumber"], 3);
  EXPECT_EQ(status["tenantUuid"], "0b7c");
  std::string readySince = status["conditions"][0]["lastTransitionTime"];

  std::this_thread::sleep_for(1100ms);  // the transition time has seconds precision
  writer.report(Kind::CertificateAuthority, meta, failed("PublishFailed", "deployment emqx: forbidden"));
  status = read(Kind::CertificateAuthority, "mqtt-ca")["status"];
  EXPECT_EQ(status["conditions"][0]["status"], "False");
  EXPECT_EQ(status["conditions"][0]["reason"], "PublishFailed");
  EXPECT_FALSE(status.contains("version"));  // a fact no longer reported goes
  std::string failingSince = status["conditions"][0]["lastTransitionTime"];
  EXPECT_NE(failingSince, readySince);

  writer.report(Kind::CertificateAuthority, meta, failed("IssuerFailed", "still broken"));
  status = read(Kind::CertificateAuthority, "mqtt-ca")["status"];
  EXPECT_EQ(status["conditions"][0]["reason"], "IssuerFailed");
  EXPECT_EQ(status["conditions"][0]["lastTransitionTime"], failingSince);

  EXPECT_TRUE(eventually([&] { return eventReasons("mqtt-ca", uid).size() >= 3; }));
  EXPECT_EQ(eventReasons("mqtt-ca", uid), (std::vector<std::string>{"Issued", "Failed", "Failed"}));
  auto events = client_->list(kubernetes::events(namespace_), {});
  ASSERT_TRUE(events.ok());
  bool warned = false;
  for (const auto& event : (*events.value)["items"])
    if (event["reason"] == "Failed" && event["type"] == "Warning" &&
        event.value("message", "").find("PublishFailed") != std::string::npos)
      warned = true;
  EXPECT_TRUE(warned);
}

TEST_F(StatusWriterIntegration, ADeletedObjectIsNoError) {
  StatusWriter writer(*client_, clock_, [](Kind, const std::string&, const std::string&) {
    return std::optional<json>();
  });
  writer.report(Kind::VaultSecret, {namespace_, "gone", "", 1}, ready(secret("AA")));
  auto events = client_->list(kubernetes::events(namespace_), {});
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE((*events.value)["items"].empty());
}

}  // namespace
}  // namespace revoca::kubernetes
