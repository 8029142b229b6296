#include "reconcilers/renewal.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "tests/reconcilers/fakes.h"

namespace revoca {
namespace {

using testing::kDay;
using testing::kHour;

const TimePoint kT0 = fromUnixSeconds(1714564800);  // 2024-05-01T12:00:00Z

TEST(RenewalJitter, StaysWithinATenthOfTheThresholdCappedAtOneDay) {
  for (Seconds threshold : {Seconds(10), Seconds(100), kHour, 10 * kHour, 5 * kDay, 15 * kDay, 365 * kDay}) {
    Seconds cap = std::min<Seconds>(threshold / 10, kDay);
    for (int i = 0; i < 200; ++i) {
      Seconds jitter = renewalJitter("default/secret-" + std::to_string(i), threshold);
      EXPECT_GE(jitter.count(), 0) << threshold.count();
      EXPECT_LE(jitter, cap) << threshold.count();
    }
  }
}

TEST(RenewalJitter, IsZeroWhenTheThresholdLeavesNoRoom) {
  EXPECT_EQ(renewalJitter("default/a", Seconds(0)), Seconds(0));
  EXPECT_EQ(renewalJitter("default/a", Seconds(9)), Seconds(0));
  EXPECT_EQ(renewalJitter("default/a", Seconds(-100)), Seconds(0));
}

TEST(RenewalJitter, IsStableForTheSameKey) {
  for (const std::string key : {"default/server-cert", "prod/x", ""})
    EXPECT_EQ(renewalJitter(key, 15 * kDay), renewalJitter(key, 15 * kDay)) << key;
}

TEST(RenewalJitter, SpreadsKeysOverMoreThanHalfTheRange) {
  const Seconds threshold = 15 * kDay;  // span capped at one day
  const std::int64_t span = kDay.count();
  std::set<std::int64_t> values;
  std::int64_t lowest = span, highest = 0;
  for (int i = 0; i < 1000; ++i) {
    std::int64_t jitter = renewalJitter("tenant-a/server-cert-" + std::to_string(i), threshold).count();
    values.insert(jitter);
    lowest = std::min(lowest, jitter);
    highest = std::max(highest, jitter);
  }
  EXPECT_GT(highest - lowest, span / 2);
  // Nearly every key gets its own second; a weak hash would collide in bulk.
  EXPECT_GT(values.size(), 950u);
  // And they do not bunch in one half.
  auto lowerHalf = std::count_if(values.begin(), values.end(), [&](std::int64_t v) { return v < span / 2; });
  EXPECT_GT(lowerHalf, 300);
  EXPECT_LT(lowerHalf, 700);
  EXPECT_NE(renewalJitter("default/a", threshold), renewalJitter("default/b", threshold));
}

SecretRecord recordAt(TimePoint notAfter) {
  SecretRecord record;
  record.serialHex = "0A";
  record.issuingCa = "mqtt-ca";
  record.caVersion = 1;
  record.notBefore = notAfter - 30 * kDay;
  record.notAfter = notAfter;
  record.specGeneration = 3;
  return record;
}

AutoCertSpec autoCert() {
  AutoCertSpec spec;
  spec.issuingCa = "mqtt-ca";
  spec.host = "mqtt.emqx.internal";
  spec.ttl = 30 * kDay;
  spec.refreshThreshold = 15 * kDay;
  return spec;
}

TEST(SecretRenewalTime, IsNotAfterMinusThresholdMinusJitter) {
  SecretRecord record = recordAt(kT0 + 30 * kDay);
  AutoCertSpec spec = autoCert();
  EXPECT_EQ(secretRenewalTime(record, spec, "default/server-cert"),
            record.notAfter - spec.refreshThreshold - renewalJitter("default/server-cert", spec.refreshThreshold));
}

TEST(ReissueReasonName, NamesEveryReason) {
  EXPECT_EQ(reissueReasonName(ReissueReason::None), "None");
  EXPECT_EQ(reissueReasonName(ReissueReason::Missing), "Missing");
  EXPECT_EQ(reissueReasonName(ReissueReason::SpecChanged), "SpecChanged");
  EXPECT_EQ(reissueReasonName(ReissueReason::IssuerChanged), "IssuerChanged");
  EXPECT_EQ(reissueReasonName(ReissueReason::CaVersionRetired), "CaVersionRetired");
  EXPECT_EQ(reissueReasonName(ReissueReason::Revoked), "Revoked");
  EXPECT_EQ(reissueReasonName(ReissueReason::NearExpiry), "NearExpiry");
}

class DecideReissue : public ::testing::Test {
 protected:
  const std::string key = "default/server-cert";
  AutoCertSpec spec = autoCert();
  SecretRecord record = recordAt(kT0 + 30 * kDay);
  ReissueInputs facts() {
    ReissueInputs f;
    f.record = &record;
    f.generation = record.specGeneration;
    f.liveCaVersions = {1, 2};
    return f;
  }
};

TEST_F(DecideReissue, NothingToDoForAFreshCertificate) {
  EXPECT_EQ(decideReissue(facts(), spec, key, kT0), ReissueReason::None);
}

TEST_F(DecideReissue, FirstMatchingCheckWinsInChainOrder) {
  // Every check would fire; each step fixes the winning one and the next wins.
  ReissueInputs f = facts();
  f.record = nullptr;
  f.generation = 4;
  f.revoked = true;
  f.liveCaVersions = {2};
  spec.issuingCa = "other-ca";
  TimePoint late = record.notAfter;  // near expiry too
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::Missing);

  f.record = &record;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::SpecChanged);

  f.generation = record.specGeneration;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::IssuerChanged);

  spec.issuingCa = record.issuingCa;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::CaVersionRetired);

  f.liveCaVersions = {1, 2};
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::Revoked);

  f.revoked = false;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::NearExpiry);

  EXPECT_EQ(decideReissue(f, spec, key, kT0), ReissueReason::None);
}

TEST_F(DecideReissue, NearExpiryExactlyAtThresholdMinusJitter) {
  Seconds jitter = renewalJitter(key, spec.refreshThreshold);
  TimePoint due = record.notAfter - spec.refreshThreshold - jitter;
  EXPECT_EQ(decideReissue(facts(), spec, key, due - Seconds(1)), ReissueReason::None);
  EXPECT_EQ(decideReissue(facts(), spec, key, due), ReissueReason::NearExpiry);
  EXPECT_EQ(decideReissue(facts(), spec, key, due + Seconds(1)), ReissueReason::NearExpiry);
}

TEST_F(DecideReissue, JitterMovesTheDueTimePerKey) {
  // Two keys with different jitter: the one with more jitter renews earlier.
  std::string a = "default/a", b = "default/b";
  Seconds ja = renewalJitter(a, spec.refreshThreshold), jb = renewalJitter(b, spec.refreshThreshold);
  ASSERT_NE(ja, jb);
  const std::string& earlier = ja > jb ? a : b;
  const std::string& later = ja > jb ? b : a;
  TimePoint between = record.notAfter - spec.refreshThreshold - std::min(ja, jb) - Seconds(1);
  EXPECT_EQ(decideReissue(facts(), spec, earlier, between), ReissueReason::NearExpiry);
  EXPECT_EQ(decideReissue(facts(), spec, later, between), ReissueReason::None);
}

TEST_F(DecideReissue, NoNearExpiryWhenTheSigningCaVersionCapsTheCertificate) {
  // A new certificate would end where this one does: renewing gains nothing.
  ReissueInputs f = facts();
  TimePoint late = record.notAfter - Seconds(1);
  f.signerNotAfter = record.notAfter;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::None);
  // Other reasons still re-issue under the cap.
  f.revoked = true;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::Revoked);
  f.revoked = false;
  // Once the CA has rotated, its new version signs for longer.
  f.signerNotAfter = record.notAfter + kDay;
  EXPECT_EQ(decideReissue(f, spec, key, late), ReissueReason::NearExpiry);
}

TEST(CaRenewalTime, IsNotAfterMinusRenewThreshold) {
  CaVersionRecord version;
  version.notBefore = kT0;
  version.notAfter = kT0 + 365 * kDay;
  CertificateAuthoritySpec spec;
  spec.renewThreshold = 30 * kDay;
  EXPECT_EQ(caRenewalTime(version, spec), kT0 + 335 * kDay);
  spec.renewThreshold = Seconds(0);
  EXPECT_EQ(caRenewalTime(version, spec), version.notAfter);
}

CaRecord twoVersions() {
  CaRecord record;
  record.versions.push_back({1, "", "", kT0, kT0 + 100 * kDay, std::nullopt});
  record.versions.push_back({2, "", "", kT0 + 70 * kDay, kT0 + 170 * kDay, std::nullopt});
  return record;
}

TEST(LiveCaVersions, NewestAloneWhenNothingElseIsSigned) {
  CaRecord record;
  record.versions.push_back({1, "", "", kT0, kT0 + 100 * kDay, std::nullopt});
  EXPECT_EQ(liveCaVersions(record, {}, kT0), std::vector<int>{1});
  EXPECT_EQ(liveCaVersions(CaRecord{}, {}, kT0), std::vector<int>{});
}

TEST(LiveCaVersions, OldVersionStaysWhileItsLeavesAreUnexpired) {
  CaRecord record = twoVersions();
  std::map<int, TimePoint> leaves{{1, kT0 + 90 * kDay}, {2, kT0 + 100 * kDay}};
  EXPECT_EQ(liveCaVersions(record, leaves, kT0 + 71 * kDay), (std::vector<int>{1, 2}));
  EXPECT_EQ(liveCaVersions(record, leaves, kT0 + 90 * kDay - Seconds(1)), (std::vector<int>{1, 2}));
  // The last leaf of version 1 has expired: only the newest is left.
  EXPECT_EQ(liveCaVersions(record, leaves, kT0 + 90 * kDay), std::vector<int>{2});
}

TEST(LiveCaVersions, OldVersionGoesWithoutLeavesOrOnceItExpires) {
  CaRecord record = twoVersions();
  EXPECT_EQ(liveCaVersions(record, {{2, kT0 + 100 * kDay}}, kT0 + 71 * kDay), std::vector<int>{2});
  // A leaf outliving its CA (it cannot, issue() caps it) does not keep an expired version.
  std::map<int, TimePoint> leaves{{1, kT0 + 120 * kDay}};
  EXPECT_EQ(liveCaVersions(record, leaves, kT0 + 99 * kDay), (std::vector<int>{1, 2}));
  EXPECT_EQ(liveCaVersions(record, leaves, kT0 + 100 * kDay), std::vector<int>{2});
}

TEST(LiveCaVersions, NewestStaysEvenWhenExpired) {
  CaRecord record = twoVersions();
  EXPECT_EQ(liveCaVersions(record, {}, kT0 + 400 * kDay), std::vector<int>{2});
}

}  // namespace
}  // namespace revoca
