// The proxy in front of a real HTTP application (walship-test-app, reading
// and writing SQLite in the mount) on every node of a 3-node cluster (label
// cluster): writes on replicas land on the primary, the __txid cookie gives
// read-your-writes on any replica, strong reads, 50 concurrent writers, a
// WebSocket echo, health, a target that is down, fly-replay, and (with etcd)
// a primary change in the middle of a run.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <thread>

#include "cluster/cluster_util.h"
#include "harness/etcd_process.h"
#include "harness/net.h"
#include "http/client.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;

class ProxyTest : public ::testing::Test {
 protected:
  // Three nodes (static lease, or etcd when `etcd` is set), each with a
  // proxy in front of its own walship-test-app.
  // `apply_delay_ms`: replicas wait that long before applying each
  // transaction (WALSHIP_TEST_APPLY_DELAY_MS), so a read that needs a TXID
  // finds its replica behind and must wait for it.
  void StartCluster(const std::string& etcd = "", const std::string& proxy_extra = "",
                    int apply_delay_ms = 0) {
    for (int i = 0; i < 3; i++) {
      proxy_ports_.push_back(FreePort());
      app_ports_.push_back(FreePort());
    }
    ClusterOptions options;
    options.etcd_endpoint = etcd;
    if (apply_delay_ms > 0) {
      options.replica_env = {{"WALSHIP_TEST_APPLY_DELAY_MS", std::to_string(apply_delay_ms)}};
    }
    options.node_yaml = [this, proxy_extra](size_t i) {
      return "proxy:\n  addr: \"127.0.0.1:" + std::to_string(proxy_ports_[i]) +
             "\"\n  target: \"127.0.0.1:" + std::to_string(app_ports_[i]) +
             "\"\n  db: app.db\n  max-lag: 3s\n  passthrough: [\"/count\"]\n" + proxy_extra;
    };
    cluster_ = std::make_unique<Cluster>(options);
    ASSERT_TRUE(cluster_->Start());
    primary_ = etcd.empty() ? 0 : cluster_->PrimaryIndex();
    ASSERT_GE(primary_, 0);
    {
      Sql sql(cluster_->node(primary_).Path(kDb));
      ASSERT_TRUE(
          sql.Exec("PRAGMA journal_mode=wal; CREATE TABLE rows(id INTEGER PRIMARY KEY, v TEXT)"));
    }
    ASSERT_TRUE(WaitConvergedFrom(primary_));
    for (int i = 0; i < 3; i++) StartApp(i);
  }

  void StartApp(int i) {
    apps_.resize(3);
    apps_[i] = Child::Exec({WALSHIP_TEST_APP, "127.0.0.1:" + std::to_string(app_ports_[i]),
                            cluster_->node(i).Path(kDb)},
                           "", cluster_->dir() + "/app" + std::to_string(i) + ".log");
    // Ready once it answers.
    for (int t = 0; t < 200; t++) {
      http::Client client(AppUrl(i), seconds(1));
      if (client.Get("/count").ok()) return;
      std::this_thread::sleep_for(milliseconds(20));
    }
    ADD_FAILURE() << "walship-test-app " << i << " did not start";
  }

  ::testing::AssertionResult WaitConvergedFrom(int from) {
    auto pos = ReadPos(cluster_->node(from).mount_dir(), kDb);
    if (!pos.ok()) return ::testing::AssertionFailure() << pos.status().ToString();
    for (size_t i = 0; i < cluster_->size(); i++) {
      if (int(i) == from || !cluster_->node(i).running()) continue;
      if (auto r = WaitForPos(cluster_->node(i), kDb, *pos); !r) return r;
    }
    return ::testing::AssertionSuccess();
  }

  std::string ProxyUrl(int i) const {
    return "http://127.0.0.1:" + std::to_string(proxy_ports_[i]);
  }
  std::string AppUrl(int i) const { return "http://127.0.0.1:" + std::to_string(app_ports_[i]); }
  int Replica(int n) const { return (primary_ + 1 + n) % 3; }

  std::vector<uint16_t> proxy_ports_, app_ports_;
  std::unique_ptr<Cluster> cluster_;
  std::vector<Child> apps_;
  int primary_ = -1;
};

// "__txid=...; Path=/..." -> "__txid=...".
template <typename T>
T ValueOr(Result<T> r, T fallback) {
  return r.ok() ? *r : fallback;
}

// How long replicas wait before applying, in the tests of reads that need a
// TXID: far longer than a read through the proxy takes.
constexpr int kApplyDelayMs = 400;

std::string CookieOf(const http::ClientResponse& resp) {
  auto it = resp.headers.find("set-cookie");
  if (it == resp.headers.end()) return "";
  return it->second.substr(0, it->second.find(';'));
}

TEST_F(ProxyTest, WriteOnAReplicaLandsOnThePrimaryAndTheCookieReadsItAnywhere) {
  ASSERT_NO_FATAL_FAILURE(StartCluster("", "", kApplyDelayMs));
  http::Client writer(ProxyUrl(Replica(0)), seconds(10));
  auto posted = writer.Post("/rows", "hello", http::kTextPlain);
  ASSERT_TRUE(posted.ok()) << posted.status().ToString();
  ASSERT_EQ(posted->status, 201) << posted->body;
  const std::string id = posted->body;
  const std::string cookie = CookieOf(*posted);
  ASSERT_EQ(cookie.rfind("__txid=", 0), 0u) << "no __txid cookie: " << cookie;
  ASSERT_EQ(cookie.size(), std::string("__txid=").size() + 16);
  auto pos = ReadPos(cluster_->node(primary_).mount_dir(), kDb);
  ASSERT_TRUE(pos.ok());
  EXPECT_EQ(std::stoull(cookie.substr(7), nullptr, 16), pos->txid)
      << "the cookie names the write's TXID";
  // The row is on the primary's database (the write was forwarded).
  Sql primary(cluster_->node(primary_).Path(kDb));
  EXPECT_EQ(ValueOr<std::string>(primary.QueryString("SELECT v FROM rows WHERE id = " + id), ""),
            "hello");

  // With the cookie, a read on the other replica sees the write at once,
  // although that replica applies it only kApplyDelayMs later.
  ASSERT_LT(ValueOr<Pos>(ReadPos(cluster_->node(Replica(1)).mount_dir(), kDb), Pos{}).txid,
            pos->txid)
      << "the replica was not behind: this read would prove nothing";
  http::Client reader(ProxyUrl(Replica(1)), seconds(10));
  reader.SetHeader("Cookie", cookie);
  auto got = reader.Get("/rows/" + id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(got->body, "hello");

  // litefs-js's decimal cookie works too.
  http::Client js(ProxyUrl(Replica(1)), seconds(10));
  js.SetHeader("Cookie", "txnum=" + std::to_string(pos->txid));
  auto again = js.Get("/rows/" + id);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(ProxyTest, StrongReadWaitsForThePrimarysPositionAndWaitEndpointToo) {
  ASSERT_NO_FATAL_FAILURE(StartCluster("", "", kApplyDelayMs));
  http::Client writer(ProxyUrl(primary_), seconds(10));
  auto posted = writer.Post("/rows", "strong", http::kTextPlain);
  ASSERT_TRUE(posted.ok());
  ASSERT_EQ(posted->status, 201);
  auto primary_pos = ReadPos(cluster_->node(primary_).mount_dir(), kDb);
  ASSERT_TRUE(primary_pos.ok());
  ASSERT_LT(ValueOr<Pos>(ReadPos(cluster_->node(Replica(0)).mount_dir(), kDb), Pos{}).txid,
            primary_pos->txid)
      << "the replica was not behind: this read would prove nothing";
  http::Client reader(ProxyUrl(Replica(0)), seconds(10));
  reader.SetHeader("Walship-Consistency", "strong");
  auto got = reader.Get("/rows/" + posted->body);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->status, 200) << "a strong read missed the latest write";
  auto waited = HttpGet(cluster_->Url(Replica(1)), "/wait?db=app.db&txid=primary");
  ASSERT_TRUE(waited.ok()) << waited.status().ToString();
  auto too_far = HttpGet(cluster_->Url(Replica(1)), "/wait?db=app.db&txid=999999&timeout=200");
  EXPECT_FALSE(too_far.ok());
  EXPECT_NE(too_far.status().message().find("504"), std::string::npos)
      << too_far.status().ToString();
}

TEST_F(ProxyTest, FiftyConcurrentClientsThroughAReplicaLoseNoWrite) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  std::atomic<int64_t> ok{0}, failed{0};
  std::vector<std::thread> clients;
  const auto end = SteadyClock::now() + seconds(4);
  for (int t = 0; t < 50; t++) {
    clients.emplace_back([&, t] {
      http::Client client(ProxyUrl(Replica(t % 2)), seconds(30));
      while (SteadyClock::now() < end) {
        auto r = client.Post("/rows", "c" + std::to_string(t), http::kTextPlain);
        (r.ok() && r->status == 201 ? ok : failed)++;
      }
    });
  }
  for (auto& c : clients) c.join();
  std::cout << "[ info     ] " << ok << " writes through replica proxies in 4 s\n";
  EXPECT_EQ(failed, 0);
  EXPECT_GT(ok, 50);
  Sql primary(cluster_->node(primary_).Path(kDb));
  EXPECT_EQ(ValueOr<int64_t>(primary.QueryInt("SELECT count(*) FROM rows"), -1), ok.load());
}

TEST_F(ProxyTest, WebSocketEchoPassesThrough) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  namespace beast = boost::beast;
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  beast::websocket::stream<boost::asio::ip::tcp::socket> ws(io);
  boost::asio::connect(ws.next_layer(),
                       resolver.resolve("127.0.0.1", std::to_string(proxy_ports_[Replica(0)])));
  ws.handshake("127.0.0.1", "/ws");
  for (const std::string& message :
       {std::string("one"), std::string("two"), std::string(100000, 'x')}) {
    ws.write(boost::asio::buffer(message));
    beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_EQ(beast::buffers_to_string(buffer.data()), message);
  }
  ws.close(beast::websocket::close_code::normal);
}

TEST_F(ProxyTest, HealthPassthroughAndATargetThatIsDown) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  for (int i = 0; i < 3; i++) {
    http::Client client(ProxyUrl(i), seconds(5));
    auto health = client.Get("/walship/health");
    ASSERT_TRUE(health.ok());
    EXPECT_EQ(health->status, 200) << health->body;
    auto litefs = client.Get("/litefs/health");
    ASSERT_TRUE(litefs.ok());
    EXPECT_EQ(litefs->status, 200);
  }
  http::Client count(ProxyUrl(Replica(0)), seconds(5));
  auto passed = count.Get("/count");
  ASSERT_TRUE(passed.ok());
  EXPECT_EQ(passed->status, 200);
  apps_[Replica(0)].Kill();
  const auto start = SteadyClock::now();
  http::Client down(ProxyUrl(Replica(0)), seconds(30));
  auto resp = down.Get("/count");
  ASSERT_TRUE(resp.ok());
  const auto took = SteadyClock::now() - start;
  EXPECT_EQ(resp->status, 502);
  // docs/proxy.md: retried for 5 s, then 502 naming the address and the error.
  const std::string address = "127.0.0.1:" + std::to_string(app_ports_[Replica(0)]);
  EXPECT_NE(resp->body.find("the application at " + address + " does not answer ("),
            std::string::npos)
      << resp->body;
  EXPECT_GE(took, milliseconds(4500)) << "gave up without retrying for 5 s";
  EXPECT_LT(took, seconds(10)) << "retried without bound";
}

// A request that already carries Walship-Forwarded is never forwarded again:
// a replica answers 503 and the primary never sees it. And a strong read
// needs the primary's position: with the primary down, 503.
TEST_F(ProxyTest, ReplicaAnswers503ToAForwardedWriteAndToAStrongReadWithoutThePrimary) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  Sql primary(cluster_->node(primary_).Path(kDb));
  http::Client forwarded(ProxyUrl(Replica(0)), seconds(10));
  forwarded.SetHeader("Walship-Forwarded", "1");
  auto resp = forwarded.Post("/rows", "twice", http::kTextPlain);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 503) << resp->body;
  EXPECT_NE(resp->body.find("a write was forwarded to this node, which is not the primary"),
            std::string::npos)
      << resp->body;
  // The same write without the header does reach the primary, so the count
  // below would have seen the forwarded one.
  http::Client plain(ProxyUrl(Replica(0)), seconds(10));
  auto landed = plain.Post("/rows", "once", http::kTextPlain);
  ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  ASSERT_EQ(landed->status, 201) << landed->body;
  EXPECT_EQ(ValueOr<int64_t>(primary.QueryInt("SELECT count(*) FROM rows WHERE v = 'twice'"), -1),
            0);
  EXPECT_EQ(ValueOr<int64_t>(primary.QueryInt("SELECT count(*) FROM rows"), -1), 1);

  http::Client strong(ProxyUrl(Replica(1)), seconds(10));
  strong.SetHeader("Walship-Consistency", "strong");
  auto read = strong.Get("/rows/" + landed->body);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->status, 200) << read->body;
  apps_[primary_].Kill();
  cluster_->node(primary_).Kill();
  http::Client strong_down(ProxyUrl(Replica(1)), seconds(10));
  strong_down.SetHeader("Walship-Consistency", "strong");
  read = strong_down.Get("/rows/" + landed->body);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->status, 503) << read->body;
  EXPECT_NE(read->body.find("strong read: cannot reach the primary: cannot reach the node at " +
                            cluster_->Url(primary_)),
            std::string::npos)
      << read->body;
}

// Under the static lease the primary is fixed: once a replica has learned
// the primary's proxy address it keeps it, so a write after the primary went
// down is retried there for 5 s and answered 502 naming that address. A
// replica that never learned it answers 503 at once (docs/proxy.md).
TEST_F(ProxyTest, StaticPrimaryDownIs502AtItsKnownAddressAnd503WhereNeverLearned) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  http::Client first(ProxyUrl(Replica(0)), seconds(10));
  auto landed = first.Post("/rows", "before", http::kTextPlain);
  ASSERT_TRUE(landed.ok()) << landed.status().ToString();
  ASSERT_EQ(landed->status, 201) << landed->body;
  apps_[primary_].Kill();
  cluster_->node(primary_).Kill();

  const auto start = SteadyClock::now();
  http::Client learned(ProxyUrl(Replica(0)), seconds(30));
  auto resp = learned.Post("/rows", "after", http::kTextPlain);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  const auto took = SteadyClock::now() - start;
  EXPECT_EQ(resp->status, 502) << resp->body;
  EXPECT_NE(resp->body.find("the primary's proxy at 127.0.0.1:" +
                            std::to_string(proxy_ports_[primary_]) + " does not answer ("),
            std::string::npos)
      << resp->body;
  EXPECT_GE(took, milliseconds(4500)) << "gave up without retrying for 5 s";
  EXPECT_LT(took, seconds(10)) << "retried without bound";

  http::Client never(ProxyUrl(Replica(1)), seconds(10));
  resp = never.Post("/rows", "after", http::kTextPlain);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 503) << resp->body;
  EXPECT_NE(resp->body.find("no primary is known"), std::string::npos) << resp->body;
}

TEST_F(ProxyTest, PrimaryDownMeans503ForWritesAndHealthAnd504ForAReadThatCannotCatchUp) {
  ASSERT_NO_FATAL_FAILURE(StartCluster());
  cluster_->node(primary_).Kill();
  http::Client client(ProxyUrl(Replica(0)), seconds(10));
  auto resp = client.Post("/rows", "x", http::kTextPlain);
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->status, 503) << resp->body;
  EXPECT_NE(resp->body.find("no primary"), std::string::npos) << resp->body;
  // Reads still work locally.
  http::Client reader(ProxyUrl(Replica(0)), seconds(10));
  auto count = reader.Get("/count");
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(count->status, 200);
  // A read for a TXID that will never arrive gives up after max-lag (3 s).
  http::Client waiting(ProxyUrl(Replica(0)), seconds(10));
  waiting.SetHeader("Cookie", "__txid=00000000000fffff");
  const auto start = SteadyClock::now();
  auto timed_out = waiting.Get("/rows/1");
  ASSERT_TRUE(timed_out.ok());
  EXPECT_EQ(timed_out->status, 504) << timed_out->body;
  EXPECT_NE(timed_out->body.find("did not reach TXID 1048575"), std::string::npos)
      << timed_out->body;
  EXPECT_GE(SteadyClock::now() - start, milliseconds(2900));
  // The lag passes max-lag about now: health says so.
  int health_status = 0;
  std::string health_body;
  for (int i = 0; i < 40 && health_status != 503; i++) {
    http::Client health(ProxyUrl(Replica(0)), seconds(10));
    auto h = health.Get("/walship/health");
    ASSERT_TRUE(h.ok());
    health_status = h->status;
    health_body = h->body;
    if (health_status != 503) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(health_status, 503) << health_body;
  EXPECT_NE(health_body.find("behind the primary"), std::string::npos) << health_body;
}

TEST_F(ProxyTest, FlyReplayModeAnswersWritesOnReplicasWithTheHeader) {
  ASSERT_NO_FATAL_FAILURE(StartCluster("", "  fly-replay: true\n"));
  http::Client client(ProxyUrl(Replica(0)), seconds(5));
  auto resp = client.Post("/rows", "x", http::kTextPlain);
  ASSERT_TRUE(resp.ok());
  EXPECT_EQ(resp->status, 409);
  EXPECT_EQ(resp->headers["fly-replay"], "instance=node1");
}

TEST_F(ProxyTest, WritesFollowThePrimaryThroughAFailover) {
  TempDir etcd_dir("walship-proxy-etcd");
  EtcdProcess etcd;
  ASSERT_TRUE(etcd.Start(etcd_dir.path()));
  ASSERT_NO_FATAL_FAILURE(StartCluster(etcd.endpoint()));
  const int survivor = Replica(0);
  http::Client client(ProxyUrl(survivor), seconds(10));
  auto before = client.Post("/rows", "before", http::kTextPlain);
  ASSERT_TRUE(before.ok());
  ASSERT_EQ(before->status, 201);
  ASSERT_TRUE(WaitConvergedFrom(primary_));
  const int old_primary = primary_;
  apps_[old_primary].Kill();
  cluster_->node(old_primary).Kill();
  const int now_primary = cluster_->PrimaryIndex(seconds(10), old_primary);
  ASSERT_GE(now_primary, 0);
  // Writes through a surviving proxy land on the new primary (retrying while
  // the election runs).
  int status = 0;
  std::string id;
  for (int i = 0; i < 100 && status != 201; i++) {
    http::Client retry(ProxyUrl(survivor), seconds(10));
    auto r = retry.Post("/rows", "after", http::kTextPlain);
    status = r.ok() ? r->status : 0;
    if (r.ok()) id = r->body;
    if (status != 201) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(status, 201);
  Sql sql(cluster_->node(now_primary).Path(kDb));
  EXPECT_EQ(ValueOr<std::string>(sql.QueryString("SELECT v FROM rows WHERE id = " + id), ""),
            "after");
  EXPECT_EQ(ValueOr<int64_t>(sql.QueryInt("SELECT count(*) FROM rows"), -1), 2);
}

}  // namespace
}  // namespace walship::testing::cluster
