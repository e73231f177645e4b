#include "fake_primary.h"

#include <chrono>
#include <thread>

#include "base/coding.h"
#include "repl/protocol.h"

namespace walship::testing::security {
namespace {

// An LTX frame for database `name` whose "file" is 100 bytes of junk: the
// replica must refuse the name before it reads (or stores) any of it.
std::string LtxFrame(const std::string& name) {
  std::string payload;
  AppendBE16(&payload, uint16_t(name.size()));
  payload += name;
  payload += std::string(100, 'x');
  uint8_t header[repl::kFrameHeaderSize];
  repl::EncodeFrameHeader({repl::FrameType::kLtx, payload.size()}, header);
  return std::string(reinterpret_cast<char*>(header), sizeof header) + payload;
}

}  // namespace

FakePrimary::FakePrimary(std::vector<std::string> names, std::string cluster_id)
    : names_(std::move(names)), cluster_id_(std::move(cluster_id)) {}

FakePrimary::~FakePrimary() {
  if (server_) server_->Stop();
}

Status FakePrimary::Start() {
  http::ServerOptions options;
  options.addr = "127.0.0.1:0";
  server_ = std::make_unique<http::Server>(options);
  server_->Handle("POST", "/stream", [this](http::Request& req, http::Response& resp) {
    const int n = connections_.fetch_add(1);
    if (!cluster_id_.empty()) resp.SetHeader(repl::kClusterIdHeader, cluster_id_);
    if (!resp.BeginChunked(200, http::kOctetStream).ok()) return;
    if (!resp.WriteText(LtxFrame(names_[size_t(n) % names_.size()])).ok()) return;
    while (resp.PeerConnected() && !req.stop_token().stop_requested()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  return server_->Start();
}

std::string FakePrimary::url() const {
  return "http://127.0.0.1:" + std::to_string(server_->port());
}

}  // namespace walship::testing::security
