// Database names that must be refused wherever they enter (DESIGN.md §1.4,
// §1.6): the mount (EINVAL), the node API (400 with a one-line JSON error)
// and the replication stream (the replica refuses the frame). Nothing on any
// node changes on refusal, and a refused name never breaks /info or injects
// lines into /metrics.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "cluster/cluster_util.h"
#include "fake_primary.h"
#include "security_util.h"
#include "http/client.h"
#include "http/url.h"

namespace walship::testing::security {
namespace {

using namespace std::string_literals;
using cluster::Cluster;
using cluster::kDb;
using std::chrono::milliseconds;
using std::chrono::seconds;

// The name that tried to add a sample to /metrics through a label value.
const std::string kMetricsAttack = "q\"} 0\nfake_metric{x=\".db";

// Every line of a Prometheus text body is a comment or one well-formed
// sample of a walship_ metric (or of its LiteFS name); the offending line
// otherwise.
::testing::AssertionResult IsCleanMetrics(const std::string& body) {
  static const std::regex kSample(
      R"(^(walship|litefs)_[a-z_]+(\{[a-z_]+="(\\[\\"n]|[^"\\\n])*"\})? -?[0-9]+(\.[0-9]+)?$)");
  std::istringstream lines(body);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    if (!std::regex_match(line, kSample)) {
      return ::testing::AssertionFailure() << "bad /metrics line: " << line;
    }
  }
  return ::testing::AssertionSuccess();
}

class NamesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(StartWithAppDb(cluster_, &pos_));
    upload_ = cluster_.Scratch("upload.db");
    ASSERT_TRUE(cluster::MakeDatabaseFile(upload_, 50, 100));
    for (size_t i = 0; i < cluster_.size(); i++) {
      dbs_before_.push_back(ListDbs(cluster_.node(i).data_dir()));
    }
  }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  // POST /import?QUERY (QUERY as sent, already percent-encoded) to the primary.
  int Import(const std::string& query, std::string* body) {
    http::Client client(cluster_.Url(0), seconds(30));
    auto status = client.PostFile("/import?" + query, upload_, http::kOctetStream, body);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    return status.ok() ? *status : 0;
  }

  // Every node still holds app.db at pos_ with its 10 rows, and no other
  // database appeared; /info still answers valid JSON.
  void ExpectNothingChanged() {
    std::this_thread::sleep_for(milliseconds(500));  // let any replication happen
    for (size_t i = 0; i < cluster_.size(); i++) {
      SCOPED_TRACE("node" + std::to_string(i + 1));
      auto pos = ReadPos(cluster_.node(i).mount_dir(), kDb);
      ASSERT_TRUE(pos.ok()) << pos.status().ToString();
      EXPECT_EQ(*pos, pos_);
      Sql reader(cluster_.node(i).Path(kDb));
      EXPECT_EQ(cluster::CountRows(reader), 10);
      EXPECT_EQ(ListDbs(cluster_.node(i).data_dir()), dbs_before_[i]);
      auto info = cluster::HttpGet(cluster_.Url(i), "/info");
      ASSERT_TRUE(info.ok()) << info.status().ToString();
      auto json = nlohmann::json::parse(*info, nullptr, false);
      ASSERT_TRUE(json.is_object()) << *info;
      EXPECT_EQ(json["databases"].size(), 1u) << *info;
    }
  }

  Cluster cluster_{cluster::Nodes(2)};
  Pos pos_;
  std::string upload_;
  std::vector<std::vector<std::string>> dbs_before_;
};

// Used to answer 500 after copying the upload over t.db (the mount saw
// "app.db\0x" as "app.db") on every node.
TEST_F(NamesTest, ImportWithNulInNameIsRefusedAndChangesNothing) {
  std::string body;
  EXPECT_EQ(Import("name=app.db%00x", &body), 400) << body;
  EXPECT_TRUE(IsOneLineJsonError(body));
  ExpectNothingChanged();
}

// Used to create a database whose name made /info answer 500 ever after.
TEST_F(NamesTest, ImportWithInvalidUtf8NameIsRefusedAndInfoStaysValid) {
  std::string body;
  EXPECT_EQ(Import("name=%FF.db", &body), 400) << body;
  EXPECT_TRUE(IsOneLineJsonError(body));
  ExpectNothingChanged();
}

TEST_F(NamesTest, ImportRefusesEveryKindOfBadName) {
  for (const std::string& query :
       {"name="s, "name=.hidden.db"s, "name=a%2Fb.db"s, "name=app.db-wal"s, "name=app.db-shm"s,
        "name=app.db-journal"s, "name=app.db-pos"s, "name=app.db-mj0A1B2C9D"s,
        "name=tab%09.db"s, "name=" + http::UrlEncode(kMetricsAttack),
        "name=" + std::string(256, 'n')}) {
    std::string body;
    EXPECT_EQ(Import(query, &body), 400) << query << ": " << body;
    EXPECT_TRUE(IsOneLineJsonError(body)) << query;
  }
  ExpectNothingChanged();
}

TEST_F(NamesTest, ExportAndWaitRefuseBadNames) {
  http::Client client(cluster_.Url(1), seconds(10));
  for (const std::string& path : {"/export?name=%FF.db"s, "/export?name=app.db%00x"s,
                                  "/wait?db=%FF.db&txid=1&timeout=10"s}) {
    auto resp = client.Get(path);
    ASSERT_TRUE(resp.ok()) << resp.status().ToString();
    EXPECT_EQ(resp->status, 400) << path << ": " << resp->body;
    EXPECT_TRUE(IsOneLineJsonError(resp->body)) << path;
  }
}

TEST_F(NamesTest, MountRefusesBadNamesWithEinval) {
  for (const std::string& name :
       {"bad\nname.db"s, "\xff.db"s, "tab\t.db"s, kMetricsAttack}) {
    errno = 0;
    int fd = ::open(cluster_.primary().Path(name).c_str(), O_CREAT | O_RDWR, 0644);
    EXPECT_EQ(fd, -1) << ::testing::PrintToString(name);
    EXPECT_EQ(errno, EINVAL) << ::testing::PrintToString(name) << ": " << std::strerror(errno);
    if (fd >= 0) ::close(fd);
  }
  ExpectNothingChanged();
  // The refusals are logged with the names escaped.
  const std::string log = cluster::LogOfLastStart(cluster_.primary());
  EXPECT_NE(log.find(R"(\ufffd.db)"), std::string::npos) << log;
  EXPECT_EQ(log.find('\xff'), std::string::npos);
  EXPECT_EQ(log.find("\nfake_metric"), std::string::npos) << log;
}

TEST_F(NamesTest, MetricsEscapeLabelValues) {
  // A legal name with a quote and a backslash.
  const std::string name = "q\"x\\y.db";
  Sql sql(cluster_.primary().Path(name));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(cluster::WaitConverged(cluster_, name, seconds(30)));
  EXPECT_EQ(::open(cluster_.primary().Path(kMetricsAttack).c_str(), O_CREAT | O_RDWR, 0644), -1);
  for (size_t i = 0; i < cluster_.size(); i++) {
    auto metrics = cluster::HttpGet(cluster_.Url(i), "/metrics");
    ASSERT_TRUE(metrics.ok()) << metrics.status().ToString();
    EXPECT_TRUE(IsCleanMetrics(*metrics));
    EXPECT_NE(metrics->find(R"(walship_txid{db="q\"x\\y.db"} )"), std::string::npos) << *metrics;
    EXPECT_EQ(metrics->find("fake_metric"), std::string::npos) << *metrics;
    auto info = cluster::HttpGet(cluster_.Url(i), "/info");
    ASSERT_TRUE(info.ok());
    auto json = nlohmann::json::parse(*info, nullptr, false);
    ASSERT_TRUE(json.is_object()) << *info;
    EXPECT_EQ(json["databases"].size(), 2u) << *info;
  }
}

// A primary that sends names no walship primary could hold: the replica
// refuses each frame before it touches its data directory.
TEST(ReplicaNames, NamesFromThePrimaryAreRefused) {
  const std::vector<std::string> names = {"t.db\0x"s, "\xff.db"s, "a.db-wal"s, ".hidden"s,
                                          kMetricsAttack, "app.db-mj0A1B2C9D"s};
  FakePrimary primary(names);
  ASSERT_TRUE(primary.Start().ok());
  WalshipOptions options;
  options.extra_config = "lease:\n  type: static\n  hostname: fake\n  advertise-url: \"" +
                         primary.url() + "\"\n  candidate: false\n  reconnect-delay: 50ms\n";
  WalshipProcess replica(options);
  ASSERT_TRUE(replica.Start());
  const auto deadline = std::chrono::steady_clock::now() + seconds(60);
  while (primary.connections() <= int(names.size()) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(50));
  }
  // Every name offered (and refused) at least once; whatever happened, the
  // data directory must be as it started.
  EXPECT_GT(primary.connections(), int(names.size())) << replica.Log();
  EXPECT_TRUE(replica.running());
  EXPECT_EQ(ListDbs(replica.data_dir()), std::vector<std::string>{}) << replica.Log();
  const std::string log = replica.Log();
  size_t refusals = 0;
  for (size_t at = 0; (at = log.find("invalid database name", at)) != std::string::npos; at++) {
    refusals++;
  }
  EXPECT_GE(refusals, names.size()) << log;
  EXPECT_EQ(log.find('\0'), std::string::npos);
  EXPECT_EQ(log.find('\xff'), std::string::npos);
  EXPECT_EQ(log.find("\nfake_metric"), std::string::npos) << log;
  auto info = cluster::HttpGet("http://127.0.0.1:" + std::to_string(replica.http_port()), "/info");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  auto json = nlohmann::json::parse(*info, nullptr, false);
  ASSERT_TRUE(json.is_object()) << *info;
  EXPECT_TRUE(json["databases"].empty()) << *info;
  EXPECT_TRUE(replica.Stop());
}

}  // namespace
}  // namespace walship::testing::security
