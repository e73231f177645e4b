// The refusals of POST /handoff and POST /promote under the etcd lease
// (labels etcd, cluster), as docs/api.md documents them, with real walship
// nodes on a real etcd: a node with lease.candidate: false is neither handed
// the lease nor promoted (409), and a replica that does not catch up within
// 5 s is not handed the lease, whether the primary was asked directly or the
// replica asked for it (503). Each refusal leaves the lease where it was and
// the primary writing.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "cluster/cluster_util.h"
#include "harness/etcd_process.h"
#include "http/client.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

// How long a replica of the slow-replica test waits before applying each
// batch (WALSHIP_TEST_APPLY_DELAY_MS): longer than the primary's 5 s
// catch-up limit, so a handoff to it cannot succeed.
constexpr int kSlowApplyMs = 6000;

// An answer's status and, for an error, the text of its one-line JSON body
// (docs/api.md: `{"error":"..."}`); a body of another shape is reported as
// the error so the test's reason check fails on it.
struct Answer {
  int status = 0;
  std::string error;
  nlohmann::json json;
};

Answer Ask(const std::string& url, const std::string& method, const std::string& path) {
  http::Client client(url, seconds(20));
  auto resp = method == "GET" ? client.Get(path) : client.Post(path, "", http::kJson);
  if (!resp.ok()) return {0, resp.status().ToString(), {}};
  Answer a{resp->status, "", nlohmann::json::parse(resp->body, nullptr, false)};
  const size_t newline = resp->body.find('\n');
  const bool one_line = newline == std::string::npos || newline == resp->body.size() - 1;
  if (resp->status < 400) return a;
  if (!a.json.is_object() || !a.json.contains("error") || !a.json["error"].is_string() ||
      !one_line) {
    a.error = "not a one-line JSON error: " + resp->body;
  } else {
    a.error = a.json["error"].get<std::string>();
  }
  return a;
}

class LeaseRefusals : public ::testing::Test {
 protected:
  // Starts etcd and two candidate nodes on it, except that node `non_candidate`
  // (when >= 0) has lease.candidate: false; waits for one primary, creates
  // app.db on it and waits for the replica to have it.
  void StartNodes(int non_candidate = -1) {
    ASSERT_TRUE(etcd_.Start(etcd_dir_.path()));
    ClusterOptions options = Nodes(2);
    options.etcd_endpoint = etcd_.endpoint();
    cluster_ = std::make_unique<Cluster>(options);
    if (non_candidate >= 0) {
      WalshipProcess& node = cluster_->node(non_candidate);
      std::string config = ReadBytes(node.config_path());
      const size_t at = config.find("candidate: true");
      ASSERT_NE(at, std::string::npos) << config;
      config.replace(at, std::string("candidate: true").size(), "candidate: false");
      node.WriteConfig(config);
    }
    ASSERT_TRUE(cluster_->Start());
    p_ = cluster_->PrimaryIndex();
    ASSERT_GE(p_, 0) << "no single primary was elected";
    r_ = 1 - p_;
    Sql sql(cluster_->node(p_).Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpFastDb(sql));
    ASSERT_TRUE(InsertRows(sql, 0, 5));
    ASSERT_TRUE(WaitConverged(*cluster_, kDb, seconds(20)));
  }

  // Node i's /info, or null with a test failure.
  nlohmann::json Info(int i) {
    Answer a = Ask(cluster_->Url(i), "GET", "/info");
    EXPECT_EQ(a.status, 200) << a.error;
    return a.json;
  }

  // Waits until the primary lists node `i` among the replicas streaming from
  // it; returns its nodeID ("" with a test failure after 10 s).
  std::string WaitConnected(int i) {
    const std::string id = Info(i).value("nodeID", "");
    const auto deadline = SteadyClock::now() + seconds(10);
    while (SteadyClock::now() < deadline) {
      for (const auto& r : Info(p_).value("replicas", nlohmann::json::array())) {
        if (r.value("nodeID", "") == id) return id;
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
    ADD_FAILURE() << "node" << i + 1 << " (" << id << ") never connected to the primary";
    return "";
  }

  // The lease did not move: node p_ says it is the primary, the replica
  // follows it, and a write on it commits.
  void ExpectLeaseStayedAndWritesWork(int64_t seq) {
    EXPECT_EQ(Info(p_).value("role", ""), "primary");
    nlohmann::json replica = Info(r_);
    EXPECT_EQ(replica.value("role", ""), "replica") << replica.dump();
    EXPECT_EQ(replica["primary"].value("hostname", ""), "node" + std::to_string(p_ + 1))
        << replica.dump();
    Sql sql(cluster_->node(p_).Path(kDb));
    EXPECT_TRUE(InsertRow(sql, seq)) << "the primary no longer takes writes";
  }

  void SlowReplicaBehind(std::string* id, Pos* pos);

  TempDir etcd_dir_{"walship-etcd"};
  EtcdProcess etcd_;
  std::unique_ptr<Cluster> cluster_;
  int p_ = -1;
  int r_ = -1;
};

TEST_F(LeaseRefusals, ANodeThatIsNotACandidateIsNeitherHandedTheLeaseNorPromoted) {
  // Only node1 is a candidate, so it is the primary.
  ASSERT_NO_FATAL_FAILURE(StartNodes(/*non_candidate=*/1));
  ASSERT_EQ(p_, 0);
  EXPECT_EQ(Info(r_).value("candidate", true), false);
  const std::string id = WaitConnected(r_);
  ASSERT_FALSE(id.empty());

  Answer a = Ask(cluster_->Url(p_), "POST", "/handoff?nodeID=" + id);
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("handoff: node " + id + " (node2) is not a candidate"), std::string::npos)
      << a.error;
  a = Ask(cluster_->Url(r_), "POST", "/promote");
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("promote: this node is not a candidate (lease.candidate: false)"),
            std::string::npos)
      << a.error;
  ExpectLeaseStayedAndWritesWork(100);
  EXPECT_TRUE(cluster_->StopAll());
}

// From now on replica r_ applies each batch kSlowApplyMs late; then one
// write on the primary that it will lack for that long. Its nodeID goes to
// `id` and the primary's position after the write to `pos`.
void LeaseRefusals::SlowReplicaBehind(std::string* id, Pos* pos) {
  ASSERT_TRUE(
      cluster_->node(r_).Restart({{"WALSHIP_TEST_APPLY_DELAY_MS", std::to_string(kSlowApplyMs)}}));
  *id = WaitConnected(r_);
  ASSERT_FALSE(id->empty());
  Sql sql(cluster_->node(p_).Path(kDb));
  ASSERT_TRUE(InsertRow(sql, 10));
  WALSHIP_ASSERT_OK_AND_ASSIGN(*pos, ReadPos(cluster_->node(p_).mount_dir(), kDb));
}

TEST_F(LeaseRefusals, HandoffToAReplicaThatDoesNotCatchUpIn5sIs503AndChangesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  std::string id;
  Pos pos;
  ASSERT_NO_FATAL_FAILURE(SlowReplicaBehind(&id, &pos));
  const auto start = SteadyClock::now();
  Answer a = Ask(cluster_->Url(p_), "POST", "/handoff?nodeID=" + id);
  const auto took = SteadyClock::now() - start;
  EXPECT_EQ(a.status, 503) << a.error;
  EXPECT_NE(a.error.find("handoff: the new primary did not catch up within 5000 ms (app.db at "
                         "txid " +
                         std::to_string(pos.txid - 1) + " of " + std::to_string(pos.txid) + ")"),
            std::string::npos)
      << a.error;
  EXPECT_GE(took, milliseconds(4900)) << "gave up before the 5 s catch-up limit";
  ExpectLeaseStayedAndWritesWork(11);
  // The slow replica would take a batch delay to stop.
  cluster_->node(r_).Kill();
  EXPECT_TRUE(cluster_->StopAll());
}

// /promote on that replica: its primary refuses the handoff (503, above),
// and the replica says so with 503.
TEST_F(LeaseRefusals, PromoteIs503WhenThePrimaryRefusesTheHandoff) {
  ASSERT_NO_FATAL_FAILURE(StartNodes());
  std::string id;
  Pos pos;
  ASSERT_NO_FATAL_FAILURE(SlowReplicaBehind(&id, &pos));
  const auto start = SteadyClock::now();
  Answer a = Ask(cluster_->Url(r_), "POST", "/promote");
  const auto took = SteadyClock::now() - start;
  EXPECT_EQ(a.status, 503) << a.error;
  EXPECT_NE(a.error.find("promote: the primary node" + std::to_string(p_ + 1) +
                         " refused the handoff (503)"),
            std::string::npos)
      << a.error;
  EXPECT_NE(a.error.find("did not catch up within 5000 ms"), std::string::npos) << a.error;
  EXPECT_GE(took, milliseconds(4900));
  ExpectLeaseStayedAndWritesWork(11);
  cluster_->node(r_).Kill();
  EXPECT_TRUE(cluster_->StopAll());
}

}  // namespace
}  // namespace walship::testing::cluster
