#include "kubernetes/secret_state_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "kubeclient/config_files.h"
#include "kubeclient/forwarding_api_client.h"
#include "kubernetes/crl_stamps.h"
#include "kubernetes/names.h"
#include "pki/digest.h"
#include "registry/record_codec.h"
#include "testing/cluster_fixture.h"

namespace revoca::kubernetes {
namespace {

using nlohmann::json;

// The chunks' lines as this store reads and writes them (registry/record_codec.h).
std::optional<IssuedCertificate> parseLedgerLine(const std::string& line) {
  auto decoded = decodeLedgerLine(line, Store::Secrets);
  return decoded ? std::optional(*decoded) : std::nullopt;
}
std::string revocationLine(const Revocation& revocation) { return encodeRevocationLine(revocation); }
std::optional<Revocation> parseRevocationLine(const std::string& line) {
  auto decoded = decodeRevocationLine(line, Store::Secrets);
  return decoded ? std::optional(*decoded) : std::nullopt;
}
// A ledger line as the previous release wrote it, the subject verbatim but
// for line breaks: what the Secrets of a cluster upgraded from it hold (this
// release writes the subject as one word).
std::string ledgerLine(const IssuedCertificate& issued) {
  std::string subject = issued.subject;
  std::replace_if(subject.begin(), subject.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return issued.serialHex + " " + std::to_string(issued.caVersion) + " " +
         std::to_string(toUnixSeconds(issued.notAfter)) + " " + subject;
}

IssuedCertificate issued(int n) {
  char serial[40];
  std::snprintf(serial, sizeof serial, "4F0A%028X", n);  // 32 digits, as newSerialHex() makes them
  return {serial, 1 + n % 3, fromUnixSeconds(1800000000 + n), "client-" + std::to_string(n) + ".mqtt.example.com"};
}

// ---- the line formats, no cluster needed

TEST(SecretStateStoreLines, LedgerLinesKeepSubjectsWithSpaces) {
  auto parsed = parseLedgerLine(ledgerLine({"ABCD", 3, fromUnixSeconds(1800000000), " mqtt  client 7"}));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->serialHex, "ABCD");
  EXPECT_EQ(parsed->caVersion, 3);
  EXPECT_EQ(toUnixSeconds(parsed->notAfter), 1800000000);
  EXPECT_EQ(parsed->subject, " mqtt  client 7");  // verbatim, leading and double spaces too

  auto empty = parseLedgerLine(ledgerLine({"ABCD", 1, fromUnixSeconds(1), ""}));
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->subject, "");
  EXPECT_EQ(parseLedgerLine("ABCD 1 1")->subject, "");  // no trailing space: still a line
}

TEST(SecretStateStoreLines, ALineBreakInASubjectCannotSplitTheLine) {
  auto line = ledgerLine({"ABCD", 1, fromUnixSeconds(1), "evil\nFFFF 1 1 forged\r"});
  EXPECT_EQ(line.find_first_of("\r\n"), std::string::npos);
  EXPECT_EQ(parseLedgerLine(line)->subject, "evil FFFF 1 1 forged ");
}

TEST(SecretStateStoreLines, LedgerLinesThatAreNotLedgerLinesAreRefused) {
  EXPECT_FALSE(parseLedgerLine(""));
  EXPECT_FALSE(parseLedgerLine("not a ledger line"));
  EXPECT_FALSE(parseLedgerLine("ABCD x 1800000000 subject"));
  EXPECT_FALSE(parseLedgerLine("ABCD 1 18000000001800000000180000000 subject"));
  EXPECT_FALSE(parseLedgerLine(" 1 1800000000 subject"));
  // Exactly as ledgerLine writes it: a hand edit that changes a serial or a
  // number is refused, never read as another certificate.
  EXPECT_FALSE(parseLedgerLine("abcd 1 1800000000 subject"));
  EXPECT_FALSE(parseLedgerLine("0ABCD 1 1800000000 subject"));
  EXPECT_FALSE(parseLedgerLine("ABCD 0 1800000000 subject"));
  EXPECT_FALSE(parseLedgerLine("ABCD 01 1800000000 subject"));
  EXPECT_FALSE(parseLedgerLine("ABCD 1 +1800000000 subject"));
}

TEST(SecretStateStoreLines, CrlStampsReadBackExactlyAsWritten) {
  CrlStamps stamps;
  stamps[2] = {1700000000123u, fromUnixSeconds(1700000000), fromUnixSeconds(1700086400), pki::sha256("x")};
  stamps[5] = {1700000000124u, fromUnixSeconds(1700000000), fromUnixSeconds(1700086400), pki::sha256("")};
  std::string text = formatCrlStamps(stamps);
  EXPECT_EQ(text.substr(0, 45), "2 1700000000123 1700000000 1700086400 " + pki::sha256("x").hex().substr(0, 7));
  auto parsed = parseCrlStamps(text, "ns/revoca-ca-x");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, stamps);
  EXPECT_TRUE(parseCrlStamps("", "ns/x")->empty());

  for (const std::string& bad : std::vector<std::string>{text.substr(0, text.size() - 1), "2 " + text, text + text, "x\n", " " + text,
                          "2 01 1 2 " + pki::sha256("").hex() + "\n", "2 1 2 1 " + pki::sha256("").hex() + "\n",
                          "2 1 1 2 " + pki::sha256("").hex().substr(1) + "A\n"}) {
    auto refused = parseCrlStamps(bad, "ns/revoca-ca-x");
    ASSERT_FALSE(refused) << bad;
    EXPECT_THAT(refused.error().message, ::testing::HasSubstr("ns/revoca-ca-x"));
    EXPECT_THAT(refused.error().message, ::testing::HasSubstr("crl-stamps"));
  }
}

TEST(SecretStateStoreLines, OnlyTheNewestCrlStampsAreKept) {
  CrlStamps stamps;
  for (int version = 1; version <= 20; ++version)
    stamps[version] = {static_cast<std::uint64_t>(version), fromUnixSeconds(1), fromUnixSeconds(2), {}};
  auto kept = parseCrlStamps(formatCrlStamps(stamps), "ns/x");
  ASSERT_TRUE(kept);
  ASSERT_EQ(kept->size(), kKeptCrlStamps);
  EXPECT_EQ(kept->begin()->first, 5);
}

TEST(SecretStateStoreLines, CrlNumbersFollowTheClockAndAlwaysGrow) {
  EXPECT_EQ(crlNumberAfter(0, fromUnixSeconds(1700000000)), 1700000000000u);
  EXPECT_EQ(crlNumberAfter(1700000000000u, fromUnixSeconds(1700000000)), 1700000000001u);
  EXPECT_EQ(crlNumberAfter(1800000000000u, fromUnixSeconds(1700000000)), 1800000000001u);  // clock set back
  EXPECT_EQ(crlNumberAfter(7, fromUnixSeconds(0)), 8u);
}

TEST(SecretStateStoreLines, RevocationLinesKeepReasonAndInvalidityDate) {
  Revocation revocation{"ABCD", fromUnixSeconds(1800000000), pki::RevocationReason::KeyCompromise,
                        fromUnixSeconds(1790000000)};
  EXPECT_EQ(revocationLine(revocation), "ABCD 1800000000 1 1790000000");
  auto parsed = parseRevocationLine(revocationLine(revocation));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->serialHex, "ABCD");
  EXPECT_EQ(toUnixSeconds(parsed->revokedAt), 1800000000);
  EXPECT_EQ(parsed->reason, pki::RevocationReason::KeyCompromise);
  ASSERT_TRUE(parsed->invalidityDate);
  EXPECT_EQ(toUnixSeconds(*parsed->invalidityDate), 1790000000);

  revocation.invalidityDate.reset();
  revocation.reason = pki::RevocationReason::AaCompromise;
  parsed = parseRevocationLine(revocationLine(revocation));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->reason, pki::RevocationReason::AaCompromise);
  EXPECT_FALSE(parsed->invalidityDate);
}

TEST(SecretStateStoreLines, RevocationLinesThatAreNotRevocationLinesAreRefused) {
  EXPECT_FALSE(parseRevocationLine(""));
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 1"));             // no invalidity field
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 7 -"));           // 7 is no RFC 5280 reason
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 11 -"));
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 keyCompromise -"));
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 1 tomorrow"));
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 1 - extra"));
  EXPECT_FALSE(parseRevocationLine("abcd 1800000000 1 -"));
  EXPECT_FALSE(parseRevocationLine("00ABCD 1800000000 1 -"));
  EXPECT_FALSE(parseRevocationLine("ABCD 01800000000 1 -"));
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 01 -"));
  EXPECT_FALSE(parseRevocationLine("ABCD 1800000000 1 -0"));
}

TEST(SecretStateStoreLines, TheFullestChunkStaysFarBelowTheSecretAndEtcdLimits) {
  // A chunk ends at kDefaultChunkSize lines or kMaxChunkBytes, whichever
  // comes first: its data, base64 in the request, is at most this.
  std::size_t encoded = kubeclient::encodeBase64(std::string(kMaxChunkBytes, 'x')).size();
  EXPECT_LT(encoded, 1024u * 1024u) << "a Secret holds at most 1 MiB";
  EXPECT_LT(encoded, 1536u * 1024u / 2) << "and etcd takes requests of at most 1.5 MiB";
  // And a chunk's count of the longest line revoca writes today (32-digit
  // serial, a 253-character host) would not fit: the byte cap matters.
  IssuedCertificate longest{std::string(32, 'F'), 999, fromUnixSeconds(4102444800), std::string(253, 'h')};
  EXPECT_GT((ledgerLine(longest).size() + 1) * kDefaultChunkSize, kMaxChunkBytes);
}

// ---- against a real kube-apiserver

// The real client, counting what goes over the wire: cached loads must not.
class CountingClient final : public kubeclient::ForwardingApiClient {
 public:
  explicit CountingClient(kubeclient::ApiClient& inner) : ForwardingApiClient(inner) {}
  std::atomic<int> gets{0}, lists{0}, creates{0}, updates{0}, applies{0};
  int calls() const { return gets + lists + creates + updates + applies; }

  kubeclient::ApiResult<json> get(const kubeclient::ResourceRef& object) override {
    ++gets;
    return inner_.get(object);
  }
  kubeclient::ApiResult<json> list(const kubeclient::ResourceRef& collection, const kubeclient::ListOptions& options) override {
    ++lists;
    return inner_.list(collection, options);
  }
  kubeclient::ApiResult<json> create(const kubeclient::ResourceRef& collection, const json& object) override {
    ++creates;
    return inner_.create(collection, object);
  }
  kubeclient::ApiResult<json> update(const kubeclient::ResourceRef& object, const json& body) override {
    ++updates;
    return inner_.update(object, body);
  }
  kubeclient::ApiResult<json> apply(const kubeclient::ResourceRef& object, const json& body,
                                    const std::string& fieldManager, bool force) override {
    ++applies;
    return inner_.apply(object, body, fieldManager, force);
  }
};

class SecretStateStoreIntegration : public kubeclient::testing::ClusterTest {
 protected:
  ObjectKey ca() const { return {namespace_, "mqtt-ca"}; }

  std::string selector(const std::string& state) const {
    return std::string(kManagedSelector) + "," + kStateLabel + "=" + state + "," + kCaLabel + "=" + ca().name;
  }

  // The state Secrets of one kind, by name.
  std::map<std::string, json> listState(const std::string& labelSelector) {
    kubeclient::ListOptions options;
    options.labelSelector = labelSelector;
    auto list = client_->list(secrets(namespace_), options);
    EXPECT_TRUE(list.ok()) << list.error.message;
    std::map<std::string, json> byName;
    if (list.ok())
      for (const auto& item : (*list.value)["items"]) byName[item["metadata"]["name"].get<std::string>()] = item;
    return byName;
  }

  static std::vector<std::string> linesOf(const json& secret) {
    auto entries = kubeclient::decodeBase64(secret["data"]["entries"].get<std::string>());
    EXPECT_TRUE(entries);
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (entries && start < entries->size()) {
      std::size_t end = entries->find('\n', start);
      lines.push_back(entries->substr(start, end - start));
      start = end + 1;
    }
    return lines;
  }

  // A ledger chunk written as a previous run (or revocactl) left it.
  void createChunk(int number, const std::string& entries) {
    json labels = {{kManagedByLabel, kManagedByValue}, {kStateLabel, "ledger"}, {kCaLabel, ca().name}};
    json secret = {{"apiVersion", "v1"},
                   {"kind", "Secret"},
                   {"type", "Opaque"},
                   {"metadata",
                    {{"name", "revoca-ledger-mqtt-ca-" + std::to_string(number)},
                     {"namespace", namespace_},
                     {"labels", labels}}},
                   {"data", {{"entries", kubeclient::encodeBase64(entries)}}}};
    auto created = client_->create(secrets(namespace_), secret);
    ASSERT_TRUE(created.ok()) << created.error.message;
  }
};

TEST_F(SecretStateStoreIntegration, TheTenantUuidIsTheNamespaceUid) {
  CountingClient counting(*client_);
  SecretStateStore store(counting);
  auto ns = client_->get(namespaces(namespace_));
  ASSERT_TRUE(ns.ok());
  auto uuid = store.tenantUuid(namespace_);
  ASSERT_TRUE(uuid) << uuid.error().message;
  EXPECT_EQ(*uuid, (*ns.value)["metadata"]["uid"].get<std::string>());
  EXPECT_EQ(*store.tenantUuid(namespace_), *uuid);
  EXPECT_EQ(counting.gets, 1);  // cached

  auto missing = store.tenantUuid("revoca-no-such-namespace");
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, ::testing::HasSubstr("revoca-no-such-namespace does not exist"));
}

TEST_F(SecretStateStoreIntegration, CaVersionsSurviveARestartInALabelledSecretWithoutOwner) {
  CaRecord record;
  record.versions.push_back({2, "CERT TWO", "KEY TWO", fromUnixSeconds(1750000000), fromUnixSeconds(1850000000), std::nullopt});
  record.versions.push_back({1, "CERT ONE", "KEY ONE", fromUnixSeconds(1700000000), fromUnixSeconds(1800000000), std::nullopt});
  {
    SecretStateStore store(*client_);
    auto none = store.loadCa(ca());
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(*none);
    ASSERT_TRUE(store.saveCa(ca(), record));
    auto cached = store.loadCa(ca());
    ASSERT_TRUE(cached && *cached);
    ASSERT_EQ((*cached)->versions.size(), 2u);
    EXPECT_EQ((*cached)->current()->version, 2);
  }
  SecretStateStore restarted(*client_);
  auto loaded = restarted.loadCa(ca());
  ASSERT_TRUE(loaded && *loaded) << (loaded ? "no record" : loaded.error().message);
  ASSERT_EQ((*loaded)->versions.size(), 2u);
  EXPECT_EQ((*loaded)->versions[0].version, 1);  // ascending by version, whatever order was saved
  EXPECT_EQ((*loaded)->versions[1].certPem, "CERT TWO");
  EXPECT_EQ((*loaded)->versions[1].keyPem, "KEY TWO");
  EXPECT_EQ(toUnixSeconds((*loaded)->versions[1].notBefore), 1750000000);
  EXPECT_EQ(toUnixSeconds((*loaded)->versions[1].notAfter), 1850000000);

  auto found = listState(selector("ca"));
  ASSERT_EQ(found.size(), 1u);
  const json& secret = found.begin()->second;
  EXPECT_EQ(secret["metadata"]["name"], "revoca-ca-mqtt-ca");
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_FALSE(secret["metadata"].contains("ownerReferences"));  // a deleted CA never takes its key along
  auto versions = json::parse(*kubeclient::decodeBase64(secret["data"]["versions.json"].get<std::string>()));
  EXPECT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]["version"], 1);
  EXPECT_EQ(versions[0]["notAfter"], 1800000000);  // unix seconds
}

TEST_F(SecretStateStoreIntegration, AVersionKeepsTheCrlDistributionPointsItWasMadeWith) {
  CaRecord record;
  record.versions.push_back({1, "CERT ONE", "KEY ONE", fromUnixSeconds(1700000000), fromUnixSeconds(1800000000),
                             std::nullopt});  // saved before they were kept
  record.versions.push_back({2, "CERT TWO", "KEY TWO", fromUnixSeconds(1750000000), fromUnixSeconds(1850000000),
                             std::vector<std::string>{"http://revoca.internal:4664/crl-pem/ns/mqtt-ca/2"}});
  ASSERT_TRUE(SecretStateStore(*client_).saveCa(ca(), record));
  auto loaded = SecretStateStore(*client_).loadCa(ca());
  ASSERT_TRUE(loaded && *loaded) << (loaded ? "no record" : loaded.error().message);
  EXPECT_FALSE((*loaded)->versions[0].crlDistUrls.has_value());
  EXPECT_EQ((*loaded)->versions[1].crlDistUrls, record.versions[1].crlDistUrls);
}

// json's get<int> reads 2.5 as 2: a hand-edited version must be refused, not rounded.
TEST_F(SecretStateStoreIntegration, AVersionsEntryNotAsRevocaWritesItIsAnErrorNamingTheEntry) {
  CaRecord record;
  record.versions.push_back({1, "CERT ONE", "KEY ONE", fromUnixSeconds(1700000000), fromUnixSeconds(1800000000), std::nullopt});
  ASSERT_TRUE(SecretStateStore(*client_).saveCa(ca(), record));
  for (json edit : {json{{"version", 1.5}}, json{{"version", 0}}, json{{"notAfter", "soon"}}, json{{"keyPem", 7}},
                    json{{"crlDistUrls", "http://a/"}}, json{{"crlDistUrls", json::array({""})}}}) {
    SCOPED_TRACE(edit.dump());
    auto secret = client_->get(secrets(namespace_, "revoca-ca-mqtt-ca"));
    ASSERT_TRUE(secret.ok());
    json versions = json::array({{{"version", 1}, {"certPem", "CERT ONE"}, {"keyPem", "KEY ONE"},
                                  {"notBefore", 1700000000}, {"notAfter", 1800000000}}});
    versions[0].update(edit);
    (*secret.value)["data"]["versions.json"] = kubeclient::encodeBase64(versions.dump());
    ASSERT_TRUE(client_->update(secrets(namespace_, "revoca-ca-mqtt-ca"), *secret.value).ok());
    auto loaded = SecretStateStore(*client_).loadCa(ca());
    ASSERT_FALSE(loaded);
    EXPECT_THAT(loaded.error().message, ::testing::HasSubstr("revoca-ca-mqtt-ca: entry 1 of versions.json"));
    EXPECT_THAT(loaded.error().message, ::testing::Not(::testing::HasSubstr("KEY ONE")));
  }
}

CrlStamp draftAt(std::int64_t unixSeconds, const std::string& entries = "") {
  return CrlStamp{0, fromUnixSeconds(unixSeconds), fromUnixSeconds(unixSeconds + 86400), pki::sha256(entries)};
}

TEST_F(SecretStateStoreIntegration, CrlNumbersOnlyGrowAcrossInstancesAndWriters) {
  SecretStateStore first(*client_);
  EXPECT_FALSE(*first.recordedCrlStamp(ca(), 1));
  auto one = first.stampCrl(ca(), 1, draftAt(1000));  // creates the CA Secret, with no versions yet
  ASSERT_TRUE(one) << one.error().message;
  ASSERT_TRUE(*one);
  EXPECT_EQ((*one)->number, 1000000u);  // thisUpdate in Unix milliseconds
  EXPECT_EQ((*one)->thisUpdate, fromUnixSeconds(1000));
  EXPECT_EQ((**first.stampCrl(ca(), 1, draftAt(1000))).number, 1000001u);  // two in one second
  {
    SecretStateStore restarted(*client_);
    auto none = restarted.loadCa(ca());
    ASSERT_TRUE(none) << none.error().message;
    EXPECT_FALSE(*none);
    EXPECT_EQ((**restarted.recordedCrlStamp(ca(), 1)).number, 1000001u);
    EXPECT_EQ((**restarted.stampCrl(ca(), 2, draftAt(999))).number, 1000002u);  // a clock set back
  }
  // `first` still holds the resourceVersion of 1000001: its update
  // conflicts, it reads again and goes on from 1000002.
  EXPECT_EQ((**first.stampCrl(ca(), 1, draftAt(1000))).number, 1000003u);

  // Saving versions keeps the numbers and the stamps.
  CaRecord record;
  record.versions.push_back({1, "CERT", "KEY", fromUnixSeconds(1700000000), fromUnixSeconds(1800000000), std::nullopt});
  SecretStateStore other(*client_);
  ASSERT_TRUE(other.saveCa(ca(), record));
  EXPECT_EQ((**first.stampCrl(ca(), 1, draftAt(1000, "A 1 0 -"))).number, 1000004u);
  SecretStateStore last(*client_);
  auto stamp = last.recordedCrlStamp(ca(), 1);
  ASSERT_TRUE(stamp && *stamp);
  EXPECT_EQ(**stamp, (CrlStamp{1000004u, fromUnixSeconds(1000), fromUnixSeconds(1000 + 86400), pki::sha256("A 1 0 -")}));
  EXPECT_EQ((**last.recordedCrlStamp(ca(), 2)).number, 1000002u);
  auto loaded = last.loadCa(ca());
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->versions.size(), 1u);
}

TEST_F(SecretStateStoreIntegration, ALoweredOrDeletedCrlNumberNeverMakesNumbersGoBack) {
  SecretStateStore store(*client_);
  std::int64_t now = toUnixSeconds(std::chrono::system_clock::now());
  auto signedBefore = store.stampCrl(ca(), 1, draftAt(now));
  ASSERT_TRUE(signedBefore && *signedBefore);
  for (const char* edit : {"lowered", "deleted"}) {
    auto secret = client_->get(secrets(namespace_, "revoca-ca-mqtt-ca"));
    ASSERT_TRUE(secret.ok());
    json& data = (*secret.value)["data"];
    if (std::string(edit) == "lowered") {
      data["crl-number"] = kubeclient::encodeBase64("1");
      data["crl-stamps"] = kubeclient::encodeBase64("");
    } else {
      data.erase("crl-number");
      data.erase("crl-stamps");
    }
    ASSERT_TRUE(client_->update(secrets(namespace_, "revoca-ca-mqtt-ca"), *secret.value).ok());

    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // the clock's floor is in milliseconds
    SecretStateStore restarted(*client_);
    CrlStamp draft = draftAt(0);
    draft.thisUpdate = std::chrono::system_clock::now();
    auto next = restarted.stampCrl(ca(), 1, draft);
    ASSERT_TRUE(next && *next) << edit;
    EXPECT_GT((*next)->number, (*signedBefore)->number) << edit;
    signedBefore = next;
  }
}

TEST_F(SecretStateStoreIntegration, CrlStateThatIsNotANumberIsAnErrorNotAReset) {
  for (const auto& [key, value] : {std::pair("crl-number", "twelve"), std::pair("crl-stamps", "1 12 1000 900 x\n")}) {
    SecretStateStore store(*client_);
    ASSERT_TRUE(store.stampCrl(ca(), 1, draftAt(1000)));
    auto secret = client_->get(secrets(namespace_, "revoca-ca-mqtt-ca"));
    ASSERT_TRUE(secret.ok());
    (*secret.value)["data"][key] = kubeclient::encodeBase64(value);
    ASSERT_TRUE(client_->update(secrets(namespace_, "revoca-ca-mqtt-ca"), *secret.value).ok());

    SecretStateStore restarted(*client_);
    auto next = restarted.stampCrl(ca(), 1, draftAt(1000));
    ASSERT_FALSE(next) << key;
    EXPECT_THAT(next.error().message, ::testing::HasSubstr(namespace_ + "/revoca-ca-mqtt-ca"));
    EXPECT_THAT(next.error().message, ::testing::HasSubstr(key));
    auto fresh = client_->get(secrets(namespace_, "revoca-ca-mqtt-ca"));  // for the next round
    ASSERT_TRUE(fresh.ok());
    (*fresh.value)["data"].erase(key);
    ASSERT_TRUE(client_->update(secrets(namespace_, "revoca-ca-mqtt-ca"), *fresh.value).ok());
  }
}

TEST_F(SecretStateStoreIntegration, LedgersAreChunkedInOrderAndReadBackWhole) {
  SecretStateStore store(*client_, 3);
  for (int n = 0; n < 10; ++n) {
    auto appended = store.appendIssued(ca(), issued(n));
    ASSERT_TRUE(appended) << appended.error().message;
  }
  auto chunks = listState(selector("ledger"));  // the labels find them all
  ASSERT_EQ(chunks.size(), 4u);
  std::vector<std::size_t> sizes;
  for (int chunk = 0; chunk < 4; ++chunk) {
    auto found = chunks.find("revoca-ledger-mqtt-ca-" + std::to_string(chunk));
    ASSERT_NE(found, chunks.end()) << chunk;
    EXPECT_FALSE(found->second["metadata"].contains("ownerReferences"));
    EXPECT_EQ(found->second["type"], "Opaque");
    auto lines = linesOf(found->second);
    sizes.push_back(lines.size());
    EXPECT_EQ(lines.front(), ledgerLine(issued(chunk * 3)));
  }
  EXPECT_THAT(sizes, ::testing::ElementsAre(3u, 3u, 3u, 1u));

  SecretStateStore restarted(*client_, 3);
  auto ledger = restarted.loadLedger(ca());
  ASSERT_TRUE(ledger) << ledger.error().message;
  ASSERT_EQ(ledger->size(), 10u);
  for (int n = 0; n < 10; ++n) {
    EXPECT_EQ((*ledger)[n].serialHex, issued(n).serialHex);
    EXPECT_EQ((*ledger)[n].caVersion, issued(n).caVersion);
    EXPECT_EQ((*ledger)[n].notAfter, issued(n).notAfter);
    EXPECT_EQ((*ledger)[n].subject, issued(n).subject);
  }
  // Chunk 10 sorts after chunk 9 (numbers, not text).
  for (int n = 10; n < 31; ++n) ASSERT_TRUE(restarted.appendIssued(ca(), issued(n)));
  SecretStateStore again(*client_, 3);
  ledger = again.loadLedger(ca());
  ASSERT_TRUE(ledger);
  ASSERT_EQ(ledger->size(), 31u);
  for (int n = 0; n < 31; ++n) EXPECT_EQ((*ledger)[n].serialHex, issued(n).serialHex) << n;
}

TEST_F(SecretStateStoreIntegration, RepeatedLoadsAreServedFromTheCacheUntilForget) {
  {
    SecretStateStore writer(*client_, 3);
    for (int n = 0; n < 4; ++n) ASSERT_TRUE(writer.appendIssued(ca(), issued(n)));
    ASSERT_TRUE(writer.appendRevocation(ca(), {"ABCD", fromUnixSeconds(1800000000),
                                               pki::RevocationReason::Superseded, std::nullopt}));
  }
  CountingClient counting(*client_);
  SecretStateStore store(counting, 3);
  for (int pass = 0; pass < 3; ++pass) {
    ASSERT_TRUE(store.loadCa(ca()));
    ASSERT_EQ(store.loadLedger(ca())->size(), 4u);
    ASSERT_EQ(store.loadRevocations(ca())->size(), 1u);
    ASSERT_TRUE(store.loadSecret({namespace_, "server-cert"}));
  }
  EXPECT_EQ(counting.calls(), 4);  // one read each (the VaultSecret records: one list of the namespace)

  // An append to a chunk it holds is one update, no read first.
  ASSERT_TRUE(store.appendIssued(ca(), issued(4)));
  EXPECT_EQ(counting.updates, 1);
  EXPECT_EQ(counting.calls(), 5);
  EXPECT_EQ(store.loadLedger(ca())->size(), 5u);
  EXPECT_EQ(counting.calls(), 5);

  store.forget();
  ASSERT_EQ(store.loadLedger(ca())->size(), 5u);
  EXPECT_EQ(counting.lists, 4);

  // forgetHistory() drops the ledgers and revocations only: a VaultSecret's
  // record has one writer, and re-reading 10,000 of them would cost as much.
  ASSERT_TRUE(store.loadSecret({namespace_, "server-cert"}));
  EXPECT_EQ(counting.lists, 5);
  store.forgetHistory();
  ASSERT_EQ(store.loadLedger(ca())->size(), 5u);
  ASSERT_TRUE(store.loadSecret({namespace_, "server-cert"}));
  EXPECT_EQ(counting.lists, 6);
  EXPECT_EQ(counting.calls(), 8);
}

TEST_F(SecretStateStoreIntegration, AnAppendAfterAnotherWritersPicksUpItsLines) {
  SecretStateStore leader(*client_, 3);
  SecretStateStore revocactl(*client_, 3);
  ASSERT_TRUE(leader.appendIssued(ca(), issued(0)));
  ASSERT_TRUE(revocactl.appendIssued(ca(), issued(1)));  // revocactl reads the chunk: it knows nothing yet
  ASSERT_TRUE(leader.appendIssued(ca(), issued(2)));     // 409: reads chunk 0 again, with revocactl's line
  ASSERT_TRUE(revocactl.appendIssued(ca(), issued(3)));  // 409 on chunk 0, now full: goes on to chunk 1
  ASSERT_TRUE(leader.appendIssued(ca(), issued(4)));     // 409 on creating chunk 1: reads it, appends
  auto ledger = leader.loadLedger(ca());  // no forget(): what it learnt on the way is cached
  ASSERT_TRUE(ledger);
  std::vector<std::string> serials;
  for (const auto& entry : *ledger) serials.push_back(entry.serialHex);
  EXPECT_THAT(serials, ::testing::ElementsAre(issued(0).serialHex, issued(1).serialHex, issued(2).serialHex,
                                              issued(3).serialHex, issued(4).serialHex));
}

TEST_F(SecretStateStoreIntegration, AppendsFromSeveralThreadsShareWritesAndLoseNothing) {
  // The engine reconciles VaultSecrets several at a time: their ledger lines
  // go out together (a group commit), across chunk boundaries too.
  CountingClient counting(*client_);
  SecretStateStore store(counting, 7);
  ASSERT_TRUE(store.loadLedger(ca()));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&, t] {
      for (int n = t * 10; n < t * 10 + 10; ++n) {
        auto appended = store.appendIssued(ca(), issued(n));
        EXPECT_TRUE(appended) << appended.error().message;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_LT(counting.creates + counting.updates, 80) << "some appends shared a write";

  SecretStateStore reader(*client_, 7);
  auto ledger = reader.loadLedger(ca());
  ASSERT_TRUE(ledger);
  std::set<std::string> serials;
  for (const auto& entry : *ledger) serials.insert(entry.serialHex);
  EXPECT_EQ(ledger->size(), 80u);
  EXPECT_EQ(serials.size(), 80u);
  for (const auto& [name, chunk] : listState(selector("ledger"))) EXPECT_LE(linesOf(chunk).size(), 7u) << name;
}

TEST_F(SecretStateStoreIntegration, TwoWritersAppendingAtOnceLoseNothing) {
  // The leader and revocactl both append to a CA's ledger: 409s are retried.
  SecretStateStore leader(*client_, 5);
  SecretStateStore revocactl(*client_, 5);
  ASSERT_TRUE(leader.loadLedger(ca()));
  ASSERT_TRUE(revocactl.loadLedger(ca()));
  std::thread other([&] {
    for (int n = 100; n < 130; ++n) {
      auto appended = revocactl.appendIssued(ca(), issued(n));
      EXPECT_TRUE(appended) << appended.error().message;
    }
  });
  for (int n = 0; n < 30; ++n) {
    auto appended = leader.appendIssued(ca(), issued(n));
    EXPECT_TRUE(appended) << appended.error().message;
  }
  other.join();

  SecretStateStore reader(*client_, 5);
  auto ledger = reader.loadLedger(ca());
  ASSERT_TRUE(ledger);
  EXPECT_EQ(ledger->size(), 60u);
  std::set<std::string> serials;
  for (const auto& entry : *ledger) serials.insert(entry.serialHex);
  EXPECT_EQ(serials.size(), 60u);  // each once
  // Each writer's own lines stay in the order it wrote them.
  int lastLeader = -1, lastRevocactl = 99;
  for (const auto& entry : *ledger) {
    int n = std::stoi(entry.serialHex.substr(4), nullptr, 16);
    int& last = n >= 100 ? lastRevocactl : lastLeader;
    EXPECT_EQ(n, last + 1);
    last = n;
  }
  auto chunks = listState(selector("ledger"));
  EXPECT_EQ(chunks.size(), 12u);
  for (const auto& [name, secret] : chunks) EXPECT_EQ(linesOf(secret).size(), 5u) << name;
}

TEST_F(SecretStateStoreIntegration, RevocationsRoundTripWithReasonsAndInvalidityDates) {
  SecretStateStore store(*client_, 2);
  std::vector<Revocation> written = {
      {"A01", fromUnixSeconds(1800000000), pki::RevocationReason::Superseded, std::nullopt},
      {"A02", fromUnixSeconds(1800000100), pki::RevocationReason::KeyCompromise, fromUnixSeconds(1790000000)},
      {"A03", fromUnixSeconds(1800000200), pki::RevocationReason::Unspecified, std::nullopt},
  };
  for (const auto& revocation : written) {
    auto appended = store.appendRevocation(ca(), revocation);
    ASSERT_TRUE(appended) << appended.error().message;
  }
  EXPECT_EQ(listState(selector("revocations")).size(), 2u);
  EXPECT_EQ(listState(selector("ledger")).size(), 0u);  // apart from the ledger

  SecretStateStore restarted(*client_, 2);
  auto revocations = restarted.loadRevocations(ca());
  ASSERT_TRUE(revocations) << revocations.error().message;
  ASSERT_EQ(revocations->size(), 3u);
  for (std::size_t i = 0; i < written.size(); ++i) {
    EXPECT_EQ((*revocations)[i].serialHex, written[i].serialHex);
    EXPECT_EQ((*revocations)[i].revokedAt, written[i].revokedAt);
    EXPECT_EQ((*revocations)[i].reason, written[i].reason);
    EXPECT_EQ((*revocations)[i].invalidityDate, written[i].invalidityDate);
  }
  EXPECT_TRUE(restarted.loadLedger(ca())->empty());
}

TEST_F(SecretStateStoreIntegration, FirstCrlListingsRoundTripInALogOfTheirOwn) {
  SecretStateStore store(*client_, 2);
  std::vector<CrlListing> written = {{"A01", 1800000000123u}, {"A02", 1800000000456u}, {"A03", 1800000000789u}};
  for (const auto& listing : written) {
    auto appended = store.appendCrlListing(ca(), listing);
    ASSERT_TRUE(appended) << appended.error().message;
  }
  EXPECT_EQ(listState(selector("first-crls")).size(), 2u);
  EXPECT_EQ(listState(selector("revocations")).size(), 0u);  // the previous release reads those, never these
  EXPECT_FALSE(store.appendCrlListing(ca(), {"0A01", 5}));  // never written in a form the reader refuses

  SecretStateStore restarted(*client_, 2);
  auto listings = restarted.loadCrlListings(ca());
  ASSERT_TRUE(listings) << listings.error().message;
  EXPECT_EQ(*listings, written);
  auto none = restarted.loadCrlListings(ObjectKey{ca().namespace_, "other-ca"});
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_TRUE(none->empty());
}

TEST_F(SecretStateStoreIntegration, VaultSecretRecordsRoundTripInALabelledSecret) {
  SecretStateStore store(*client_);
  SecretRecord record;
  record.certPem = "CERT\nCHAIN\n";
  record.keyPem = "KEY\n";
  record.serialHex = "ABCD";
  record.issuingCa = "mqtt-ca";
  record.caVersion = 2;
  record.notBefore = fromUnixSeconds(1700000000);
  record.notAfter = fromUnixSeconds(1800000000);
  record.specGeneration = 4;
  ASSERT_TRUE(store.saveSecret({namespace_, "server-cert"}, record));
  record.serialHex = "ABCE";  // re-issued: the same Secret, updated
  record.specGeneration = 5;
  ASSERT_TRUE(store.saveSecret({namespace_, "server-cert"}, record));

  SecretStateStore restarted(*client_);
  auto loaded = restarted.loadSecret({namespace_, "server-cert"});
  ASSERT_TRUE(loaded && *loaded) << (loaded ? "no record" : loaded.error().message);
  // Kept in memory as digests; the PEMs are read when asked for.
  EXPECT_FALSE((*loaded)->hasPems());
  EXPECT_EQ((*loaded)->certDigest, pki::sha256("CERT\nCHAIN\n"));
  EXPECT_EQ((*loaded)->keyDigest, pki::sha256("KEY\n"));
  auto withPems = restarted.loadSecretWithPems({namespace_, "server-cert"});
  ASSERT_TRUE(withPems && *withPems) << (withPems ? "no record" : withPems.error().message);
  EXPECT_EQ((*withPems)->certPem, "CERT\nCHAIN\n");
  EXPECT_EQ((*withPems)->keyPem, "KEY\n");
  EXPECT_EQ((*withPems)->serialHex, "ABCE");
  EXPECT_EQ((*loaded)->serialHex, "ABCE");
  EXPECT_EQ((*loaded)->issuingCa, "mqtt-ca");
  EXPECT_EQ((*loaded)->caVersion, 2);
  EXPECT_EQ((*loaded)->notBefore, record.notBefore);
  EXPECT_EQ((*loaded)->notAfter, record.notAfter);
  EXPECT_EQ((*loaded)->specGeneration, 5);
  auto never = restarted.loadSecret({namespace_, "never-issued"});
  ASSERT_TRUE(never);
  EXPECT_FALSE(*never);

  auto found = listState(std::string(kManagedSelector) + "," + kStateLabel + "=vaultsecret," + kVaultSecretLabel +
                         "=server-cert");
  ASSERT_EQ(found.size(), 1u);
  const json& secret = found.begin()->second;
  EXPECT_EQ(secret["metadata"]["name"], "revoca-vs-server-cert");
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_TRUE(secret["data"].contains("cert.pem"));
  EXPECT_TRUE(secret["data"].contains("cert.key"));
  EXPECT_TRUE(secret["data"].contains("record.json"));
}

SecretRecord recordOfSerial(const std::string& serialHex) {
  SecretRecord record;
  record.certPem = "CERT " + serialHex;
  record.keyPem = "KEY " + serialHex;
  record.serialHex = serialHex;
  record.issuingCa = "mqtt-ca";
  record.caVersion = 1;
  return record;
}

// A change among 10,000 VaultSecrets issues one certificate: its record is
// one write at the version listed at the start, with no read before it.
TEST_F(SecretStateStoreIntegration, ARecordListedOrWrittenIsWrittenAgainWithoutReadingItFirst) {
  ObjectKey key{namespace_, "server-cert"};
  ASSERT_TRUE(SecretStateStore(*client_).saveSecret(key, recordOfSerial("AB01")));

  CountingClient counting(*client_);
  SecretStateStore store(counting);
  ASSERT_TRUE(store.loadSecret(key));
  ASSERT_EQ(counting.lists, 1);
  ASSERT_TRUE(store.saveSecret(key, recordOfSerial("AB02")));
  ASSERT_TRUE(store.saveSecret(key, recordOfSerial("AB03")));
  EXPECT_EQ(counting.applies, 2);
  EXPECT_EQ(counting.calls(), 3) << "no read before either write";

  auto loaded = SecretStateStore(*client_).loadSecretWithPems(key);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->serialHex, "AB03");
  EXPECT_EQ((*loaded)->keyPem, "KEY AB03");
}

// Someone wrote the Secret after revoca read it: the write at the old
// version is refused, so revoca reads it and writes over what is there now,
// keeping what they added; deleted since, it is created again.
TEST_F(SecretStateStoreIntegration, ARecordChangedOrDeletedSinceItWasReadIsReadAgainNotOverwritten) {
  ObjectKey key{namespace_, "server-cert"};
  auto ref = secrets(namespace_, "revoca-vs-server-cert");
  CountingClient counting(*client_);
  SecretStateStore store(counting);
  ASSERT_TRUE(store.saveSecret(key, recordOfSerial("AB01")));

  auto secret = client_->get(ref);
  ASSERT_TRUE(secret.ok());
  (*secret.value)["metadata"]["annotations"]["backup.example.com/at"] = "now";
  (*secret.value)["data"]["note"] = kubeclient::encodeBase64("theirs");
  ASSERT_TRUE(client_->update(ref, *secret.value).ok());
  int before = counting.calls(), getsBefore = counting.gets;
  ASSERT_TRUE(store.saveSecret(key, recordOfSerial("AB02")));
  EXPECT_EQ(counting.applies, 1);
  EXPECT_EQ(counting.gets - getsBefore, 1);
  EXPECT_EQ(counting.calls() - before, 3) << "the refused write, a read, and the write";
  auto after = client_->get(ref);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after.value)["metadata"]["annotations"]["backup.example.com/at"], "now");
  EXPECT_EQ(*kubeclient::decodeBase64((*after.value)["data"]["note"].get<std::string>()), "theirs");
  EXPECT_EQ(*kubeclient::decodeBase64((*after.value)["data"]["cert.key"].get<std::string>()), "KEY AB02");

  ASSERT_TRUE(client_->remove(ref).ok());
  ASSERT_TRUE(store.saveSecret(key, recordOfSerial("AB03")));
  auto loaded = SecretStateStore(*client_).loadSecretWithPems(key);
  ASSERT_TRUE(loaded && *loaded) << (loaded ? "no record" : loaded.error().message);
  EXPECT_EQ((*loaded)->serialHex, "AB03");
}

// json::value throws on a field of another type; a missing one was read as a default.
TEST_F(SecretStateStoreIntegration, ARecordFieldOfTheWrongTypeIsAnErrorNamingTheField) {
  SecretRecord record;
  record.certPem = "CERT";
  record.keyPem = "KEY";
  record.serialHex = "AB01";
  record.issuingCa = "mqtt-ca";
  ASSERT_TRUE(SecretStateStore(*client_).saveSecret({namespace_, "server-cert"}, record));
  auto secret = client_->get(secrets(namespace_, "revoca-vs-server-cert"));
  ASSERT_TRUE(secret.ok());
  json fields = json::parse(*kubeclient::decodeBase64((*secret.value)["data"]["record.json"].get<std::string>()));
  fields["caVersion"] = "2";
  (*secret.value)["data"]["record.json"] = kubeclient::encodeBase64(fields.dump());
  ASSERT_TRUE(client_->update(secrets(namespace_, "revoca-vs-server-cert"), *secret.value).ok());
  auto loaded = SecretStateStore(*client_).loadSecretWithPems({namespace_, "server-cert"});
  ASSERT_FALSE(loaded);
  EXPECT_THAT(loaded.error().message, ::testing::HasSubstr("revoca-vs-server-cert: record.json field \"caVersion\""));
  EXPECT_THAT(loaded.error().message, ::testing::Not(::testing::HasSubstr("KEY")));
}

TEST_F(SecretStateStoreIntegration, ARecordDeletedBehindRevocasBackIsGoneOnceItsPemsAreAskedFor) {
  SecretStateStore store(*client_);
  ObjectKey key{namespace_, "server-cert"};
  SecretRecord record;
  record.certPem = "CERT";
  record.keyPem = "KEY";
  record.serialHex = "AB01";
  ASSERT_TRUE(store.saveSecret(key, record));
  auto kept = store.loadSecret(key);
  ASSERT_TRUE(kept && *kept);
  EXPECT_FALSE((*kept)->hasPems());

  ASSERT_TRUE(client_->remove(secrets(namespace_, "revoca-vs-server-cert")).ok());
  auto withPems = store.loadSecretWithPems(key);
  ASSERT_TRUE(withPems) << withPems.error().message;
  EXPECT_FALSE(*withPems);
  auto after = store.loadSecret(key);  // no record now: the next pass issues one
  ASSERT_TRUE(after);
  EXPECT_FALSE(*after);
}

TEST_F(SecretStateStoreIntegration, AFailedWriteNamesTheSecretAndNeverTheKey) {
  // A namespace that does not exist refuses the write (this apiserver
  // authorizes everything, so no 403 here); the message names the Secret
  // and never the key.
  SecretStateStore store(*client_);
  SecretRecord record;
  record.certPem = "CERT";
  record.keyPem = "SECRET-KEY-MATERIAL";
  auto saved = store.saveSecret({"revoca-no-such-namespace", "server-cert"}, record);
  ASSERT_FALSE(saved);
  EXPECT_THAT(saved.error().message, ::testing::HasSubstr("revoca-no-such-namespace/revoca-vs-server-cert"));
  EXPECT_THAT(saved.error().message, ::testing::Not(::testing::HasSubstr("SECRET-KEY-MATERIAL")));
}

// The real client, but the answers of some writes never arrive: the write
// goes out and takes (`taken`), or never reaches the apiserver, and the
// caller sees status 0 either way, as when a connection dies mid-request.
class LosingClient final : public kubeclient::ForwardingApiClient {
 public:
  explicit LosingClient(kubeclient::ApiClient& inner) : ForwardingApiClient(inner) {}
  std::atomic<int> toLose{0};  // the next this many writes (creates, updates and applies)
  std::atomic<bool> taken{true};
  std::atomic<int> writes{0};  // writes that reached the apiserver

  kubeclient::ApiResult<json> create(const kubeclient::ResourceRef& collection, const json& object) override {
    return lose([&] { return inner_.create(collection, object); });
  }
  kubeclient::ApiResult<json> update(const kubeclient::ResourceRef& object, const json& body) override {
    return lose([&] { return inner_.update(object, body); });
  }
  kubeclient::ApiResult<json> apply(const kubeclient::ResourceRef& object, const json& body,
                                    const std::string& fieldManager, bool force) override {
    return lose([&] { return inner_.apply(object, body, fieldManager, force); });
  }

 private:
  kubeclient::ApiResult<json> lose(const std::function<kubeclient::ApiResult<json>()>& write) {
    bool losing = toLose.fetch_sub(1) > 0;
    if (!losing || taken) {
      ++writes;
      auto result = write();
      if (!losing) return result;
    }
    return {std::nullopt, kubeclient::ApiError{0, "", "PUT https://apiserver/...: connection reset by peer"}};
  }
};

TEST_F(SecretStateStoreIntegration, AnAppendWhoseAnswerIsLostIsInTheLedgerOnce) {
  LosingClient losing(*client_);
  SecretStateStore store(losing, 3);
  losing.toLose = 1;  // the create of chunk 0 takes, its answer is lost
  ASSERT_TRUE(store.appendIssued(ca(), issued(1)));
  losing.toLose = 1;  // and the update that appends the next line
  ASSERT_TRUE(store.appendIssued(ca(), issued(2)));
  ASSERT_TRUE(store.appendIssued(ca(), issued(3)));
  auto chunks = listState(selector("ledger"));
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_EQ(linesOf(chunks.begin()->second),
            (std::vector<std::string>{ledgerLine(issued(1)), ledgerLine(issued(2)), ledgerLine(issued(3))}));

  // A write that never reached the apiserver is sent again.
  losing.toLose = 1;
  losing.taken = false;
  ASSERT_TRUE(store.appendIssued(ca(), issued(4)));
  SecretStateStore restarted(*client_, 3);
  auto ledger = restarted.loadLedger(ca());
  ASSERT_TRUE(ledger);
  ASSERT_EQ(ledger->size(), 4u);
  EXPECT_EQ((*ledger)[3].serialHex, issued(4).serialHex);
}

TEST_F(SecretStateStoreIntegration, ARecordWhoseWriteFailedIsWrittenAtTheNextLoadNotLost) {
  LosingClient losing(*client_);
  SecretStateStore store(losing);
  ObjectKey key{namespace_, "server-cert"};
  ASSERT_TRUE(store.loadSecret(key));  // none yet
  SecretRecord record;
  record.certPem = "CERT";
  record.keyPem = "KEY";
  record.serialHex = "AB01";
  record.notBefore = fromUnixSeconds(1700000000);
  losing.toLose = 100;  // the apiserver is away: nothing reaches it
  losing.taken = false;
  EXPECT_FALSE(store.saveSecret(key, record));
  // Still away: the load says so instead of "no record" (which would issue another certificate).
  EXPECT_FALSE(store.loadSecret(key));
  losing.toLose = 0;
  auto loaded = store.loadSecret(key);
  ASSERT_TRUE(loaded && *loaded) << (loaded ? "no record" : loaded.error().message);
  EXPECT_EQ((*loaded)->serialHex, "AB01");
  auto again = SecretStateStore(*client_).loadSecret(key);
  ASSERT_TRUE(again && *again);
  EXPECT_EQ((*again)->serialHex, "AB01");

  // A renewal whose write took but whose answer was lost: read back, not written twice.
  record.serialHex = "AB02";
  record.notBefore = fromUnixSeconds(1700000100);
  losing.toLose = 1;
  losing.taken = true;
  EXPECT_FALSE(store.saveSecret(key, record));
  int writes = losing.writes;
  loaded = store.loadSecret(key);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->serialHex, "AB02");
  EXPECT_EQ(losing.writes, writes);

  // An unsaved record older than what another leader wrote meanwhile gives way to it.
  record.serialHex = "AB03";
  record.notBefore = fromUnixSeconds(1700000200);
  losing.toLose = 1;
  losing.taken = false;
  EXPECT_FALSE(store.saveSecret(key, record));
  SecretRecord newer = record;
  newer.serialHex = "AB04";
  newer.notBefore = fromUnixSeconds(1700000300);
  ASSERT_TRUE(SecretStateStore(*client_).saveSecret(key, newer));
  loaded = store.loadSecret(key);
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->serialHex, "AB04");
}

TEST_F(SecretStateStoreIntegration, AChunkEndsAtItsByteCapBeforeItsLineCount) {
  // Long subjects: lines of ~318 bytes fill chunk 0 up to kMaxChunkBytes.
  IssuedCertificate longest{std::string(32, 'F'), 1, fromUnixSeconds(4102444800), std::string(253, 'h')};
  std::string entries;
  while (entries.size() + ledgerLine(longest).size() + 1 <= kMaxChunkBytes) entries += ledgerLine(longest) + "\n";
  createChunk(0, entries);
  SecretStateStore store(*client_);
  ASSERT_TRUE(store.appendIssued(ca(), longest));
  auto chunks = listState(selector("ledger"));
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(linesOf(chunks["revoca-ledger-mqtt-ca-1"]).size(), 1u);
  for (const auto& [name, secret] : chunks)
    EXPECT_LT(secret["data"]["entries"].get<std::string>().size(), 1024u * 1024u) << name;
}

// A ledger line edited by hand was skipped: its certificate answered OCSP "unknown".
TEST_F(SecretStateStoreIntegration, AGarbledChunkLineIsAnErrorNamingTheSecretAndTheLine) {
  createChunk(0, ledgerLine(issued(1)) + "\n" + "4f0a01 1 1800000000 lower-case serial\n");
  SecretStateStore store(*client_);
  auto ledger = store.loadLedger(ca());
  ASSERT_FALSE(ledger);
  EXPECT_THAT(ledger.error().message,
              ::testing::HasSubstr("line 2 of data.entries in Secret " + namespace_ + "/revoca-ledger-mqtt-ca-0"));
  EXPECT_THAT(ledger.error().message, ::testing::HasSubstr("restore the Secret from a backup"));
  EXPECT_FALSE(store.appendIssued(ca(), issued(2)));  // nothing appended past a chunk it cannot read
}

TEST_F(SecretStateStoreIntegration, AHundredThousandSerialsAtTheDefaultChunkSize) {
  // Full chunks and one short of full, as earlier runs left them (one
  // append at a time would take hours); the store fills the last and opens
  // the next, and a restart reads all 100,001 back in order.
  auto started = std::chrono::steady_clock::now();
  constexpr int kTotal = 100000;
  constexpr int kLines = static_cast<int>(kDefaultChunkSize);
  constexpr int kChunks = kTotal / kLines;  // the last one opened by the 100,001st serial
  for (int chunk = 0; chunk * kLines < kTotal - 1; ++chunk) {
    std::string entries;
    for (int n = chunk * kLines; n < std::min((chunk + 1) * kLines, kTotal - 1); ++n) entries += ledgerLine(issued(n)) + "\n";
    createChunk(chunk, entries);
  }
  SecretStateStore store(*client_);
  auto ledger = store.loadLedger(ca());
  ASSERT_TRUE(ledger) << ledger.error().message;
  ASSERT_EQ(ledger->size(), static_cast<std::size_t>(kTotal - 1));
  ASSERT_TRUE(store.appendIssued(ca(), issued(kTotal - 1)));  // the last line of the last full chunk
  ASSERT_TRUE(store.appendIssued(ca(), issued(kTotal)));      // a new chunk

  auto chunks = listState(selector("ledger"));
  ASSERT_EQ(chunks.size(), static_cast<std::size_t>(kChunks + 1));
  std::string lastChunk = "revoca-ledger-mqtt-ca-" + std::to_string(kChunks);
  std::size_t largest = 0;
  for (const auto& [name, secret] : chunks) {
    std::size_t encoded = secret["data"]["entries"].get<std::string>().size();
    largest = std::max(largest, encoded);
    EXPECT_LT(encoded, 1024u * 1024u) << name;
    EXPECT_EQ(linesOf(secret).size(), name == lastChunk ? 1u : kDefaultChunkSize) << name;
  }

  SecretStateStore restarted(*client_);
  auto loadStarted = std::chrono::steady_clock::now();
  ledger = restarted.loadLedger(ca());
  auto loadTook = std::chrono::steady_clock::now() - loadStarted;
  ASSERT_TRUE(ledger) << ledger.error().message;
  ASSERT_EQ(ledger->size(), static_cast<std::size_t>(kTotal + 1));
  for (int n = 0; n <= kTotal; ++n) ASSERT_EQ((*ledger)[n].serialHex, issued(n).serialHex) << n;
  auto took = std::chrono::steady_clock::now() - started;
  std::printf("100,001 serials in %d chunks, largest %zu bytes of base64; a cold load took %lld ms, all %lld ms\n",
              kChunks + 1, largest, static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(loadTook).count()),
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
  EXPECT_LT(took, std::chrono::seconds(60));
}

}  // namespace
}  // namespace revoca::kubernetes
