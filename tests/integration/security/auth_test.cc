// The node API's auth token (DESIGN.md §1.3, §1.6; docs/security.md): with
// http.auth-token set, every request without "Authorization: Bearer TOKEN"
// gets 401 and changes nothing; nodes send it to each other, so a cluster
// with the token replicates and a replica with the wrong one gets nothing;
// the CLI sends --auth-token or $WALSHIP_AUTH_TOKEN; the token never shows
// in a log or in /info.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cluster/cluster_util.h"
#include "http/client.h"
#include "security_util.h"

namespace walship::testing::security {
namespace {

using cluster::Cluster;
using cluster::ClusterOptions;
using cluster::kDb;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kToken = "s3cr3t-TOKEN-0f1e2d3c4b5a69788796a5b4c3d2e1f0";

// One request to a node: what the test sends and where.
struct Endpoint {
  std::string method;
  std::string path;
  std::string body;
};

// Every endpoint of the node API (and one it does not have).
std::vector<Endpoint> Endpoints() {
  return {{"GET", "/info", ""},
          {"GET", "/metrics", ""},
          {"GET", "/events", ""},
          {"POST", "/stream", R"({"nodeID":"00000000000000aa","hostname":"intruder"})"},
          {"GET", "/export?name=app.db", ""},
          {"POST", "/import?name=app.db", "SQLite format 3"},
          {"POST", "/import?name=new.db", "SQLite format 3"},
          {"POST", "/promote", ""},
          {"POST", "/handoff?nodeID=00000000000000aa", ""},
          {"GET", "/wait?db=app.db&txid=1&timeout=10", ""},
          {"GET", "/no-such-endpoint", ""},
          {"DELETE", "/info", ""}};
}

// The status of METHOD PATH at `url` sent with `authorization` (none when
// empty); the body goes to `body` unless the response is a stream.
int Send(const std::string& url, const Endpoint& e, const std::string& authorization,
         std::string* body) {
  http::Client client(url, seconds(10));
  if (!authorization.empty()) client.SetHeader("Authorization", authorization);
  auto reader = client.OpenStream(e.method, e.path, e.body, http::kOctetStream);
  if (!reader.ok()) {
    ADD_FAILURE() << e.method << " " << e.path << ": " << reader.status().ToString();
    return 0;
  }
  const int status = (*reader)->status();
  if (status != 200) {
    auto all = (*reader)->ReadAll();
    *body = all.ok() ? *all : "";
  }
  (*reader)->Close();
  return status;
}

ClusterOptions TokenCluster() {
  ClusterOptions options = cluster::Nodes(2);
  // Through ${VAR} expansion, as users are told to set it.
  options.http_yaml = [](size_t) { return std::string("  auth-token: ${WALSHIP_TEST_TOKEN}\n"); };
  options.primary_env = {{"WALSHIP_TEST_TOKEN", kToken}};
  options.replica_env = {{"WALSHIP_TEST_TOKEN", kToken}};
  return options;
}

class AuthTest : public ::testing::Test {
 protected:
  // The replica streams from the primary with the token.
  void SetUp() override { ASSERT_TRUE(StartWithAppDb(cluster_, &pos_)); }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  // Both nodes at pos_ with app.db only, and node1 still the primary.
  void ExpectUnchanged() {
    std::this_thread::sleep_for(milliseconds(300));
    for (size_t i = 0; i < cluster_.size(); i++) {
      SCOPED_TRACE("node" + std::to_string(i + 1));
      auto pos = ReadPos(cluster_.node(i).mount_dir(), kDb);
      ASSERT_TRUE(pos.ok()) << pos.status().ToString();
      EXPECT_EQ(*pos, pos_);
      EXPECT_EQ(ListDbs(cluster_.node(i).data_dir()), std::vector<std::string>{kDb});
    }
    EXPECT_FALSE(std::filesystem::exists(cluster_.primary().Path(".primary")));
  }

  Cluster cluster_{TokenCluster()};
  Pos pos_;
};

TEST_F(AuthTest, EveryEndpointWithoutTheTokenGets401AndChangesNothing) {
  for (const std::string& authorization :
       std::vector<std::string>{"", "Bearer wrong-token", "Bearer " + kToken + "x",
        "Bearer " + kToken.substr(0, kToken.size() - 1), "Basic " + kToken, kToken}) {
    for (size_t node = 0; node < cluster_.size(); node++) {
      for (const Endpoint& e : Endpoints()) {
        std::string body;
        EXPECT_EQ(Send(cluster_.Url(node), e, authorization, &body), 401)
            << e.method << " " << e.path << " on node" << node + 1 << " with \"" << authorization
            << "\": " << body;
        EXPECT_TRUE(IsOneLineJsonError(body));
      }
    }
  }
  ExpectUnchanged();
}

TEST_F(AuthTest, EveryEndpointWithTheTokenIsServed) {
  for (const std::string& authorization : std::vector<std::string>{"Bearer " + kToken,
                                                                   "bearer " + kToken}) {
    for (const Endpoint& e : Endpoints()) {
      std::string body;
      EXPECT_NE(Send(cluster_.Url(0), e, authorization, &body), 401)
          << e.method << " " << e.path << ": " << body;
    }
  }
  std::string body;
  EXPECT_EQ(Send(cluster_.Url(1), {"GET", "/info", ""}, "Bearer " + kToken, &body), 200);
  EXPECT_EQ(Send(cluster_.Url(0), {"GET", "/no-such-endpoint", ""}, "Bearer " + kToken, &body),
            404);
}

TEST_F(AuthTest, CommandsSendTheToken) {
  const std::string file = cluster_.Scratch("upload.db");
  ASSERT_TRUE(cluster::MakeDatabaseFile(file, 20, 100));
  const std::string out = cluster_.Scratch("out.db");

  // Without it: refused, saying why, and nothing imported.
  CliResult r = cluster::RunWalship({"import", "--name", "up.db", "--url", cluster_.Url(0), file});
  EXPECT_FALSE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("auth"), std::string::npos) << r.output;
  r = cluster::RunWalship({"status", "--url", cluster_.Url(1)});
  EXPECT_FALSE(r.ok()) << r.output;
  r = cluster::RunWalship({"export", "--name", kDb, "--url", cluster_.Url(1), out});
  EXPECT_FALSE(r.ok()) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
  ExpectUnchanged();

  // --auth-token, and WALSHIP_AUTH_TOKEN.
  r = cluster::RunWalship(
      {"import", "--name", "up.db", "--url", cluster_.Url(0), "--auth-token", kToken, file});
  ASSERT_TRUE(r.ok()) << r.output;
  ASSERT_TRUE(cluster::WaitConverged(cluster_, "up.db", seconds(30)));
  r = RunWalshipCli({"export", "--name", "up.db", "--url", cluster_.Url(1), out},
                    {{"WALSHIP_AUTH_TOKEN", kToken}});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_TRUE(cluster::IntegrityOk(out));
  r = RunWalshipCli({"status", "--url", cluster_.Url(1)}, {{"WALSHIP_AUTH_TOKEN", kToken}});
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("up.db"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("unreachable"), std::string::npos) << r.output;
  r = RunWalshipCli({"run", "--url", cluster_.Url(0), "--if-candidate", "--", "true"},
                    {{"WALSHIP_AUTH_TOKEN", kToken}});
  EXPECT_TRUE(r.ok()) << r.output;
  EXPECT_EQ(r.output.find(kToken), std::string::npos);
}

TEST_F(AuthTest, TheTokenNeverAppearsInLogsOrInfo) {
  // Give the logs something to say: refused requests, a reconnecting replica.
  std::string body;
  Send(cluster_.Url(0), {"GET", "/info", ""}, "Bearer wrong-" + kToken, &body);
  ASSERT_TRUE(cluster_.node(1).Restart({{"WALSHIP_TEST_TOKEN", kToken}}));
  ASSERT_TRUE(cluster::WaitConverged(cluster_, kDb, seconds(30)));
  for (size_t i = 0; i < cluster_.size(); i++) {
    http::Client client(cluster_.Url(i), seconds(10));
    client.SetCredentials({kToken, {}});
    for (const char* path : {"/info", "/metrics"}) {
      auto resp = client.Get(path);
      ASSERT_TRUE(resp.ok());
      EXPECT_EQ(resp->status, 200);
      EXPECT_EQ(resp->body.find(kToken), std::string::npos) << resp->body;
    }
    const std::string log = cluster_.node(i).Log();
    EXPECT_EQ(log.find(kToken), std::string::npos) << log;
    EXPECT_EQ(log.find("no http.auth-token"), std::string::npos) << log;
  }
  EXPECT_NE(cluster_.primary().Log().find("401"), std::string::npos);
}

// The replica sends a token the primary does not accept: it gets nothing,
// says why, and catches up once it has the right one.
TEST(AuthCluster, ReplicaWithTheWrongTokenIsRefusedAndUnchanged) {
  std::string replica_token = "not-the-token";
  ClusterOptions options = cluster::Nodes(2);
  options.http_yaml = [&](size_t i) {
    return "  auth-token: " + (i == 0 ? kToken : replica_token) + "\n";
  };
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start());
  Sql sql(cluster.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(cluster::SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(cluster::InsertRows(sql, 0, 10));
  const size_t committed = cluster.node(1).Log().size();
  // Refused again (both sides say so) after the rows were committed, and
  // still nothing.
  EXPECT_TRUE(cluster::WaitForLogAfter(cluster.node(1), "401", committed));
  EXPECT_TRUE(cluster::WaitForLog(cluster.primary(), "no valid auth token"));
  EXPECT_EQ(ListDbs(cluster.node(1).data_dir()), std::vector<std::string>{});
  EXPECT_FALSE(std::filesystem::exists(cluster.node(1).Path(kDb)));

  replica_token = kToken;
  cluster.RewriteConfig(1);
  ASSERT_TRUE(cluster.node(1).Restart());
  Pos pos;
  EXPECT_TRUE(cluster::WaitConverged(cluster, kDb, seconds(30), &pos));
  EXPECT_TRUE(cluster::ReplicaConsistent(cluster.node(1), kDb, pos));
  EXPECT_TRUE(cluster.StopAll());
}

TEST(AuthWarning, ANodeWithoutATokenWarnsThatItsApiIsOpen) {
  WalshipProcess node;
  ASSERT_TRUE(node.Start());
  // The mount is up before the node API starts and warns.
  EXPECT_TRUE(cluster::WaitForLog(node, "no http.auth-token is set", seconds(10)));
  EXPECT_TRUE(node.Stop());
}

}  // namespace
}  // namespace walship::testing::security
