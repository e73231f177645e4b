// One test per configuration error: each asserts the message names the file,
// the line and the key, so a user can go straight to the mistake.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cli/config.h"
#include "config_test_util.h"

namespace walship::cli {
namespace {

using ::testing::HasSubstr;
using testing::Parse;
using testing::ParseError;
using ::testing::StartsWith;

TEST(ConfigErrors, UnknownKeyNamesKeyAndLine) {
  EXPECT_EQ(ParseError("# comment\n\ndata:\n  dir: /d\n\nfuse:\n  dirr: /litefs\n"),
            "walship.yml:7: unknown key \"fuse.dirr\" (known: dir, allow-other, debug, "
            "allow-non-empty, passthrough)");
}

// A readable file standing in for PEM (whether it holds PEM is the server's
// to say when it loads it, not the config's).
const std::string kReadable = "/dev/null";

TEST(ConfigErrors, TlsCertWithoutKey) {
  EXPECT_EQ(ParseError("http:\n  tls-cert: " + kReadable + "\n"),
            "walship.yml:1: http.tls-key: http.tls-cert and http.tls-key go together: set both "
            "for HTTPS, or neither");
  EXPECT_THAT(ParseError("http:\n  tls-key: " + kReadable + "\n"),
              StartsWith("walship.yml:1: http.tls-cert: http.tls-cert and http.tls-key go "
                         "together"));
}

TEST(ConfigErrors, TlsFileThatCannotBeRead) {
  EXPECT_EQ(ParseError("http:\n  tls-cert: " + kReadable + "\n  tls-key: " + kReadable +
                       "\n  tls-ca: /no/such/ca.pem\n"),
            "walship.yml:4: http.tls-ca: cannot read \"/no/such/ca.pem\": No such file or "
            "directory");
}

TEST(ConfigErrors, AdvertiseUrlSchemeMatchesTheApi) {
  EXPECT_THAT(ParseError("lease:\n  advertise-url: https://node1:20202\n"),
              StartsWith("walship.yml:2: lease.advertise-url: https:// needs http.tls-cert and "
                         "http.tls-key"));
  EXPECT_THAT(ParseError("http:\n  tls-cert: " + kReadable + "\n  tls-key: " + kReadable +
                         "\nlease:\n  advertise-url: http://node1:20202\n"),
              StartsWith("walship.yml:5: lease.advertise-url: must be https:// because "
                         "http.tls-cert is set"));
}

TEST(ConfigErrors, UnknownTopLevelKey) {
  EXPECT_EQ(
      ParseError("fuse: {dir: /x}\nlogs: {}\n"),
      "walship.yml:2: unknown key \"logs\" (known: fuse, data, exec, skip-sync, exit-on-error, "
      "strict-verify, http, proxy, lease, backup, log, tracing)");
}

TEST(ConfigErrors, UnknownKeyInsideLiteFsSection) {
  EXPECT_EQ(ParseError("lease:\n  consul:\n    urll: http://x:8500\n"),
            "walship.yml:3: unknown key \"lease.consul.urll\" (known: url, key, ttl, lock-delay)");
}

TEST(ConfigErrors, IgnoredLiteFsKeyIsStillTypeChecked) {
  EXPECT_THAT(ParseError("proxy:\n  read-timeout: soon\n"),
              StartsWith("walship.yml:2: proxy.read-timeout: invalid duration \"soon\""));
}

TEST(ConfigErrors, DuplicateKey) {
  EXPECT_EQ(ParseError("fuse:\n  dir: /a\n  dir: /b\n"),
            "walship.yml:3: duplicate key \"fuse.dir\" (first at line 2)");
}

TEST(ConfigErrors, BadDuration) {
  EXPECT_THAT(ParseError("data:\n  dir: /d\n  retention: 10 minutes\n"),
              StartsWith("walship.yml:3: data.retention: invalid duration \"10 minutes\""));
}

TEST(ConfigErrors, DurationWithoutUnit) {
  EXPECT_EQ(
      ParseError("proxy:\n  max-lag: 600\n"),
      "walship.yml:2: proxy.max-lag: invalid duration \"600\" (missing unit: use ms, s, m or h, "
      "e.g. \"10s\")");
}

TEST(ConfigErrors, NegativeDuration) {
  EXPECT_EQ(ParseError("lease:\n  reconnect-delay: -1s\n"),
            "walship.yml:2: lease.reconnect-delay: must not be negative, got \"-1s\"");
}

TEST(ConfigErrors, MapWhereStringExpected) {
  EXPECT_EQ(ParseError("fuse:\n  dir:\n    path: /x\n"),
            "walship.yml:3: fuse.dir: expected a string, got a map");
}

TEST(ConfigErrors, ScalarWhereSectionExpected) {
  EXPECT_EQ(ParseError("fuse: /litefs\n"), "walship.yml:1: fuse: expected a map, got a scalar");
}

TEST(ConfigErrors, NotABoolean) {
  EXPECT_EQ(ParseError("fuse:\n  debug: maybe\n"),
            "walship.yml:2: fuse.debug: expected true or false, got \"maybe\"");
}

TEST(ConfigErrors, ScalarWhereListExpected) {
  EXPECT_EQ(ParseError("proxy:\n  passthrough: /debug/*\n"),
            "walship.yml:2: proxy.passthrough: expected a list of strings, got a scalar");
}

TEST(ConfigErrors, ListItemOfWrongType) {
  EXPECT_EQ(ParseError("proxy:\n  passthrough:\n    - /a\n    - [b]\n"),
            "walship.yml:4: proxy.passthrough[1]: expected a string, got a list");
}

TEST(ConfigErrors, ExecAsMap) {
  EXPECT_EQ(ParseError("exec:\n  cmd: myapp\n"),
            "walship.yml:2: exec: expected a command string or a list of {cmd, if-candidate}, "
            "got a map");
}

TEST(ConfigErrors, ExecItemUnknownKey) {
  // The misspelt key, and what it leaves missing.
  EXPECT_EQ(ParseError("exec:\n  - cmd: a\n  - cmnd: b\n"),
            "walship.yml:3: unknown key \"exec[1].cmnd\" (known: cmd, if-candidate)\n"
            "walship.yml:3: exec[1].cmd: must not be empty");
}

TEST(ConfigErrors, ExecEmptyCommand) {
  EXPECT_EQ(ParseError("exec:\n  - cmd: a\n  - if-candidate: true\n"),
            "walship.yml:3: exec[1].cmd: must not be empty");
}

TEST(ConfigErrors, TopLevelNotAMap) {
  EXPECT_EQ(ParseError("- fuse\n- data\n"), "walship.yml:1: top level: expected a map, got a list");
}

TEST(ConfigErrors, MalformedYaml) {
  EXPECT_THAT(ParseError("fuse:\n  dir: [/a\n"), StartsWith("walship.yml:"));
  EXPECT_THAT(ParseError("fuse:\n  dir: [/a\n"), HasSubstr("invalid YAML"));
}

TEST(ConfigErrors, EmptyFuseDirForMount) {
  Result<Config> c = Parse("fuse:\n  dir: \"\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Status s = ValidateForMount(*c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith("walship.yml: fuse.dir: must not be empty"));
}

TEST(ConfigErrors, EmptyDataDirForMount) {
  Result<Config> c = Parse("data:\n  dir: \"\"\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_THAT(ValidateForMount(*c).message(),
              StartsWith("walship.yml: data.dir: must not be empty"));
}

TEST(ConfigErrors, DataDirInsideFuseDir) {
  Result<Config> c = Parse("fuse: { dir: /litefs/ }\ndata: { dir: /litefs/./data }\n");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(ValidateForMount(*c).message(),
            "walship.yml: data.dir: must not be fuse.dir or inside it, got \"/litefs/./data\"");
  Result<Config> sibling = Parse("fuse: { dir: /litefs }\ndata: { dir: /litefs2 }\n");
  ASSERT_TRUE(sibling.ok());
  EXPECT_TRUE(ValidateForMount(*sibling).ok());
}

TEST(ConfigErrors, InvalidLeaseType) {
  EXPECT_EQ(ParseError("lease:\n  type: zookeeper\n"),
            "walship.yml:2: lease.type: must be \"static\" or \"etcd\", got \"zookeeper\"");
}

TEST(ConfigErrors, ConsulLeaseTypeSaysToUseEtcd) {
  EXPECT_EQ(ParseError("lease:\n  type: consul\n"),
            "walship.yml:2: lease.type: consul is not supported; use lease.type: etcd (with "
            "lease.etcd.endpoints) for automatic failover, or lease.type: static for a fixed "
            "primary");
}

TEST(ConfigErrors, LiteFsCloudBackupSaysToUseS3OrFile) {
  EXPECT_EQ(ParseError("backup:\n  type: litefs-cloud\n  auth-token: x\n"),
            "walship.yml:2: backup.type: litefs-cloud is not supported (LiteFS Cloud has shut "
            "down); use backup.type: s3 (backup.url: s3://bucket/prefix) or backup.type: file "
            "(backup.path: /dir)");
}

TEST(ConfigErrors, StaticReplicaWithoutPrimaryUrl) {
  EXPECT_THAT(ParseError("fuse: {dir: /x}\nlease:\n  type: static\n  candidate: false\n"),
              StartsWith("walship.yml:2: lease.advertise-url: required with a static lease when "
                         "lease.candidate is false"));
}

TEST(ConfigErrors, AdvertiseUrlNotHttp) {
  EXPECT_EQ(ParseError("lease:\n  advertise-url: node1:20202\n"),
            "walship.yml:2: lease.advertise-url: expected an http:// or https:// URL, got "
            "\"node1:20202\"");
}

TEST(ConfigErrors, EtcdWithoutEndpoints) {
  EXPECT_THAT(ParseError("lease:\n  type: etcd\n"),
              StartsWith("walship.yml:1: lease.etcd.endpoints: required for lease.type etcd"));
}

TEST(ConfigErrors, EtcdEndpointNotUrl) {
  EXPECT_EQ(ParseError("lease:\n  type: etcd\n  etcd:\n    endpoints: [\"127.0.0.1:2379\"]\n"),
            "walship.yml:4: lease.etcd.endpoints[0]: expected an http:// or https:// URL, got "
            "\"127.0.0.1:2379\"");
}

TEST(ConfigErrors, EtcdTtlTooSmall) {
  EXPECT_EQ(ParseError(
                "lease:\n  type: etcd\n  etcd:\n    endpoints: [\"http://e:2379\"]\n    ttl: 1s\n"),
            "walship.yml:5: lease.etcd.ttl: must be at least 2s (etcd's minimum lease TTL with "
            "default timing)");
}

TEST(ConfigErrors, EtcdTtlNotWholeSeconds) {
  EXPECT_EQ(
      ParseError(
          "lease:\n  type: etcd\n  etcd:\n    endpoints: [\"http://e:2379\"]\n    ttl: 2500ms\n"),
      "walship.yml:5: lease.etcd.ttl: must be whole seconds (etcd leases are)");
}

TEST(ConfigErrors, EncryptionKeyTooShort) {
  EXPECT_EQ(ParseError("backup:\n  type: file\n  path: /b\n  encryption-key: abcd\n"),
            "walship.yml:4: backup.encryption-key: must be 64 hex digits (a 32-byte AES-256 key), "
            "got 4 characters");
}

TEST(ConfigErrors, EncryptionKeyNotHex) {
  std::string yaml = "backup:\n  type: file\n  path: /b\n  encryption-key: " + std::string(64, 'g');
  EXPECT_THAT(ParseError(yaml),
              StartsWith("walship.yml:4: backup.encryption-key: must be 64 hex digits"));
}

TEST(ConfigErrors, FileBackupWithoutPath) {
  EXPECT_EQ(ParseError("backup:\n  type: file\n"),
            "walship.yml:1: backup.path: required for backup.type file");
}

TEST(ConfigErrors, S3BackupWithoutUrl) {
  EXPECT_EQ(ParseError("backup:\n  type: s3\n"),
            "walship.yml:1: backup.url: required for backup.type s3, e.g. s3://bucket/prefix");
}

TEST(ConfigErrors, S3BackupBadUrl) {
  EXPECT_EQ(ParseError("backup:\n  type: s3\n  url: http://bucket\n"),
            "walship.yml:3: backup.url: expected s3://bucket[/prefix], got \"http://bucket\"");
}

TEST(ConfigErrors, S3AccessKeyWithoutSecret) {
  EXPECT_EQ(ParseError("backup:\n  type: s3\n  url: s3://b\n  access-key-id: AKID\n"),
            "walship.yml:1: backup.secret-access-key: access-key-id and secret-access-key must be "
            "given together");
}

TEST(ConfigErrors, UnknownBackupType) {
  EXPECT_EQ(ParseError("backup:\n  type: gcs\n"),
            "walship.yml:2: backup.type: must be \"file\" or \"s3\", got \"gcs\"");
}

TEST(ConfigErrors, BackupPathWithoutType) {
  EXPECT_EQ(
      ParseError("backup:\n  path: /b\n"),
      "walship.yml:1: backup.type: required when backup.path or backup.url is set (\"file\" or "
      "\"s3\")");
}

TEST(ConfigErrors, BadLogFormat) {
  EXPECT_EQ(ParseError("log:\n  format: xml\n"),
            "walship.yml:2: log.format: must be \"text\" or \"json\", got \"xml\"");
}

TEST(ConfigErrors, ProxyWithoutTarget) {
  EXPECT_THAT(ParseError("proxy:\n  addr: \":8080\"\n  db: my.db\n"),
              StartsWith("walship.yml:1: proxy.target: required when proxy.addr is set"));
}

TEST(ConfigErrors, ProxyWithoutDb) {
  EXPECT_THAT(ParseError("proxy:\n  addr: \":8080\"\n  target: localhost:8081\n"),
              StartsWith("walship.yml:1: proxy.db: required when proxy.addr is set"));
}

TEST(ConfigErrors, HttpAddrWithoutPort) {
  EXPECT_EQ(
      ParseError("http:\n  addr: localhost\n"),
      "walship.yml:2: http.addr: expected [host]:port, such as \":20202\", got \"localhost\"");
}

TEST(ConfigErrors, BadExpansionNamesLine) {
  EXPECT_THAT(ParseError("fuse:\n  dir: ${MNT:-/litefs}\n"),
              StartsWith("walship.yml:2: cannot expand \"${MNT:-/litefs}\""));
}

TEST(ConfigErrors, ValidateWithoutSourceNamesKey) {
  Config c;
  c.lease.type = "raft";
  EXPECT_EQ(Validate(c).message(), "lease.type: must be \"static\" or \"etcd\", got \"raft\"");
}

TEST(ConfigErrors, ValidateRejectsNegativeDuration) {
  Config c;
  c.proxy.max_lag = std::chrono::milliseconds(-1);
  EXPECT_EQ(Validate(c).message(), "proxy.max-lag: must not be negative");
}


TEST(ConfigErrors, BackupSnapshotIntervalZero) {
  EXPECT_EQ(ParseError("backup:\n  type: file\n  path: /b\n  snapshot-interval: 0s\n"),
            "walship.yml:4: backup.snapshot-interval: must be positive");
}

TEST(ConfigErrors, BackupRetentionZero) {
  EXPECT_EQ(ParseError("backup:\n  type: file\n  path: /b\n  retention: 0s\n"),
            "walship.yml:4: backup.retention: must be positive");
}

TEST(ConfigErrors, BackupDelayNotADuration) {
  EXPECT_THAT(ParseError("backup:\n  type: file\n  path: /b\n  delay: soon\n"),
              StartsWith("walship.yml:4: backup.delay:"));
}

}  // namespace
}  // namespace walship::cli
