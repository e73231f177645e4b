#include "cli/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "config_test_util.h"

namespace walship::cli {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::Parse;

// DESIGN.md §1.3, with one choice made wherever the design lists options.
constexpr char kFullConfig[] = R"(
fuse:   { dir: /litefs, allow-other: true, debug: true, passthrough: false }
data:   { dir: /var/lib/walship, compress: false, retention: 20m, retention-monitor-interval: 30s }
exec:   "myapp -addr :8081"
skip-sync: true
exit-on-error: false
http:   { addr: ":20203" }
proxy:  { addr: ":8080", target: "localhost:8081", db: "my.db", max-lag: 5s,
          passthrough: ["/debug/*", "*.png"], always-forward: ["/login"] }
lease:
  type: etcd
  hostname: node1
  advertise-url: http://node1:20203
  candidate: false
  promote: true
  reconnect-delay: 2s
  static: {}
  etcd: { endpoints: ["http://127.0.0.1:2379", "https://10.0.0.2:2379"], key: app/primary, ttl: 4s }
backup:
  type: s3
  url: s3://bucket/prefix
  endpoint: http://127.0.0.1:4568
  region: eu-west-1
  access-key-id: ${AWS_ACCESS_KEY_ID}
  secret-access-key: ${AWS_SECRET_ACCESS_KEY}
  encryption-key: ${WALSHIP_BACKUP_KEY}
log:    { format: json, debug: true }
)";

const std::string kKey(64, 'a');

TEST(Config, FullExampleParses) {
  Result<Config> r = Parse(kFullConfig, {{"AWS_ACCESS_KEY_ID", "AKID"},
                                         {"AWS_SECRET_ACCESS_KEY", "SECRET"},
                                         {"WALSHIP_BACKUP_KEY", kKey}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.source_path, "walship.yml");
  EXPECT_EQ(c.fuse.dir, "/litefs");
  EXPECT_TRUE(c.fuse.allow_other);
  EXPECT_TRUE(c.fuse.debug);
  EXPECT_FALSE(c.fuse.passthrough);
  EXPECT_EQ(c.data.dir, "/var/lib/walship");
  EXPECT_FALSE(c.data.compress);
  EXPECT_EQ(c.data.retention, minutes(20));
  EXPECT_EQ(c.data.retention_monitor_interval, seconds(30));
  ASSERT_EQ(c.exec.size(), 1u);
  EXPECT_EQ(c.exec[0].cmd, "myapp -addr :8081");
  EXPECT_FALSE(c.exec[0].if_candidate);
  EXPECT_TRUE(c.skip_sync);
  EXPECT_FALSE(c.exit_on_error);
  EXPECT_EQ(c.http.addr, ":20203");
  EXPECT_EQ(c.proxy.addr, ":8080");
  EXPECT_EQ(c.proxy.target, "localhost:8081");
  EXPECT_EQ(c.proxy.db, "my.db");
  EXPECT_EQ(c.proxy.max_lag, seconds(5));
  EXPECT_EQ(c.proxy.passthrough, (std::vector<std::string>{"/debug/*", "*.png"}));
  EXPECT_EQ(c.proxy.always_forward, (std::vector<std::string>{"/login"}));
  EXPECT_EQ(c.lease.type, "etcd");
  EXPECT_EQ(c.lease.hostname, "node1");
  EXPECT_EQ(c.lease.advertise_url, "http://node1:20203");
  EXPECT_FALSE(c.lease.candidate);
  EXPECT_TRUE(c.lease.promote);
  EXPECT_EQ(c.lease.reconnect_delay, seconds(2));
  EXPECT_EQ(c.lease.etcd.endpoints,
            (std::vector<std::string>{"http://127.0.0.1:2379", "https://10.0.0.2:2379"}));
  EXPECT_EQ(c.lease.etcd.key, "app/primary");
  EXPECT_EQ(c.lease.etcd.ttl, seconds(4));
  EXPECT_EQ(c.backup.type, "s3");
  EXPECT_EQ(c.backup.url, "s3://bucket/prefix");
  EXPECT_EQ(c.backup.endpoint, "http://127.0.0.1:4568");
  EXPECT_EQ(c.backup.region, "eu-west-1");
  EXPECT_EQ(c.backup.access_key_id, "AKID");
  EXPECT_EQ(c.backup.secret_access_key, "SECRET");
  EXPECT_EQ(c.backup.encryption_key, kKey);
  EXPECT_EQ(c.log.format, "json");
  EXPECT_TRUE(c.log.debug);
  EXPECT_TRUE(ValidateForMount(c).ok());
}

std::string Hostname() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return host;
}

TEST(Config, EmptyFileGivesDefaults) {
  Result<Config> r = Parse("");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Config& c = *r;
  EXPECT_EQ(c.fuse.dir, "/litefs");  // LiteFS's defaults
  EXPECT_EQ(c.data.dir, "/var/lib/litefs");
  EXPECT_TRUE(ValidateForMount(c).ok());  // so a mount needs neither key
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_FALSE(c.fuse.allow_other);
  EXPECT_FALSE(c.fuse.allow_non_empty);
  EXPECT_TRUE(c.fuse.passthrough);
  EXPECT_TRUE(c.data.compress);
  EXPECT_EQ(c.data.retention, minutes(10));
  EXPECT_EQ(c.data.retention_monitor_interval, minutes(1));
  EXPECT_TRUE(c.exec.empty());
  EXPECT_FALSE(c.skip_sync);
  EXPECT_TRUE(c.exit_on_error);
  EXPECT_EQ(c.http.addr, ":20202");
  EXPECT_TRUE(c.proxy.addr.empty());
  EXPECT_EQ(c.proxy.max_lag, seconds(10));
  EXPECT_EQ(c.lease.type, "static");
  EXPECT_TRUE(c.lease.candidate);
  EXPECT_FALSE(c.lease.promote);
  EXPECT_EQ(c.lease.reconnect_delay, seconds(1));
  EXPECT_EQ(c.lease.hostname, Hostname());
  EXPECT_EQ(c.lease.advertise_url, "http://" + Hostname() + ":20202");
  EXPECT_EQ(c.lease.etcd.key, "walship/primary");
  EXPECT_EQ(c.lease.etcd.ttl, seconds(2));
  EXPECT_TRUE(c.backup.type.empty());
  EXPECT_EQ(c.backup.region, "us-east-1");
  EXPECT_EQ(c.backup.delay, seconds(1));
  EXPECT_EQ(c.backup.snapshot_interval, std::chrono::hours(24));
  EXPECT_EQ(c.backup.retention, std::chrono::hours(72));
  EXPECT_EQ(c.log.format, "text");
  EXPECT_FALSE(c.log.debug);
}

TEST(Config, NullValuesKeepDefaults) {
  Result<Config> r = Parse("fuse:\ndata:\n  retention:\nlease:\n  candidate: ${UNSET}\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->data.retention, minutes(10));
  EXPECT_TRUE(r->lease.candidate);
}

TEST(Config, ExecAsList) {
  Result<Config> r = Parse(R"(
exec:
  - cmd: "myapp migrate"
    if-candidate: true
  - cmd: "myapp serve"
  - "myapp worker"
)");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exec.size(), 3u);
  EXPECT_EQ(r->exec[0].cmd, "myapp migrate");
  EXPECT_TRUE(r->exec[0].if_candidate);
  EXPECT_EQ(r->exec[1].cmd, "myapp serve");
  EXPECT_FALSE(r->exec[1].if_candidate);
  EXPECT_EQ(r->exec[2].cmd, "myapp worker");
}

TEST(Config, EnvExpansionBothSyntaxes) {
  Result<Config> r = Parse("fuse: { dir: ${MNT} }\ndata: { dir: $DATA/x }\n",
                           {{"MNT", "/mnt/a"}, {"DATA", "/srv"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fuse.dir, "/mnt/a");
  EXPECT_EQ(r->data.dir, "/srv/x");
}

TEST(Config, AuthTokenFromTheEnvironment) {
  Result<Config> r = Parse("http:\n  auth-token: ${TOKEN}\n", {{"TOKEN", "s3cr3t"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http.auth_token, "s3cr3t");
  r = Parse("http: { addr: \":1\" }\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->http.auth_token, "");
}

TEST(Config, AuthTokenWithSpacesIsRefusedWithoutShowingIt) {
  Result<Config> r = Parse("http:\n  auth-token: \"my secret\"\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("http.auth-token"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(r.status().message().find("my secret"), std::string::npos) << r.status().message();
}

TEST(Config, EnvComparisonDrivesCandidate) {
  constexpr char kYaml[] =
      "lease:\n  candidate: ${FLY_REGION == PRIMARY_REGION}\n"
      "  advertise-url: http://primary:20202\n";
  Result<Config> primary = Parse(kYaml, {{"FLY_REGION", "ams"}, {"PRIMARY_REGION", "ams"}});
  ASSERT_TRUE(primary.ok()) << primary.status().ToString();
  EXPECT_TRUE(primary->lease.candidate);
  Result<Config> replica = Parse(kYaml, {{"FLY_REGION", "fra"}, {"PRIMARY_REGION", "ams"}});
  ASSERT_TRUE(replica.ok()) << replica.status().ToString();
  EXPECT_FALSE(replica->lease.candidate);
}

TEST(Config, NoExpandEnvKeepsText) {
  Result<Config> r =
      ParseConfig("fuse: { dir: \"${MNT}\" }\nexec: \"echo $HOME\"\n",
                  /*expand_env=*/false, "walship.yml", testing::FakeEnv({{"MNT", "/x"}}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->fuse.dir, "${MNT}");
  EXPECT_EQ(r->exec[0].cmd, "echo $HOME");
}

TEST(Config, StaticReplicaNamesPrimary) {
  Result<Config> r =
      Parse("lease: { type: static, candidate: false, advertise-url: http://node1:20202 }");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lease.hostname, "node1");  // the primary's, derived from its URL
  EXPECT_EQ(r->lease.advertise_url, "http://node1:20202");
}

TEST(Config, StaticPrimaryAdvertisesItself) {
  Result<Config> r = Parse("lease: { hostname: node1 }\nhttp: { addr: \"127.0.0.1:30000\" }");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lease.advertise_url, "http://node1:30000");
}

TEST(Config, TlsFilesAndAnHttpsAdvertiseUrl) {
  Result<Config> r = Parse(
      "lease: { hostname: node1 }\n"
      "http: { addr: \":30000\", tls-cert: /dev/null, tls-key: /dev/null, tls-ca: /dev/null }");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->lease.advertise_url, "https://node1:30000");  // derived: the API is HTTPS
  EXPECT_EQ(r->http.tls().cert, "/dev/null");
  EXPECT_EQ(r->http.credentials().tls.ca, "/dev/null");
}

TEST(Config, BooleansAcceptYamlSpellings) {
  Result<Config> r = Parse("fuse: { allow-other: yes, debug: on }\ndata: { compress: False }");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->fuse.allow_other);
  EXPECT_TRUE(r->fuse.debug);
  EXPECT_FALSE(r->data.compress);
}

TEST(Config, FileBackup) {
  Result<Config> r = Parse("backup: { type: file, path: /backups }");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->backup.type, "file");
  EXPECT_EQ(r->backup.path, "/backups");
}

TEST(Config, ValidateAcceptsDefaults) {
  Config c;
  EXPECT_TRUE(Validate(c).ok());
  EXPECT_TRUE(ValidateForMount(c).ok()) << ValidateForMount(c).ToString();  // LiteFS's dirs
  c.fuse.dir.clear();
  EXPECT_FALSE(ValidateForMount(c).ok());
}


TEST(Config, BackupDurations) {
  Result<Config> r = Parse(
      "backup:\n  type: file\n  path: /b\n  delay: 250ms\n  snapshot-interval: 1h\n"
      "  retention: 168h\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->backup.delay, std::chrono::milliseconds(250));
  EXPECT_EQ(r->backup.snapshot_interval, std::chrono::hours(1));
  EXPECT_EQ(r->backup.retention, std::chrono::hours(168));
}

}  // namespace
}  // namespace walship::cli
