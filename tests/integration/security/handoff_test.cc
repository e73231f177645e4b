// The auth token on the paths that move the lease (etcd): `walship run
// --promote` asks a replica's /promote, which asks the primary's /handoff,
// which checks the replica caught up through its /info. With
// http.auth-token set every hop needs it; without the token the command is
// refused and the primary stays. And a node that merely opens a stream,
// claiming to be a candidate, is not a registered member: no handoff to it.
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "cluster/cluster_util.h"
#include "harness/etcd_process.h"
#include "http/client.h"
#include "repl/protocol.h"

namespace walship::testing::security {
namespace {

using cluster::Cluster;
using cluster::ClusterOptions;
using cluster::kDb;
using std::chrono::milliseconds;
using std::chrono::seconds;

const std::string kToken = "handoff-token-7d1c0a9e5b3f48e2a6c4";

// The index of the one running node without MNT/.primary (the primary)
// while the others have it, or -1 after `timeout`. (Reads the mount, not
// /info, which needs the token.)
int PrimaryByMount(Cluster& cluster, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int primary = -1, primaries = 0;
    for (size_t i = 0; i < cluster.size(); i++) {
      if (!std::filesystem::exists(cluster.node(i).Path(".primary"))) {
        primary = int(i);
        primaries++;
      }
    }
    if (primaries == 1) return primary;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return -1;
}

// A real etcd and two walship nodes on it, for one test.
class TwoNodesOnEtcd : public ::testing::Test {
 protected:
  // Starts etcd and both nodes (`http_yaml` under each one's http: key, when
  // set) and waits for a single primary, whose index goes to p_.
  void StartNodes(std::function<std::string(size_t)> http_yaml = nullptr) {
    ASSERT_TRUE(etcd_.Start(etcd_dir_.path()));
    ClusterOptions options = cluster::Nodes(2);
    options.etcd_endpoint = etcd_.endpoint();
    options.http_yaml = std::move(http_yaml);
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start());
    p_ = PrimaryByMount(*cluster_, seconds(15));
    ASSERT_GE(p_, 0) << "no single primary was elected";
  }

  TempDir etcd_dir_{"walship-etcd"};
  EtcdProcess etcd_;
  std::unique_ptr<Cluster> cluster_;
  int p_ = -1;
};

class AuthHandoff : public TwoNodesOnEtcd {};
class ForgedCandidate : public TwoNodesOnEtcd {};
class LeaseEndpoints : public TwoNodesOnEtcd {};

TEST_F(AuthHandoff, PromoteNeedsTheTokenAndWorksWithIt) {
  ASSERT_NO_FATAL_FAILURE(StartNodes([](size_t) { return "  auth-token: " + kToken + "\n"; }));
  Cluster& cluster = *cluster_;
  const int p = p_;
  const int r = 1 - p;
  {
    Sql sql(cluster.node(p).Path(kDb));
    ASSERT_TRUE(cluster::SetUpFastDb(sql));
    ASSERT_TRUE(cluster::InsertRows(sql, 1, 10));
  }
  ASSERT_TRUE(cluster::WaitConverged(cluster, kDb, seconds(30)));

  CliResult refused = cluster::RunWalship({"run", "--promote", "--url", cluster.Url(r), "--", "true"});
  EXPECT_FALSE(refused.ok()) << refused.output;
  EXPECT_EQ(PrimaryByMount(cluster, seconds(1)), p);

  CliResult promoted = RunWalshipCli({"run", "--promote", "--url", cluster.Url(r), "--", "true"},
                                     {{"WALSHIP_AUTH_TOKEN", kToken}});
  ASSERT_TRUE(promoted.ok()) << promoted.output;
  EXPECT_EQ(PrimaryByMount(cluster, seconds(5)), r);
  {
    Sql sql(cluster.node(r).Path(kDb));
    ASSERT_TRUE(cluster::InsertRows(sql, 100, 5)) << "writes on the new primary";
  }
  ASSERT_TRUE(cluster::WaitForTxid(cluster.node(p), kDb, 1, seconds(5)));
  auto now = ReadPos(cluster.node(r).mount_dir(), kDb);
  ASSERT_TRUE(now.ok());
  EXPECT_TRUE(cluster::WaitForPos(cluster.node(p), kDb, *now, seconds(30)));
  for (size_t i = 0; i < cluster.size(); i++) {
    EXPECT_EQ(cluster.node(i).Log().find(kToken), std::string::npos) << "node" << i + 1;
  }
  EXPECT_TRUE(cluster.StopAll());
}

TEST_F(ForgedCandidate, AStreamThatClaimsToBeACandidateGetsNoHandoff) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  Cluster& cluster = *cluster_;
  const int p = p_;

  // Anyone who reaches the port can open a stream and say anything of itself.
  repl::StreamRequest forged;
  forged.node_id = "00000000deadbeef";
  forged.hostname = "intruder";
  forged.advertise_url = "http://127.0.0.1:9";
  forged.candidate = true;
  http::Client client(cluster.Url(p), seconds(5));
  auto stream = client.OpenStream("POST", "/stream", repl::EncodeStreamRequest(forged), http::kJson);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_EQ((*stream)->status(), 200);
  ASSERT_TRUE(cluster::WaitForLog(cluster.node(p), "replica intruder (00000000deadbeef) connected"));

  http::Client api(cluster.Url(p), seconds(10));
  // The log line comes a moment before the streamer lists the replica.
  auto resp = api.Post("/handoff?nodeID=00000000deadbeef", "", http::kJson);
  for (int i = 0; i < 50 && resp.ok() && resp->body.find("not a replica connected") !=
                                             std::string::npos; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resp = api.Post("/handoff?nodeID=00000000deadbeef", "", http::kJson);
  }
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 409) << resp->body;
  EXPECT_NE(resp->body.find("not a registered member of this cluster"), std::string::npos)
      << resp->body;
  EXPECT_EQ(PrimaryByMount(cluster, seconds(1)), p) << "the lease moved";
  (*stream)->Close();
  EXPECT_TRUE(cluster.StopAll());
}

// docs/api.md's answers of /promote and /handoff under the etcd lease.
TEST_F(LeaseEndpoints, PromoteAndHandoffAnswerAsDocumented) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  Cluster& cluster = *cluster_;
  const int p = p_, r = 1 - p_;
  http::Client primary(cluster.Url(p), seconds(10)), replica(cluster.Url(r), seconds(10));
  auto info = primary.Get("/info");
  ASSERT_TRUE(info.ok() && info->status == 200);
  const std::string hostname = nlohmann::json::parse(info->body).value("hostname", "");
  ASSERT_FALSE(hostname.empty()) << info->body;
  info = replica.Get("/info");
  ASSERT_TRUE(info.ok() && info->status == 200);
  const std::string replica_id = nlohmann::json::parse(info->body).value("nodeID", "");

  // Promoting the primary itself: 200, naming it.
  auto resp = primary.Post("/promote", "", http::kJson);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 200) << resp->body;
  EXPECT_EQ(nlohmann::json::parse(resp->body, nullptr, false).value("primary", ""), hostname)
      << resp->body;
  // /handoff: 400 without nodeID, 409 for a node that is not a connected
  // candidate, 409 on a node that is not the primary.
  resp = primary.Post("/handoff", "", http::kJson);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 400) << resp->body;
  resp = primary.Post("/handoff?nodeID=0123456789abcdef", "", http::kJson);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 409) << resp->body;
  resp = replica.Post("/handoff?nodeID=" + replica_id, "", http::kJson);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 409) << resp->body;
  EXPECT_EQ(PrimaryByMount(cluster, seconds(1)), p) << "the lease moved";
  EXPECT_TRUE(cluster.StopAll());
}

}  // namespace
}  // namespace walship::testing::security
