// Long-lived chunked responses: incremental reads, departing clients, Stop()
// during a stream, and aborting a blocked read.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "http/client.h"
#include "http/server.h"
#include "test_util.h"

namespace walship::http {
namespace {

using namespace std::chrono_literals;
using testing::BaseUrl;
using testing::LoopbackOptions;
using testing::WaitUntilThreadSleeps;

// Blocks until Set() or the stop token fires; a one-shot latch for handlers.
class Gate {
 public:
  void Set() {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = true;
    cv_.notify_all();
  }
  bool Wait(std::stop_token stop, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, stop, timeout, [this] { return set_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable_any cv_;
  bool set_ = false;
};

// Sleeps up to `timeout` unless the server stops first.
void IdleUntilStopped(Request& req, std::chrono::milliseconds timeout) {
  Gate never;
  never.Wait(req.stop_token(), timeout);
}

TEST(Stream, ThousandChunksAreReadIncrementally) {
  Gate first_line_read;
  Server server(LoopbackOptions());
  server.Handle("GET", "/events", [&](Request& req, Response& res) {
    if (!res.BeginChunked(200, kNdjson).ok()) return;
    if (!res.WriteText("{\"i\":0}\n").ok()) return;
    // The client must see line 0 while this handler is still running.
    if (!first_line_read.Wait(req.stop_token(), 10s)) return;
    for (int i = 1; i < 1000; ++i) {
      if (!res.WriteText("{\"i\":" + std::to_string(i) + "}\n").ok()) return;
    }
    (void)res.EndChunked();
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  Result<std::unique_ptr<StreamReader>> stream = client.OpenStream("GET", "/events");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  StreamReader& reader = **stream;
  EXPECT_EQ(reader.status(), 200);
  EXPECT_EQ(reader.headers().at("content-type"), "application/x-ndjson");
  EXPECT_EQ(reader.headers().at("transfer-encoding"), "chunked");
  Result<std::string> first = reader.ReadLine();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(*first, "{\"i\":0}");
  first_line_read.Set();
  for (int i = 1; i < 1000; ++i) {
    Result<std::string> line = reader.ReadLine();
    ASSERT_TRUE(line.ok()) << i << ": " << line.status().ToString();
    ASSERT_EQ(*line, "{\"i\":" + std::to_string(i) + "}");
  }
  EXPECT_TRUE(reader.ReadLine().status().IsNotFound());  // the end of the body
  uint8_t byte;
  Result<size_t> after = reader.Read({&byte, 1});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, 0u);
}

// The byte at `i` of the body of LargeChunksToASlowReaderArriveWholeAndInOrder.
uint8_t PatternByte(size_t i) { return uint8_t((i * 2654435761u) >> 13); }

TEST(Stream, LargeChunksToASlowReaderArriveWholeAndInOrder) {
  // 24 MiB in 1 MiB chunks to a client that waits before it reads: the
  // socket takes part of a chunk at once (written from the serving thread)
  // and the rest only as the client reads (written through the strand).
  constexpr size_t kChunk = 1 << 20, kChunks = 24;
  Server server(LoopbackOptions());
  server.Handle("GET", "/big", [&](Request& req, Response& res) {
    if (!res.BeginChunked(200, kOctetStream).ok()) return;
    std::vector<uint8_t> chunk(kChunk);
    for (size_t c = 0; c < kChunks; ++c) {
      for (size_t i = 0; i < kChunk; ++i) chunk[i] = PatternByte(c * kChunk + i);
      if (!res.WriteChunk(chunk).ok()) return;
    }
    (void)res.EndChunked();
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto stream = client.OpenStream("GET", "/big");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  std::this_thread::sleep_for(300ms);
  std::vector<uint8_t> piece(100 * 1000);  // not a divisor of the chunk size
  size_t at = 0;
  for (;;) {
    Result<size_t> n = (*stream)->Read(piece);
    ASSERT_TRUE(n.ok()) << "at byte " << at << ": " << n.status().ToString();
    if (*n == 0) break;
    for (size_t i = 0; i < *n; ++i) {
      ASSERT_EQ(piece[i], PatternByte(at + i)) << "at byte " << at + i;
    }
    at += *n;
  }
  EXPECT_EQ(at, kChunk * kChunks);
}

TEST(Stream, RawReadsReassembleTheBody) {
  Server server(LoopbackOptions());
  server.Handle("POST", "/stream", [](Request& req, Response& res) {
    Result<std::string> positions = req.ReadBody(1024);
    if (!positions.ok()) return res.SendJsonError(400, positions.status().message());
    if (!res.BeginChunked(200, kOctetStream).ok()) return;
    for (int i = 0; i < 50; ++i) {
      if (!res.WriteText(*positions + std::to_string(i) + ";").ok()) return;
    }
  });  // EndChunked omitted on purpose: the server ends the stream
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto stream = client.OpenStream("POST", "/stream", "db:7,");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  std::string expected;
  for (int i = 0; i < 50; ++i) expected += "db:7," + std::to_string(i) + ";";
  std::string got;
  uint8_t piece[7];
  for (;;) {
    Result<size_t> n = (*stream)->Read(piece);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(reinterpret_cast<char*>(piece), *n);
  }
  EXPECT_EQ(got, expected);
}

TEST(Stream, ErrorStatusIsReadableFromTheStream) {
  Server server(LoopbackOptions());
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto stream = client.OpenStream("GET", "/nope");
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  EXPECT_EQ((*stream)->status(), 404);
  Result<std::string> body = (*stream)->ReadAll();
  ASSERT_TRUE(body.ok());
  EXPECT_EQ(*body, "{\"error\":\"no such endpoint: /nope\"}\n");
}

TEST(Stream, ClientDisconnectMakesWriteChunkFail) {
  std::promise<Status> handler_result;
  Server server(LoopbackOptions());
  server.Handle("GET", "/events", [&](Request& req, Response& res) {
    Status st = res.BeginChunked(200, kNdjson);
    while (st.ok()) {
      st = res.WriteText("{\"type\":\"heartbeat\"}\n");
      if (st.ok()) std::this_thread::sleep_for(5ms);
    }
    handler_result.set_value(st);
  });
  ASSERT_TRUE(server.Start().ok());
  {
    Client client(BaseUrl(server), 5s);
    auto stream = client.OpenStream("GET", "/events");
    ASSERT_TRUE(stream.ok()) << stream.status().ToString();
    ASSERT_TRUE((*stream)->ReadLine().ok());
  }  // reader and its connection go away here
  auto future = handler_result.get_future();
  ASSERT_EQ(future.wait_for(10s), std::future_status::ready) << "handler never noticed";
  Status st = future.get();
  EXPECT_EQ(st.code(), Status::Code::kUnavailable) << st.ToString();
}

TEST(Stream, IdleHandlerSeesPeerDisconnect) {
  std::promise<void> noticed;
  Server server(LoopbackOptions());
  server.Handle("GET", "/events", [&](Request& req, Response& res) {
    if (!res.BeginChunked(200, kNdjson).ok() || !res.WriteText("{}\n").ok()) return;
    while (res.PeerConnected() && !req.stop_token().stop_requested()) {
      std::this_thread::sleep_for(10ms);
    }
    noticed.set_value();
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto stream = client.OpenStream("GET", "/events");
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE((*stream)->ReadLine().ok());
  (*stream)->Close();
  EXPECT_EQ(noticed.get_future().wait_for(10s), std::future_status::ready);
}

TEST(Stream, StopWhileStreamingReturnsPromptly) {
  std::promise<Status> writer_result;
  std::atomic<bool> idle_returned{false};
  Server server(LoopbackOptions());
  server.Handle("GET", "/busy", [&](Request& req, Response& res) {
    Status st = res.BeginChunked(200, kNdjson);
    while (st.ok()) {
      st = res.WriteText("{\"tx\":1}\n");
      std::this_thread::sleep_for(2ms);
    }
    writer_result.set_value(st);
  });
  server.Handle("GET", "/idle", [&](Request& req, Response& res) {
    if (!res.BeginChunked(200, kNdjson).ok() || !res.WriteText("{}\n").ok()) return;
    IdleUntilStopped(req, 60s);
    idle_returned = true;
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto busy = client.OpenStream("GET", "/busy");
  auto idle = client.OpenStream("GET", "/idle");
  ASSERT_TRUE(busy.ok() && idle.ok());
  ASSERT_TRUE((*busy)->ReadLine().ok());
  ASSERT_TRUE((*idle)->ReadLine().ok());

  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(idle_returned.load());
  auto future = writer_result.get_future();
  ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
  Status st = future.get();
  EXPECT_TRUE(st.code() == Status::Code::kAborted || st.code() == Status::Code::kUnavailable)
      << st.ToString();
  // The readers see the stream end abnormally, not a clean end of body.
  Result<std::string> rest = (*idle)->ReadAll();
  EXPECT_FALSE(rest.ok());
}

TEST(Stream, CloseAbortsABlockedReadFromAnotherThread) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/idle", [](Request& req, Response& res) {
    if (!res.BeginChunked(200, kNdjson).ok()) return;
    IdleUntilStopped(req, 60s);
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto stream = client.OpenStream("GET", "/idle");
  ASSERT_TRUE(stream.ok());
  StreamReader* reader = stream->get();
  const pid_t reader_tid = ::gettid();
  std::thread closer([reader, reader_tid] {
    // Close once the reading thread sleeps in the kernel, in its Read.
    EXPECT_TRUE(WaitUntilThreadSleeps(reader_tid, 5s));
    reader->Close();
  });
  auto start = std::chrono::steady_clock::now();
  uint8_t piece[64];
  Result<size_t> n = reader->Read(piece);
  closer.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::kAborted) << n.status().ToString();
  EXPECT_EQ(reader->Read(piece).status().code(), Status::Code::kAborted);
  reader->Close();  // idempotent
}

TEST(Stream, ReadTimeoutIsUnavailable) {
  Server server(LoopbackOptions());
  server.Handle("GET", "/idle", [](Request& req, Response& res) {
    if (!res.BeginChunked(200, kNdjson).ok()) return;
    IdleUntilStopped(req, 60s);
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 5s);
  auto stream = client.OpenStream("GET", "/idle");
  ASSERT_TRUE(stream.ok());
  (*stream)->SetReadTimeout(150ms);
  uint8_t piece[64];
  Result<size_t> n = (*stream)->Read(piece);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), Status::Code::kUnavailable) << n.status().ToString();
}

}  // namespace
}  // namespace walship::http
