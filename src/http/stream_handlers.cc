// The node API's long-lived streams: POST /stream (replication, to replicas)
// and GET /events (NDJSON, to anyone).
#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>

#include "base/coding.h"
#include "http/json_text.h"
#include "http/node_api.h"
#include "repl/protocol.h"

namespace walship::http {
namespace {

class ResponseSink final : public repl::FrameSink {
 public:
  explicit ResponseSink(Response* resp) : resp_(resp) {}
  Status Write(std::span<const uint8_t> data) override { return resp_->WriteChunk(data); }

 private:
  Response* resp_;
};

std::string Rfc3339(int64_t unix_ms) {
  std::time_t secs = unix_ms / 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", int(unix_ms % 1000));
  return buf;
}

// Events produced under a Db mutex, consumed by one /events connection.
struct EventQueue {
  std::mutex mu;
  std::deque<std::string> lines;
};

}  // namespace

void NodeApi::HandleStream(Request& req, Response& resp) {
  auto body = req.ReadBody(1 << 20);
  if (!body.ok()) return resp.SendJsonError(400, "stream: " + body.status().message());
  auto request = repl::ParseStreamRequest(*body);
  if (!request.ok()) return resp.SendJsonError(400, request.status().message());
  if (!store_->role().primary) {
    return resp.SendJsonError(409, "stream: this node is not the primary");
  }
  const std::string cluster_id = options_.cluster_id ? options_.cluster_id() : "";
  if (!cluster_id.empty() && !request->cluster_id.empty() && request->cluster_id != cluster_id) {
    spdlog::error("stream: refused replica {} ({}) from {}: it belongs to cluster {}, this node "
                  "to cluster {}", request->hostname, request->node_id, req.remote_address(),
                  request->cluster_id, cluster_id);
    return resp.SendJsonError(409, "stream: this primary belongs to cluster " + cluster_id +
                                       ", the replica to cluster " + request->cluster_id +
                                       "; a replica follows only a primary of its own cluster");
  }
  resp.SetHeader(repl::kClusterIdHeader, cluster_id);
  spdlog::info("stream: replica {} ({}) connected from {}", request->hostname, request->node_id,
               req.remote_address());
  if (!resp.BeginChunked(200, kOctetStream).ok()) return;
  ResponseSink sink(&resp);
  Status st = streamer_.Serve(*request, &sink, req.stop_token());
  spdlog::info("stream: replica {} disconnected: {}", request->hostname, st.ToString());
  if (resp.PeerConnected()) (void)resp.EndChunked();
}

void NodeApi::HandleEvents(Request& req, Response& resp) {
  if (!resp.BeginChunked(200, kNdjson).ok()) return;
  auto queue = std::make_shared<EventQueue>();
  int listener = store_->AddCommitListener(
      [queue](const std::string& db, const ltx::Header& h, uint64_t checksum) {
        nlohmann::json e = {{"type", "tx"},
                            {"data",
                             {{"db", db},
                              {"txid", h.max_txid},
                              {"checksum", Hex16(checksum)},
                              {"commit", h.commit},
                              {"timestamp", Rfc3339(h.timestamp_ms)}}}};
        std::lock_guard lock(queue->mu);
        queue->lines.push_back(internal::JsonLine(e));
      });
  int delete_listener = store_->AddDeleteListener(
      [queue](const std::string& db, const store::Position& ended_at) {
        nlohmann::json e = {{"type", "delete"},
                            {"data",
                             {{"db", db},
                              {"txid", ended_at.txid},
                              {"checksum", Hex16(ended_at.checksum)},
                              {"timestamp", Rfc3339(Clock::Real()->NowUnixMs())}}}};
        std::lock_guard lock(queue->mu);
        queue->lines.push_back(internal::JsonLine(e));
      });
  auto role_event = [&](const char* type, const store::NodeRole& role) {
    nlohmann::json e = {{"type", type},
                        {"data",
                         {{"isPrimary", role.primary},
                          {"hostname", role.primary ? options_.hostname : role.primary_hostname}}}};
    return internal::JsonLine(e);
  };
  store::NodeRole role = store_->role();
  nlohmann::json dbs = nlohmann::json::object();
  for (store::Db* db : store_->List()) {
    dbs[db->name()] = {{"txid", db->pos().txid}, {"checksum", Hex16(db->pos().checksum)}};
  }
  std::string init = role_event("init", role);
  init.insert(init.size() - 2, ",\"databases\":" + internal::JsonText(dbs));
  Status st = resp.WriteText(init);
  while (st.ok() && !req.stop_token().stop_requested()) {
    uint64_t seen = store_->change_count();
    std::deque<std::string> lines;
    {
      std::lock_guard lock(queue->mu);
      lines.swap(queue->lines);
    }
    for (const std::string& line : lines) {
      if (st.ok()) st = resp.WriteText(line);
    }
    store::NodeRole now = store_->role();
    if (st.ok() && (now.primary != role.primary || now.primary_hostname != role.primary_hostname)) {
      role = now;
      st = resp.WriteText(role_event("primaryChange", role));
    }
    if (st.ok() && !resp.PeerConnected()) break;
    store_->WaitForChange(seen, std::chrono::seconds(1));
  }
  store_->RemoveCommitListener(listener);
  store_->RemoveDeleteListener(delete_listener);
}

}  // namespace walship::http
