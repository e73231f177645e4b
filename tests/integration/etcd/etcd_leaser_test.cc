// EtcdLeaser against a real etcd: election by position, the write fence when
// etcd goes away, a garbage lease key, handoff, release on stop, and the
// cluster id. Two or three leasers run in this process, each with its own
// write fence, as separate nodes would.
#include "lease/etcd_leaser.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "harness/etcd_process.h"
#include "harness/status_assert.h"
#include "harness/temp_dir.h"

namespace walship::lease {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr char kKey[] = "test/primary";

class EtcdLeaserTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.Start(dir_.path())); }

  struct Node {
    store::WriteFence fence;
    std::unique_ptr<EtcdLeaser> leaser;
    std::atomic<uint64_t> score{0};
    std::string saved_cluster_id;
  };

  std::unique_ptr<Node> MakeNode(const std::string& name, const std::string& node_id,
                                 uint64_t score = 0, std::string cluster_id = "") {
    auto node = std::make_unique<Node>();
    node->score = score;
    EtcdLeaserOptions o;
    o.client.endpoints = {etcd_.endpoint()};
    o.key = kKey;
    o.ttl = 2s;
    o.self = {name, "http://" + name + ":20202", node_id};
    o.cluster_id = std::move(cluster_id);
    Node* raw = node.get();
    o.save_cluster_id = [raw](const std::string& id) {
      raw->saved_cluster_id = id;
      return Status::OK();
    };
    o.score = [raw] { return raw->score.load(); };
    node->leaser = std::make_unique<EtcdLeaser>(std::move(o), &node->fence);
    return node;
  }

  static Status StartNode(Node& node) {
    return node.leaser->Start([](const LeaseState&) {});
  }

  // Polls `pred` every 10 ms; true if it held within `timeout`.
  static bool Eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    while (SteadyClock::now() < deadline) {
      if (pred()) return true;
      std::this_thread::sleep_for(10ms);
    }
    return pred();
  }

  // Starts `a`, waits until it is primary, then starts `b` (of a's cluster)
  // and waits until it follows a.
  static void StartPrimaryAndReplica(Node& a, Node& b) {
    WALSHIP_ASSERT_OK(StartNode(a));
    ASSERT_TRUE(Eventually([&] { return a.leaser->state().primary; }, 2s));
    WALSHIP_ASSERT_OK(StartNode(b));
    ASSERT_TRUE(Eventually([&] { return b.leaser->state().current.has_value(); }, 2s));
  }

  EtcdClient Client() { return EtcdClient({{etcd_.endpoint()}}); }

  testing::TempDir dir_{"walship-etcd-leaser"};
  testing::EtcdProcess etcd_;
};

TEST_F(EtcdLeaserTest, FirstCandidateBecomesPrimaryAndOthersFollowIt) {
  auto a = MakeNode("a", "000000000000000a");
  WALSHIP_ASSERT_OK(StartNode(*a));
  ASSERT_TRUE(Eventually([&] { return a->leaser->state().primary; }, 2s));
  EXPECT_TRUE(a->fence.Permits());
  EXPECT_FALSE(a->saved_cluster_id.empty()) << "a new cluster gets an id, saved locally";

  auto b = MakeNode("b", "000000000000000b", 0, a->saved_cluster_id);
  WALSHIP_ASSERT_OK(StartNode(*b));
  ASSERT_TRUE(Eventually([&] { return b->leaser->state().current.has_value(); }, 2s));
  EXPECT_FALSE(b->leaser->state().primary);
  EXPECT_EQ(b->leaser->state().current->hostname, "a");
  EXPECT_EQ(b->leaser->state().current->advertise_url, "http://a:20202");
  EXPECT_FALSE(b->fence.Permits()) << "a replica's fence stays closed";
  a->leaser->Stop();
  b->leaser->Stop();
}

TEST_F(EtcdLeaserTest, BetterPlacedCandidateGetsTheFirstChance) {
  // A live member with a higher position that does not campaign (it is not
  // running a leaser): the lower one waits about a TTL before taking over.
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t lease, client.Grant(30s));
  WALSHIP_ASSERT_OK(client.Put(std::string(kKey) + "/members/0000000000000001",
                               R"({"nodeID":"0000000000000001","candidate":true,"score":100})",
                               lease));
  auto low = MakeNode("low", "00000000000000ff", /*score=*/5);
  const auto start = SteadyClock::now();
  WALSHIP_ASSERT_OK(StartNode(*low));
  std::this_thread::sleep_for(1s);
  EXPECT_FALSE(low->leaser->state().primary) << "took the lease before the better candidate";
  ASSERT_TRUE(Eventually([&] { return low->leaser->state().primary; }, 4s));
  EXPECT_GE(SteadyClock::now() - start, 1900ms);
  low->leaser->Stop();

  // A lower-placed member does not delay a better one.
  WALSHIP_ASSERT_OK(client.Put(std::string(kKey) + "/members/0000000000000001",
                               R"({"nodeID":"0000000000000001","candidate":true,"score":1})",
                               lease));
  auto high = MakeNode("high", "00000000000000fe", /*score=*/50, low->saved_cluster_id);
  const auto start2 = SteadyClock::now();
  WALSHIP_ASSERT_OK(StartNode(*high));
  ASSERT_TRUE(Eventually([&] { return high->leaser->state().primary; }, 4s));
  EXPECT_LT(SteadyClock::now() - start2, 1000ms);
  high->leaser->Stop();
}

TEST_F(EtcdLeaserTest, FenceClosesBeforeTheLeaseCanExpireWhenEtcdDies) {
  auto a = MakeNode("a", "000000000000000a");
  WALSHIP_ASSERT_OK(StartNode(*a));
  ASSERT_TRUE(Eventually([&] { return a->leaser->state().primary; }, 2s));
  ASSERT_TRUE(a->fence.Permits());
  etcd_.Kill();
  // The fence closes `margin` (400 ms at a 2 s TTL) before the lease could
  // expire counting from the last renewal sent, which was before the kill:
  // no more than 1600 ms of commits are left, whatever the timing.
  EXPECT_LE(a->fence.Remaining(), 1600ms)
      << "writes would still be accepted when the lease could have expired";
  ASSERT_TRUE(Eventually([&] { return !a->fence.Permits(); }, 4s));
  ASSERT_TRUE(etcd_.Restart());
  // etcd restores leases with a fresh TTL after a restart: renewals resume.
  ASSERT_TRUE(Eventually([&] { return a->leaser->state().primary && a->fence.Permits(); }, 10s));
  a->leaser->Stop();
}

TEST_F(EtcdLeaserTest, GarbageInTheLeaseKeyBlocksElectionUntilDeleted) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK(client.Put(kKey, "not json \x01\x02", 0));
  auto a = MakeNode("a", "000000000000000a");
  WALSHIP_ASSERT_OK(StartNode(*a));
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(a->leaser->state().primary);
  EXPECT_FALSE(a->leaser->state().current.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get(kKey));
  ASSERT_TRUE(kv.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool deleted, client.DeleteIfRevision(kKey, kv->mod_revision));
  ASSERT_TRUE(deleted);
  ASSERT_TRUE(Eventually([&] { return a->leaser->state().primary; }, 2s));
  a->leaser->Stop();
}

TEST_F(EtcdLeaserTest, HandOffMovesTheLeaseToTheTarget) {
  auto a = MakeNode("a", "000000000000000a");
  auto b = MakeNode("b", "000000000000000b");
  ASSERT_NO_FATAL_FAILURE(StartPrimaryAndReplica(*a, *b));

  // A target that never catches up: the handoff is cancelled, nothing moves.
  Status refused = a->leaser->HandOff(b->leaser->state().current.value_or(PrimaryInfo{}),
                                      [] { return Status::Unavailable("not caught up"); });
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(a->leaser->state().primary);
  EXPECT_TRUE(a->fence.Permits()) << "a cancelled handoff reopens the fence";

  bool fence_closed_while_waiting = false;
  const PrimaryInfo to{"b", "http://b:20202", "000000000000000b"};
  const auto start = SteadyClock::now();
  WALSHIP_ASSERT_OK(a->leaser->HandOff(to, [&] {
    fence_closed_while_waiting = !a->fence.Permits();
    return Status::OK();
  }));
  EXPECT_TRUE(fence_closed_while_waiting);
  EXPECT_FALSE(a->leaser->state().primary);
  EXPECT_FALSE(a->fence.Permits());
  ASSERT_TRUE(Eventually([&] { return b->leaser->state().primary; }, 2s));
  EXPECT_LT(SteadyClock::now() - start, 1000ms);
  EXPECT_TRUE(b->fence.Permits());
  ASSERT_TRUE(Eventually([&] { return a->leaser->state().current == to; }, 2s));
  a->leaser->Stop();
  b->leaser->Stop();
}

TEST_F(EtcdLeaserTest, StopReleasesTheLeaseForImmediateFailover) {
  auto a = MakeNode("a", "000000000000000a");
  auto b = MakeNode("b", "000000000000000b");
  ASSERT_NO_FATAL_FAILURE(StartPrimaryAndReplica(*a, *b));
  const auto stopped = SteadyClock::now();
  a->leaser->Stop();
  EXPECT_FALSE(a->fence.Permits());
  ASSERT_TRUE(Eventually([&] { return b->leaser->state().primary; }, 2s));
  EXPECT_LT(SteadyClock::now() - stopped, 1000ms) << "waited for the TTL instead";
  b->leaser->Stop();
}

TEST_F(EtcdLeaserTest, NodeOfAnotherClusterIsRefused) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK(client.Put(std::string(kKey) + "/cluster-id", "aaaaaaaaaaaaaaaa", 0));
  auto a = MakeNode("a", "000000000000000a", 0, "bbbbbbbbbbbbbbbb");
  Status st = StartNode(*a);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("belongs to cluster bbbbbbbbbbbbbbbb"), std::string::npos)
      << st.ToString();
  EXPECT_NE(st.message().find("aaaaaaaaaaaaaaaa"), std::string::npos) << st.ToString();
  EXPECT_FALSE(a->leaser->state().primary);
}

TEST_F(EtcdLeaserTest, EtcdUnreachableAtStartRetriesInTheBackground) {
  etcd_.Stop();
  auto a = MakeNode("a", "000000000000000a");
  WALSHIP_ASSERT_OK(StartNode(*a));  // an unreachable etcd is not fatal at start
  std::this_thread::sleep_for(500ms);
  EXPECT_FALSE(a->leaser->state().primary);
  ASSERT_TRUE(etcd_.Restart());
  ASSERT_TRUE(Eventually([&] { return a->leaser->state().primary; }, 5s));
  a->leaser->Stop();
}

}  // namespace
}  // namespace walship::lease
