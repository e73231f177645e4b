// The replica's connection rules (docs/protocol.md, "Reconnecting"), against
// a fake primary on loopback: reconnect back-off (doubling from
// lease.reconnect-delay up to 5 s, started over by a connection that
// delivered a frame), the silence timeout, and diverged/ names that are
// already taken (docs/failover.md).
#include "repl/replica_client.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include "http/server.h"
#include "ltx/format.h"
#include "repl/protocol.h"
#include "repl/reconnect_backoff.h"
#include "sqlite/journal.h"
#include "store/store.h"

namespace walship::repl {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using SteadyTime = std::chrono::steady_clock::time_point;

TEST(ReconnectBackoff, DoublesFromTheDelayUpToFiveSeconds) {
  ReconnectBackoff b(milliseconds(1000), milliseconds(5000));
  std::vector<int64_t> waits;
  for (int i = 0; i < 5; i++) waits.push_back(b.Next(false).count());
  EXPECT_EQ(waits, (std::vector<int64_t>{1000, 2000, 4000, 5000, 5000}));
}

TEST(ReconnectBackoff, AZeroDelayWaitsTheFloorAndStillDoubles) {
  ReconnectBackoff b(milliseconds(0), milliseconds(5000));
  EXPECT_EQ(b.Next(false), ReconnectBackoff::kMinDelay);
  EXPECT_EQ(b.Next(false), 2 * ReconnectBackoff::kMinDelay);
  for (int i = 0; i < 20; i++) (void)b.Next(false);
  EXPECT_EQ(b.Next(false), milliseconds(5000));
}

TEST(ReconnectBackoff, ADelayAboveTheCapIsKept) {
  ReconnectBackoff b(milliseconds(8000), milliseconds(5000));
  EXPECT_EQ(b.Next(false), milliseconds(8000));
  EXPECT_EQ(b.Next(false), milliseconds(8000));
}

TEST(ReconnectBackoff, AConnectionThatDeliveredAFrameStartsOver) {
  ReconnectBackoff b(milliseconds(100), milliseconds(5000));
  (void)b.Next(false);
  (void)b.Next(false);
  EXPECT_EQ(b.Next(false), milliseconds(400));
  EXPECT_EQ(b.Next(true), milliseconds(100));
  EXPECT_EQ(b.Next(false), milliseconds(200));
}

std::string Frame(FrameType type, const std::string& payload) {
  uint8_t header[kFrameHeaderSize];
  EncodeFrameHeader({type, payload.size()}, header);
  return std::string(reinterpret_cast<char*>(header), sizeof header) + payload;
}

// Keeps a stream open, sending nothing, until the replica hangs up.
void HoldSilent(http::Request& req, http::Response& resp) {
  if (!resp.BeginChunked(200, http::kOctetStream).ok()) return;
  while (resp.PeerConnected() && !req.stop_token().stop_requested()) {
    std::this_thread::sleep_for(milliseconds(10));  // polling the peer
  }
}

// A node API on loopback whose POST /stream runs `answer(n, ...)` for the
// n-th connection (from 0) and records when each arrived.
class FakePrimary {
 public:
  using Answer = std::function<void(int, http::Request&, http::Response&)>;
  explicit FakePrimary(Answer answer) : answer_(std::move(answer)) {
    http::ServerOptions o;
    o.addr = "127.0.0.1:0";
    server_ = std::make_unique<http::Server>(o);
    server_->Handle("POST", "/stream", [this](http::Request& req, http::Response& resp) {
      int n;
      {
        std::lock_guard lock(mu_);
        n = int(times_.size());
        times_.push_back(std::chrono::steady_clock::now());
      }
      cv_.notify_all();
      answer_(n, req, resp);
    });
    EXPECT_TRUE(server_->Start().ok());
  }
  ~FakePrimary() { server_->Stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

  // When the first `n` connections arrived; fewer if `timeout` passes first.
  std::vector<SteadyTime> WaitConnections(size_t n, milliseconds timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return times_.size() >= n; });
    return std::vector<SteadyTime>(times_.begin(), times_.begin() + std::min(n, times_.size()));
  }

 private:
  Answer answer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SteadyTime> times_;
  std::unique_ptr<http::Server> server_;
};

int64_t GapMs(const std::vector<SteadyTime>& t, size_t i) {
  return std::chrono::duration_cast<milliseconds>(t[i + 1] - t[i]).count();
}

class ReplicaClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "walship-rc-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    store::StoreOptions o;
    o.data_dir = dir_ + "/data";
    o.seal_txids = 1;  // each transaction an LTX file of its own
    store_ = std::make_unique<store::Store>(o);
    ASSERT_TRUE(store_->Open().ok());
  }
  void TearDown() override {
    if (client_) client_->Stop();
    client_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void StartClient(const std::string& url, ReplicaClientOptions o) {
    o.hostname = "replica";
    client_ = std::make_unique<ReplicaClient>(store_.get(), nullptr, std::move(o));
    client_->Start(url);
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ReplicaClient> client_;
};

ReplicaClientOptions Options(milliseconds delay, milliseconds cap = milliseconds(5000),
                             milliseconds read_timeout = milliseconds(5000),
                             Clock* clock = nullptr) {
  ReplicaClientOptions o;
  o.reconnect_delay = delay;
  o.max_reconnect_delay = cap;
  o.read_timeout = read_timeout;
  o.clock = clock;
  return o;
}

// Lower bound: the wait itself. Upper bound: twice it plus 150 ms for a
// loaded machine.
void ExpectGap(const std::vector<SteadyTime>& t, size_t i, int64_t want_ms) {
  EXPECT_GE(GapMs(t, i), want_ms) << "gap " << i;
  EXPECT_LT(GapMs(t, i), 2 * want_ms + 150) << "gap " << i;
}

TEST_F(ReplicaClientTest, RetriesADeadPrimaryAtDoublingDelaysUpToTheCap) {
  FakePrimary primary(
      [](int, http::Request&, http::Response& resp) { resp.Send(503, "not the primary"); });
  StartClient(primary.url(), Options(milliseconds(100), milliseconds(800)));
  auto t = primary.WaitConnections(6, milliseconds(8000));
  ASSERT_EQ(t.size(), 6u);
  const int64_t want[] = {100, 200, 400, 800, 800};
  for (size_t i = 0; i < 5; i++) ExpectGap(t, i, want[i]);
}

TEST_F(ReplicaClientTest, AConnectionThatDeliveredOnlyAHeartbeatResetsTheBackoff) {
  // Three refusals (waits 100, 200, 400 ms), then a stream that delivers a
  // heartbeat and ends: the next wait is 100 ms again, then 200.
  FakePrimary primary([](int n, http::Request&, http::Response& resp) {
    if (n != 3) return resp.Send(503, "not the primary");
    if (!resp.BeginChunked(200, http::kOctetStream).ok()) return;
    (void)resp.WriteText(Frame(FrameType::kHeartbeat, ""));
  });
  StartClient(primary.url(), Options(milliseconds(100), milliseconds(5000)));
  auto t = primary.WaitConnections(6, milliseconds(8000));
  ASSERT_EQ(t.size(), 6u);
  ExpectGap(t, 2, 400);
  ExpectGap(t, 3, 100);
  ExpectGap(t, 4, 200);
}

TEST_F(ReplicaClientTest, ASilentPrimaryIsDroppedAfterTheReadTimeout) {
  FakePrimary primary([](int, http::Request& req, http::Response& resp) { HoldSilent(req, resp); });
  StartClient(primary.url(), Options(milliseconds(10), milliseconds(5000), milliseconds(400)));
  auto t = primary.WaitConnections(2, milliseconds(5000));
  ASSERT_EQ(t.size(), 2u) << "the replica never gave up on the silent primary";
  EXPECT_GE(GapMs(t, 0), 400);
  EXPECT_LT(GapMs(t, 0), 3000);
}

// docs/protocol.md: no frame for 5 s counts as a broken connection.
TEST_F(ReplicaClientTest, TheDefaultSilenceTimeoutIsFiveSeconds) {
  FakePrimary primary([](int, http::Request& req, http::Response& resp) { HoldSilent(req, resp); });
  StartClient(primary.url(), Options(milliseconds(10)));
  auto t = primary.WaitConnections(2, milliseconds(12000));
  ASSERT_EQ(t.size(), 2u) << "the replica never gave up on the silent primary";
  EXPECT_GE(GapMs(t, 0), 4000);
  EXPECT_LT(GapMs(t, 0), 10000);
}

class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t ms) : ms_(ms) {}
  int64_t NowUnixMs() const override { return ms_; }
  std::chrono::steady_clock::time_point Monotonic() const override {
    return std::chrono::steady_clock::now();
  }

 private:
  int64_t ms_;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// One rollback-journal transaction, as the FUSE layer drives it.
void CommitTable(store::Db* db, const std::string& scratch) {
  sqlite3* s = nullptr;
  ASSERT_EQ(sqlite3_open(scratch.c_str(), &s), SQLITE_OK);
  sqlite3_exec(s, "CREATE TABLE t(x); INSERT INTO t VALUES(1)", nullptr, nullptr, nullptr);
  sqlite3_close(s);
  const std::string bytes = ReadAll(scratch);
  std::vector<uint8_t> journal(512, 0);
  std::copy(std::begin(sqlite::kJournalMagic), std::end(sqlite::kJournalMagic), journal.begin());
  ASSERT_TRUE(db->Create(store::FileKind::kJournal).ok());
  ASSERT_TRUE(db->Write(store::FileKind::kJournal, 0, journal).ok());
  ASSERT_TRUE(db->Write(store::FileKind::kDatabase, 0,
                        std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))
                  .ok());
  ASSERT_TRUE(db->Remove(store::FileKind::kJournal).ok());
}

// docs/failover.md: a file whose name is already in diverged/ gets a
// .UNIXMS suffix; one set aside in the same millisecond must not be
// overwritten either.
TEST_F(ReplicaClientTest, DivergedNamesAlreadyTakenAreNotOverwritten) {
  auto db = store_->Create("x.db");
  ASSERT_TRUE(db.ok());
  CommitTable(*db, dir_ + "/scratch.db");
  ASSERT_EQ((*db)->pos().txid, 1u);
  const std::string diverged = (*db)->dir() + "/diverged";
  const std::string name = ltx::FileName(1, 1);
  const int64_t now_ms = 1700000000000;
  fs::create_directories(diverged);
  std::ofstream(diverged + "/" + name) << "first divergence";
  std::ofstream(diverged + "/" + name + "." + std::to_string(now_ms)) << "same millisecond";

  FakePrimary primary([](int n, http::Request& req, http::Response& resp) {
    if (n > 0) return HoldSilent(req, resp);
    if (!resp.BeginChunked(200, http::kOctetStream).ok()) return;
    (void)resp.WriteText(Frame(FrameType::kDiverged, EncodeNamedTxid("x.db", 0)));
  });
  FixedClock clock(now_ms);
  StartClient(primary.url(),
              Options(milliseconds(10), milliseconds(5000), milliseconds(5000), &clock));
  const std::string moved = diverged + "/" + name + "." + std::to_string(now_ms + 1);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!fs::exists(moved) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(10));  // polling a deadline
  }
  client_->Stop();
  ASSERT_TRUE(fs::exists(moved)) << "the LTX file was not set aside as " << moved;
  EXPECT_EQ(ReadAll(moved).substr(0, 4), "LTX1");
  EXPECT_EQ(ReadAll(diverged + "/" + name), "first divergence");
  EXPECT_EQ(ReadAll(diverged + "/" + name + "." + std::to_string(now_ms)), "same millisecond");
  EXPECT_FALSE(fs::exists((*db)->LtxDir() + "/" + name));
}

}  // namespace
}  // namespace walship::repl
