// EtcdClient against a real etcd (EtcdProcess): leases, keys, transactions,
// failover between endpoints, and etcd going away and coming back.
#include "lease/etcd_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness/etcd_process.h"
#include "harness/net.h"
#include "harness/status_assert.h"
#include "harness/temp_dir.h"

namespace walship::lease {
namespace {

using namespace std::chrono_literals;
using testing::EtcdProcess;
using testing::FreePort;
using testing::TempDir;

std::string Loopback(uint16_t port) { return "http://127.0.0.1:" + std::to_string(port); }

// A loopback socket that listens but never accepts: connections complete
// (the kernel's backlog) and requests are never answered.
class Blackhole {
 public:
  Blackhole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~Blackhole() { ::close(fd_); }
  uint16_t port() const { return port_; }

 protected:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// Answers one request with `response` (raw HTTP), then closes.
class OneShotServer : public Blackhole {
 public:
  explicit OneShotServer(std::string response)
      : thread_([this, response = std::move(response)] {
          int conn = ::accept(fd_, nullptr, nullptr);
          if (conn < 0) return;
          char buf[4096];
          ::recv(conn, buf, sizeof buf, 0);  // the request fits in one read
          ::send(conn, response.data(), response.size(), MSG_NOSIGNAL);
          ::close(conn);
        }) {}
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);  // wakes accept() if no request ever came
    thread_.join();
  }

 private:
  std::jthread thread_;
};

class EtcdClientTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.Start(dir_.path())); }

  EtcdClient Client(std::vector<std::string> endpoints = {}) {
    if (endpoints.empty()) endpoints = {etcd_.endpoint()};
    return EtcdClient({std::move(endpoints), 500ms});
  }

  TempDir dir_{"walship-etcd"};
  EtcdProcess etcd_;
};

TEST_F(EtcdClientTest, GrantAndKeepAliveReturnTtl) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t lease, client.Grant(5s));
  EXPECT_NE(lease, 0);
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t ttl, client.KeepAlive(lease));
  EXPECT_EQ(ttl, 5);
}

TEST_F(EtcdClientTest, KeepAliveOfRevokedOrUnknownLeaseIsNotFound) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t lease, client.Grant(5s));
  WALSHIP_ASSERT_OK(client.Revoke(lease));
  auto ttl = client.KeepAlive(lease);
  EXPECT_TRUE(ttl.status().IsNotFound()) << ttl.status().ToString();
  EXPECT_TRUE(client.KeepAlive(12345).status().IsNotFound());
  WALSHIP_ASSERT_OK(client.Revoke(lease));  // already gone: still OK
}

TEST_F(EtcdClientTest, KeepAliveOfExpiredLeaseIsNotFound) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t lease, client.Grant(1s));
  WALSHIP_ASSERT_OK(client.Put("expiring", "v", lease));
  // Polling the key (not the lease, which KeepAlive would renew) until etcd
  // has expired the lease and deleted it.
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (true) {
    WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("expiring"));
    if (!kv) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "lease " << lease << " never expired";
    std::this_thread::sleep_for(50ms);
  }
  auto ttl = client.KeepAlive(lease);
  EXPECT_TRUE(ttl.status().IsNotFound()) << ttl.status().ToString();
}

TEST_F(EtcdClientTest, RevokeDeletesAttachedKeys) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t lease, client.Grant(30s));
  WALSHIP_ASSERT_OK(client.Put("primary", "node1", lease));
  WALSHIP_ASSERT_OK(client.Put("config", "kept", 0));
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("primary"));
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->lease, lease);
  WALSHIP_ASSERT_OK(client.Revoke(lease));
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto gone, client.Get("primary"));
  EXPECT_FALSE(gone.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kept, client.Get("config"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->lease, 0);
}

TEST_F(EtcdClientTest, PutGetRoundTripsBinaryValues) {
  EtcdClient client = Client();
  // Lengths 0..5 cover no, two and one '=' of base64 padding.
  const std::vector<std::string> values = {
      "", "a", "ab", "abc", "abcd", std::string("\0\xff=\n\"", 5), "==", std::string(1000, '\x80')};
  for (size_t i = 0; i < values.size(); i++) {
    const std::string key = std::string("bin/\x01\xfe=") + std::to_string(i);
    WALSHIP_ASSERT_OK(client.Put(key, values[i], 0));
    WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get(key));
    ASSERT_TRUE(kv.has_value()) << i;
    EXPECT_EQ(kv->key, key);
    EXPECT_EQ(kv->value, values[i]) << "value " << i;
    EXPECT_EQ(kv->lease, 0);
    EXPECT_GT(kv->create_revision, 0);
    EXPECT_EQ(kv->mod_revision, kv->create_revision);
  }
}

TEST_F(EtcdClientTest, GetOfMissingKeyIsNullopt) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("no/such/key"));
  EXPECT_FALSE(kv.has_value());
}

TEST_F(EtcdClientTest, PutIfRevisionZeroCreatesOnlyOnce) {
  EtcdClient first = Client();
  EtcdClient second = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool created, first.PutIfRevision("lock", "first", 0, 0));
  EXPECT_TRUE(created);
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool again, second.PutIfRevision("lock", "second", 0, 0));
  EXPECT_FALSE(again);
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, first.Get("lock"));
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "first");
}

TEST_F(EtcdClientTest, PutIfRevisionZeroHasOneWinnerAcrossThreads) {
  EtcdClient client = Client();
  constexpr int kThreads = 4;
  std::vector<int> won(kThreads, -1);
  {
    std::vector<std::jthread> threads;
    for (int i = 0; i < kThreads; i++) {
      threads.emplace_back([&, i] {
        auto r = client.PutIfRevision("race", std::to_string(i), 0, 0);
        won[i] = r.ok() ? int(r.value()) : -1;
      });
    }
  }
  int winners = 0;
  for (int i = 0; i < kThreads; i++) {
    EXPECT_NE(won[i], -1) << "thread " << i << " failed";
    winners += won[i] == 1;
  }
  EXPECT_EQ(winners, 1);
}

TEST_F(EtcdClientTest, PutIfRevisionNeedsCurrentModRevision) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t lease, client.Grant(30s));
  WALSHIP_ASSERT_OK(client.Put("primary", "node1", 0));
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("primary"));
  ASSERT_TRUE(kv.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool put,
                               client.PutIfRevision("primary", "node2", lease, kv->mod_revision));
  EXPECT_TRUE(put);
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool stale,
                               client.PutIfRevision("primary", "node3", 0, kv->mod_revision));
  EXPECT_FALSE(stale);
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto now, client.Get("primary"));
  ASSERT_TRUE(now.has_value());
  EXPECT_EQ(now->value, "node2");
  EXPECT_EQ(now->lease, lease);
  EXPECT_GT(now->mod_revision, kv->mod_revision);
  EXPECT_EQ(now->create_revision, kv->create_revision);
}

TEST_F(EtcdClientTest, GetPrefixListsKeysInOrder) {
  EtcdClient client = Client();
  for (const char* key : {"svc/a/2", "svc/ab", "svc/a/10", "svc/a", "svc/a/1", "svc/b/1"}) {
    WALSHIP_ASSERT_OK(client.Put(key, std::string("v-") + key, 0));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kvs, client.GetPrefix("svc/a/"));
  std::vector<std::string> keys;
  for (const auto& kv : kvs) {
    keys.push_back(kv.key);
    EXPECT_EQ(kv.value, "v-" + kv.key);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"svc/a/1", "svc/a/10", "svc/a/2"}));
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto none, client.GetPrefix("svc/c/"));
  EXPECT_TRUE(none.empty());
}

TEST_F(EtcdClientTest, GetPrefixEndingInFfByte) {
  EtcdClient client = Client();
  for (std::string key :
       {std::string("p\xff"), std::string("p\xff\x01"), std::string("q"), std::string("p\xfe")}) {
    WALSHIP_ASSERT_OK(client.Put(key, "v", 0));
  }
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kvs, client.GetPrefix("p\xff"));
  ASSERT_EQ(kvs.size(), 2u);
  EXPECT_EQ(kvs[0].key, "p\xff");
  EXPECT_EQ(kvs[1].key, "p\xff\x01");
}

TEST_F(EtcdClientTest, DeleteIfRevision) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK(client.Put("victim", "v", 0));
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("victim"));
  ASSERT_TRUE(kv.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool wrong, client.DeleteIfRevision("victim", kv->mod_revision + 1));
  EXPECT_FALSE(wrong);
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto still, client.Get("victim"));
  EXPECT_TRUE(still.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool deleted, client.DeleteIfRevision("victim", kv->mod_revision));
  EXPECT_TRUE(deleted);
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto gone, client.Get("victim"));
  EXPECT_FALSE(gone.has_value());
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool again, client.DeleteIfRevision("victim", kv->mod_revision));
  EXPECT_FALSE(again);
  WALSHIP_ASSERT_OK_AND_ASSIGN(bool missing, client.DeleteIfRevision("victim", 0));
  EXPECT_FALSE(missing);
}

TEST_F(EtcdClientTest, EtcdErrorIsReturnedWithItsMessage) {
  EtcdClient client = Client();
  Status st = client.Put("k", "v", 999);  // no such lease
  EXPECT_TRUE(st.IsNotFound()) << st.ToString();
  EXPECT_NE(st.message().find("lease not found"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find(etcd_.endpoint()), std::string::npos) << st.ToString();
}

TEST_F(EtcdClientTest, DeadFirstEndpointFallsThrough) {
  Blackhole silent;
  EtcdClient client = Client({Loopback(FreePort()), Loopback(silent.port()), etcd_.endpoint()});
  WALSHIP_ASSERT_OK(client.Put("k", "v", 0));
  // The endpoint that answered is tried first from now on: no more waiting.
  const auto start = std::chrono::steady_clock::now();
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("k"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 400ms);
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "v");
}

TEST_F(EtcdClientTest, AllEndpointsDeadIsUnavailable) {
  Blackhole silent;
  const std::string refused = Loopback(FreePort());
  EtcdClient client = Client({refused, Loopback(silent.port())});
  auto kv = client.Get("k");
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().code(), Status::Code::kUnavailable) << kv.status().ToString();
  EXPECT_TRUE(kv.status().IsRetryable());
  EXPECT_NE(kv.status().message().find(refused), std::string::npos) << kv.status().ToString();
  EXPECT_NE(kv.status().message().find(Loopback(silent.port())), std::string::npos)
      << kv.status().ToString();
}

TEST_F(EtcdClientTest, MalformedAnswerIsCorruption) {
  OneShotServer server(
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 9\r\n"
      "Connection: close\r\n\r\n{\"kvs\":[1");
  EtcdClient client = Client({Loopback(server.port())});
  auto kv = client.Get("k");
  EXPECT_TRUE(kv.status().IsCorruption()) << kv.status().ToString();
  EXPECT_NE(kv.status().message().find(Loopback(server.port()) + "/v3/kv/range"), std::string::npos)
      << kv.status().ToString();
}

TEST_F(EtcdClientTest, KilledEtcdFailsThenRecoversAfterRestart) {
  EtcdClient client = Client();
  WALSHIP_ASSERT_OK(client.Put("durable", "yes", 0));
  etcd_.Kill();
  auto down = client.Get("durable");
  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable) << down.status().ToString();
  ASSERT_TRUE(etcd_.Restart());
  WALSHIP_ASSERT_OK_AND_ASSIGN(auto kv, client.Get("durable"));
  ASSERT_TRUE(kv.has_value());
  EXPECT_EQ(kv->value, "yes");
  WALSHIP_ASSERT_OK(client.Put("after", "restart", 0));
}

}  // namespace
}  // namespace walship::lease
