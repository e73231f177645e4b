// Large bodies in both directions, streamed through files with bounded memory.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/crc64.h"
#include "http/client.h"
#include "http/server.h"
#include "test_util.h"

namespace walship::http {
namespace {

using namespace std::chrono_literals;
using testing::BaseUrl;
using testing::LoopbackOptions;
using testing::TempDir;

constexpr uint64_t kMiB = 1024 * 1024;
#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAddressSanitizer = true;
#else
constexpr bool kAddressSanitizer = false;
#endif

TEST(Transfer, UploadOf50MiBIsStreamedToAFile) {
  TempDir dir;
  const uint64_t size = 50 * kMiB;
  const uint64_t crc = testing::WriteRandomFile(dir.Path("upload.bin"), size, 7);
  const std::string received_path = dir.Path("received.bin");

  struct Seen {
    uint64_t bytes = 0, crc = 0, chunks = 0, max_chunk = 0, peak_rss = 0;
  } seen;
  Server server(LoopbackOptions());
  server.Handle("POST", "/import", [&](Request& req, Response& res) {
    std::ofstream out(received_path, std::ios::binary | std::ios::trunc);
    Status st = req.ReadBodyTo([&](std::span<const uint8_t> piece) {
      out.write(reinterpret_cast<const char*>(piece.data()),
                static_cast<std::streamsize>(piece.size()));
      seen.bytes += piece.size();
      seen.crc = Crc64Update(seen.crc, piece);
      seen.max_chunk = std::max<uint64_t>(seen.max_chunk, piece.size());
      if (++seen.chunks % 16 == 0) {
        seen.peak_rss = std::max(seen.peak_rss, testing::ResidentBytes());
      }
      return out ? Status::OK() : Status::IOError("write failed");
    });
    out.close();
    if (!st.ok() || !out) return res.SendJsonError(500, st.ok() ? "close failed" : st.message());
    res.SendJson(201, "{\"bytes\":" + std::to_string(seen.bytes) + "}");
  });
  ASSERT_TRUE(server.Start().ok());
  const uint64_t rss_before = testing::ResidentBytes();

  Client client(BaseUrl(server), 10s);
  std::string response_body;
  Result<int> status =
      client.PostFile("/import?name=db", dir.Path("upload.bin"), kOctetStream, &response_body);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 201);
  EXPECT_EQ(response_body, "{\"bytes\":" + std::to_string(size) + "}");
  EXPECT_EQ(seen.bytes, size);
  EXPECT_EQ(seen.crc, crc);
  EXPECT_EQ(std::filesystem::file_size(received_path), size);
  EXPECT_EQ(testing::FileCrc(received_path), crc);
  EXPECT_GT(seen.chunks, 50u);
  EXPECT_LE(seen.max_chunk, 256 * 1024u);
  // Neither side held the body: resident memory grew by far less than 50 MiB.
  // (AddressSanitizer's quarantine keeps freed memory resident; skip there.)
  if (!kAddressSanitizer) {
    EXPECT_LT(seen.peak_rss, rss_before + 20 * kMiB)
        << "before " << rss_before << " peak " << seen.peak_rss;
  }
}

TEST(Transfer, DownloadWithSendFileAndGetToFile) {
  TempDir dir;
  const uint64_t size = 30 * kMiB + 12345;
  const uint64_t crc = testing::WriteRandomFile(dir.Path("export.bin"), size, 11);
  Server server(LoopbackOptions());
  server.Handle("GET", "/export", [&](Request& req, Response& res) {
    Status st = res.SendFile(dir.Path(req.Query("name")));
    if (st.IsNotFound()) return res.SendJsonError(404, "no such database: " + req.Query("name"));
    if (!st.ok() && !res.started()) res.SendJsonError(500, st.message());
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 10s);

  const std::string out = dir.Path("downloaded.bin");
  Result<int> status = client.GetToFile("/export?name=export.bin", out);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 200);
  EXPECT_EQ(std::filesystem::file_size(out), size);
  EXPECT_EQ(testing::FileCrc(out), crc);

  // A non-2xx answer leaves the target alone and reports the error body.
  const std::string missing_out = dir.Path("missing.bin");
  std::string error_body;
  Result<int> missing = client.GetToFile("/export?name=nope", missing_out, &error_body);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(*missing, 404);
  EXPECT_FALSE(std::filesystem::exists(missing_out));
  EXPECT_EQ(error_body, "{\"error\":\"no such database: nope\"}\n");

  // The kept-alive connection still works after both.
  Result<int> again = client.GetToFile("/export?name=export.bin", out);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(testing::FileCrc(out), crc);
}

TEST(Transfer, EarlyRejectionOfAnUploadIsAResponseNotAnError) {
  TempDir dir;
  testing::WriteRandomFile(dir.Path("big.bin"), 3 * kMiB, 3);
  Server server(LoopbackOptions());
  server.Handle("POST", "/import", [](Request& req, Response& res) {
    if (req.content_length().value_or(0) > kMiB) {
      return res.SendJsonError(413, "database too large");
    }
    res.Send(200, "ok");
  });
  ASSERT_TRUE(server.Start().ok());
  Client client(BaseUrl(server), 10s);
  std::string body;
  Result<int> status = client.PostFile("/import", dir.Path("big.bin"), kOctetStream, &body);
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ(*status, 413);
  EXPECT_EQ(body, "{\"error\":\"database too large\"}\n");
  Result<ClientResponse> next = client.Post("/import", "tiny", "text/plain");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->body, "ok");
}

TEST(Transfer, MissingUploadFileIsIOError) {
  Client client("http://127.0.0.1:1", 1s);
  Result<int> status = client.PostFile("/import", "/nonexistent/walship/file");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace walship::http
