// The standalone backend end to end in one process: a DeclarationPass over
// a FileStateStore and a DirectoryOutput, and a restart over the same state.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/x509.h>

#include <filesystem>

#include "pki/certificate.h"
#include "reconcilers/declaration_pass.h"
#include "standalone/directory_output.h"
#include "standalone/file_state_store.h"
#include "testing/temp_dir.h"

namespace revoca {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::contentsOf;
using testing::TempDir;

class SystemStatusSink : public StatusSink {
 public:
  void report(Kind kind, const ObjectMeta& meta, const ObjectStatus& status) override {
    statuses[kindName(kind) + " " + meta.namespace_ + "/" + meta.name] = status;
  }
  std::map<std::string, ObjectStatus> statuses;
};

DeclarationSet seedDeclarations() {
  DeclarationSet set;
  CertificateAuthority ca;
  ca.meta.name = "mqtt-ca";
  ca.spec.crlDistUrls = {"http://api.internal:4664/crl-pem/${SYS_TENANT_NAME}/${SYS_CA_NAME}/${SYS_CA_VERSION}"};
  ca.spec.ocspResponderUrls = {"http://api.internal:4664/ocsp/${SYS_TENANT_UUID}/${SYS_CA_NAME}"};
  ca.spec.distributeDeployments = {"emqx"};
  set.authorities.push_back(ca);
  Vault vault;
  vault.meta.name = "mqtt-vault";
  vault.spec.distributeDeployments = {"emqx"};
  set.vaults.push_back(vault);
  VaultSecret secret;
  secret.meta.name = "server-cert";
  secret.spec.vault = "mqtt-vault";
  secret.spec.autoCert.issuingCa = "mqtt-ca";
  secret.spec.autoCert.host = "mqtt.emqx.internal";
  secret.spec.fileMode = 0400;
  set.vaultSecrets.push_back(secret);
  EmqxDeployment emqx;
  emqx.meta.name = "emqx";
  emqx.spec.vault = "mqtt-vault";
  emqx.spec.secret = "server-cert";
  emqx.spec.crl.enabled = true;
  emqx.spec.ocspStapling.enabled = true;
  set.emqxDeployments.push_back(emqx);
  return set;
}

// One process lifetime of the standalone backend.
struct Instance {
  explicit Instance(const TempDir& dir)
      : store(std::move(FileStateStore::open(dir.file("state")).value())), output(dir.file("out")) {}
  TimePoint run(const DeclarationSet& set) {
    DeclarationPass pass(ReconcileContext{service, *store, output, clock}, registry, sink);
    return pass.run(set);
  }
  SystemClock clock;
  std::unique_ptr<FileStateStore> store;
  DirectoryOutput output;
  CaRegistry registry{clock};
  AuthorityService service{*store, registry, clock};
  SystemStatusSink sink;
  std::map<std::string, ObjectStatus>& statuses = sink.statuses;
};

TEST(StandalonePass, SeedDeclarationsProduceFilesAndSurviveARestart) {
  TempDir dir;
  DeclarationSet set = seedDeclarations();
  std::string deployment = dir.file("out/default/emqx");
  std::string firstCert, firstData, uuid;
  {
    Instance instance(dir);
    instance.run(set);
    for (const auto& [name, status] : instance.statuses) EXPECT_TRUE(status.ready) << name << ": " << status.message;
    firstCert = contentsOf(deployment + "/cert.pem");
    firstData = fs::read_symlink(deployment + "/..data").string();
    uuid = std::get<CertificateAuthorityFacts>(instance.statuses["CertificateAuthority default/mqtt-ca"].facts).tenantUuid;
    EXPECT_EQ(instance.registry.crl(uuid, "mqtt-ca", "1")->crlNumber, 1u);
  }
  auto leaf = pki::Certificate::fromPem(firstCert);
  ASSERT_TRUE(leaf.ok());
  auto caCerts = pki::Certificate::allFromPem(contentsOf(deployment + "/ca-cert.pem"));
  ASSERT_TRUE(caCerts.ok());
  ASSERT_EQ(caCerts->size(), 1u);
  EXPECT_EQ(X509_verify(leaf->get(), X509_get0_pubkey((*caCerts)[0].get())), 1);
  EXPECT_THAT(contentsOf(deployment + "/cert.key"), HasSubstr("PRIVATE KEY"));
  EXPECT_EQ(contentsOf(deployment + "/mqtt-ca.ca.pem"), contentsOf(deployment + "/ca-cert.pem"));
  std::string env = contentsOf(deployment + "/emqx.env");
  EXPECT_THAT(env, HasSubstr("EMQX_LISTENERS__SSL__DEFAULT__SSL_OPTIONS__OCSP__RESPONDER_URL=\"http://api.internal:4664/ocsp/" +
                             uuid + "/mqtt-ca/\"\n"));
  EXPECT_THAT(env, HasSubstr("EMQX_CRL_CACHE__REFRESH_INTERVAL=5m\n"));

  // A restart: same tenant, same CA, same certificate, files untouched; the CRL number grows.
  Instance restarted(dir);
  restarted.run(set);
  for (const auto& [name, status] : restarted.statuses) EXPECT_TRUE(status.ready) << name << ": " << status.message;
  EXPECT_EQ(std::get<CertificateAuthorityFacts>(restarted.statuses["CertificateAuthority default/mqtt-ca"].facts).tenantUuid, uuid);
  EXPECT_EQ(contentsOf(deployment + "/cert.pem"), firstCert);
  EXPECT_EQ(fs::read_symlink(deployment + "/..data").string(), firstData);
  EXPECT_EQ(restarted.registry.crl(uuid, "mqtt-ca", "1")->crlNumber, 2u);
  EXPECT_EQ(restarted.registry.issuedCount(ObjectKey{"default", "mqtt-ca"}), 1u);
}

}  // namespace
}  // namespace revoca
