#include "repl/replica_client.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "base/clock.h"
#include "base/coding.h"
#include "base/crash_point.h"
#include "base/thread_name.h"
#include "env/env.h"
#include "http/url.h"
#include "ltx/format.h"
#include "repl/protocol.h"
#include "repl/reconnect_backoff.h"
#include "store/ltx_file_writer.h"

namespace walship::repl {
namespace {

constexpr size_t kChunkSize = 256 * 1024;
// How many recent positions a replica reports, to find where a diverged
// history forks from the primary's.
constexpr size_t kRecentPositions = 64;

Status ReadFull(http::StreamReader* reader, std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    WALSHIP_ASSIGN_OR_RETURN(size_t n, reader->Read(out.subspan(done)));
    if (n == 0) return Status::Unavailable("stream: the primary ended the stream");
    done += n;
  }
  return Status::OK();
}

}  // namespace

ReplicaClient::ReplicaClient(store::Store* store, store::MountAccess* mount,
                             ReplicaClientOptions options)
    : store_(store), mount_(mount), options_(std::move(options)) {}

ReplicaClient::~ReplicaClient() { Stop(); }

void ReplicaClient::Start(const std::string& primary_url) {
  primary_url_ = primary_url;
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-replica");
    Run(stop);
  });
}

void ReplicaClient::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  {
    std::lock_guard lock(mu_);
    if (reader_) reader_->Close();
  }
  synced_cv_.notify_all();
  thread_.join();
}

void ReplicaClient::SetSynced(bool synced) {
  {
    std::lock_guard lock(mu_);
    synced_ = synced;
  }
  synced_cv_.notify_all();
}

bool ReplicaClient::WaitSynced(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return synced_cv_.wait_for(lock, timeout, [&] { return synced_.load(); });
}

void ReplicaClient::Run(std::stop_token stop) {
  ReconnectBackoff backoff(options_.reconnect_delay, options_.max_reconnect_delay);
  std::mutex sleep_mu;
  std::condition_variable_any sleep_cv;
  while (!stop.stop_requested()) {
    bool delivered = false;
    Status st = StreamOnce(stop, &delivered);
    SetSynced(false);
    if (stop.stop_requested()) break;
    // Any frame, a heartbeat too, shows the primary is there: an in-sync
    // replica whose connections keep dropping retries at the first delay.
    const auto delay = backoff.Next(delivered);
    spdlog::warn("replica: stream from {} ended: {}; reconnecting in {} ms", primary_url_,
                 st.ToString(), delay.count());
    std::unique_lock lock(sleep_mu);
    sleep_cv.wait_for(lock, stop, delay, [] { return false; });
  }
}

StreamRequest ReplicaClient::BuildRequest() const {
  StreamRequest request;
  request.hostname = options_.hostname;
  request.advertise_url = options_.advertise_url;
  request.candidate = options_.candidate;
  request.node_id = Hex16(store_->node_id());
  if (options_.cluster_id) request.cluster_id = options_.cluster_id();
  for (store::Db* db : store_->List()) {
    request.positions[db->name()] = db->pos();
    request.recent[db->name()] = db->NewestPositions(kRecentPositions);
  }
  return request;
}

Status ReplicaClient::CheckCluster(const http::StreamReader& reader) {
  auto header = reader.headers().find(http::AsciiLower(kClusterIdHeader));
  const std::string theirs = header == reader.headers().end() ? "" : header->second;
  const std::string mine = options_.cluster_id ? options_.cluster_id() : "";
  if (theirs.empty() || theirs == mine) return Status::OK();
  if (!mine.empty()) {
    return Status::InvalidArgument(
        "the node at " + primary_url_ + " is the primary of cluster " + theirs +
        ", not of this node's cluster " + mine +
        "; nothing was applied. Point the lease at this "
        "cluster's primary, or remove DATA/cluster.id to join the other cluster");
  }
  if (options_.save_cluster_id) WALSHIP_RETURN_IF_ERROR(options_.save_cluster_id(theirs));
  spdlog::info("replica: joined cluster {} (the primary at {})", theirs, primary_url_);
  return Status::OK();
}

Status ReplicaClient::StreamOnce(std::stop_token stop, bool* delivered) {
  const StreamRequest request = BuildRequest();
  http::Client client(primary_url_, std::chrono::seconds(5));
  client.SetCredentials(options_.credentials);
  auto opened = client.OpenStream("POST", "/stream", EncodeStreamRequest(request), http::kJson);
  if (!opened.ok()) return opened.status();
  std::shared_ptr<http::StreamReader> reader = std::move(*opened);
  if (reader->status() != 200) {
    auto body = reader->ReadAll();
    return Status::Unavailable("primary answered /stream with " + std::to_string(reader->status()) +
                               ": " + (body.ok() ? *body : std::string()));
  }
  WALSHIP_RETURN_IF_ERROR(CheckCluster(*reader));
  reader->SetReadTimeout(options_.read_timeout);
  {
    std::lock_guard lock(mu_);
    if (stop.stop_requested()) return Status::Aborted("stopping");
    reader_ = reader;
  }
  ApplyQueue applier(
      mount_, [this](const Received& item) { return ApplyOther(item); },
      [reader] { reader->Close(); });
  Status st;
  while (st.ok() && !stop.stop_requested()) {
    uint8_t raw[kFrameHeaderSize];
    st = ReadFull(reader.get(), raw);
    if (!st.ok()) break;
    auto frame = ParseFrameHeader(raw);
    if (!frame.ok()) {
      st = frame.status();
      break;
    }
    store_->MarkFrameReceived();
    *delivered = true;
    switch (frame->type) {
      case FrameType::kLtx:
        st = ReceiveLtx(reader.get(), frame->length, &applier);
        break;
      case FrameType::kDiverged:
      case FrameType::kDeleted:
        st = ReceiveNamedTxid(frame->type, reader.get(), frame->length, &applier);
        break;
      case FrameType::kReady:
        st = applier.Stage({.kind = Received::Kind::kReady});
        break;
      case FrameType::kHeartbeat:
      case FrameType::kError: {
        std::string payload(frame->length, '\0');
        st = ReadFull(reader.get(), {reinterpret_cast<uint8_t*>(payload.data()), payload.size()});
        if (st.ok() && frame->type == FrameType::kError)
          st = Status::Unavailable("primary: " + payload);
        break;
      }
    }
    // Everything one read brought is applied together: the next frame's
    // bytes would take a read that may wait.
    if (st.ok() && !reader->Buffered()) st = applier.Submit();
  }
  // What arrived whole is applied even when the connection broke; an apply
  // error is the reason the stream stopped.
  if (stop.stop_requested()) {
    applier.Abort();
  } else if (Status applied = applier.Finish(); !applied.ok()) {
    st = applied;
  }
  std::lock_guard lock(mu_);
  reader_.reset();
  return st;
}

Status ReplicaClient::ReceiveLtx(http::StreamReader* reader, uint64_t length, ApplyQueue* applier) {
  uint8_t len_raw[2];
  WALSHIP_RETURN_IF_ERROR(ReadFull(reader, len_raw));
  uint16_t name_len = GetBE16(len_raw);
  if (uint64_t(name_len) + 2 > length) return Status::Corruption("stream: bad LTX frame");
  std::string name(name_len, '\0');
  WALSHIP_RETURN_IF_ERROR(ReadFull(reader, {reinterpret_cast<uint8_t*>(name.data()), name.size()}));
  WALSHIP_RETURN_IF_ERROR(store::ValidateDbName(name));
  store::Db* db = store_->Find(name);
  if (!db) {
    WALSHIP_ASSIGN_OR_RETURN(db, store_->Create(name));
  }
  const uint64_t size = length - 2 - name_len;
  Result<store::ReceivedLtx> received = Status::OK();
  if (size <= store::ReceivedLtx::kInMemoryLimit) {
    std::string bytes(size, '\0');
    WALSHIP_RETURN_IF_ERROR(ReadFull(reader, {reinterpret_cast<uint8_t*>(bytes.data()), size}));
    received = store::ReceivedLtxFromBytes(std::move(bytes), "an LTX file from the primary",
                                           store::KeepPages::kYes);
  } else {
    const std::string tmp =
        env::JoinPath(db->LtxDir(), "receiving-" + std::to_string(++received_files_) + ".ltx.tmp");
    WALSHIP_RETURN_IF_ERROR(ReceiveToFile(reader, size, tmp));
    received = store::ReceivedLtxFromFile(env::Env::Posix(), tmp);
    if (!received.ok()) (void)env::Env::Posix()->Remove(tmp);
  }
  if (!received.ok()) {
    spdlog::error("replica: rejected an LTX file for {} from the primary: {}", name,
                  received.status().ToString());
    return received.status();
  }
  return applier->Stage({.kind = Received::Kind::kLtx, .db = db, .ltx = std::move(*received)});
}

Status ReplicaClient::ApplyOther(const Received& item) {
  switch (item.kind) {
    case Received::Kind::kReady:
      SetSynced(true);
      spdlog::info("replica: in sync with the primary at {}", primary_url_);
      return Status::OK();
    case Received::Kind::kDeleted:
      spdlog::info("replica: {} was deleted on the primary; deleting it here", item.db->name());
      return store_->Delete(item.db->name(), mount_);
    default:
      return SetDivergedFilesAside(item.db, item.common_txid);
  }
}

Status ReplicaClient::ReceiveNamedTxid(FrameType type, http::StreamReader* reader, uint64_t length,
                                       ApplyQueue* applier) {
  if (length > 2 + store::kMaxDbNameBytes + 8) return Status::Corruption("stream: bad frame");
  std::vector<uint8_t> payload(length);
  WALSHIP_RETURN_IF_ERROR(ReadFull(reader, payload));
  WALSHIP_ASSIGN_OR_RETURN(auto named, ParseNamedTxid(payload));
  const auto& [name, txid] = named;
  WALSHIP_RETURN_IF_ERROR(store::ValidateDbName(name));
  store::Db* db = store_->Find(name);
  if (!db) return Status::OK();
  if (type == FrameType::kDiverged) {
    return applier->Stage({.kind = Received::Kind::kDiverged, .db = db, .common_txid = txid});
  }
  // Applied before the next frame is read: a database of that name in the
  // frames that follow is a new one, to be created here afresh.
  WALSHIP_RETURN_IF_ERROR(applier->Stage({.kind = Received::Kind::kDeleted, .db = db}));
  return applier->Drain();
}

Status ReplicaClient::SetDivergedFilesAside(store::Db* db, uint64_t common) {
  const std::string& name = db->name();
  env::Env* env = env::Env::Posix();
  const std::string dir = env::JoinPath(db->dir(), "diverged");
  WALSHIP_RETURN_IF_ERROR(db->SealLtxLog());
  const std::vector<store::LtxFileInfo> files = db->ListLtxFiles();
  std::vector<std::string> moved;
  for (const store::LtxFileInfo& f : files) {
    if (f.max_txid <= common) continue;
    WALSHIP_RETURN_IF_ERROR(env->MkdirAll(dir));
    // A second divergence over the same TXIDs keeps the first one's files:
    // NAME.UNIXMS, the next free millisecond when one in the same
    // millisecond took it (a rename would overwrite it).
    std::string name_only = ltx::FileName(f.min_txid, f.max_txid);
    if (env->Exists(env::JoinPath(dir, name_only))) {
      Clock* clock = options_.clock ? options_.clock : Clock::Real();
      int64_t ms = clock->NowUnixMs();
      while (env->Exists(env::JoinPath(dir, name_only + "." + std::to_string(ms)))) ms++;
      name_only += "." + std::to_string(ms);
    }
    WALSHIP_RETURN_IF_ERROR(db->SetLtxFileAside(f.max_txid, env::JoinPath(dir, name_only)));
    moved.push_back(name_only);
  }
  if (!moved.empty()) {
    WALSHIP_RETURN_IF_ERROR(env->SyncDir(dir));
    WALSHIP_RETURN_IF_ERROR(env->SyncDir(db->LtxDir()));
  }
  spdlog::warn(
      "replica: {} diverged from the primary after txid {} (this node was at {}); moved "
      "{} unreplicated LTX files to {}: {}; taking a snapshot",
      name, common, db->pos().txid, moved.size(), dir,
      moved.empty() ? std::string("none") : moved.front() + " .. " + moved.back());
  return Status::OK();
}

Status ReplicaClient::ReceiveToFile(http::StreamReader* reader, uint64_t length,
                                    const std::string& path) {
  env::Env* env = env::Env::Posix();
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kCreateTruncate));
  std::vector<uint8_t> chunk(kChunkSize);
  for (uint64_t off = 0; off < length;) {
    size_t want = size_t(std::min<uint64_t>(kChunkSize, length - off));
    WALSHIP_RETURN_IF_ERROR(ReadFull(reader, {chunk.data(), want}));
    WALSHIP_RETURN_IF_ERROR(file->WriteAt(off, {chunk.data(), want}));
    off += want;
    store_->MarkFrameReceived();
  }
  return Status::OK();  // made durable with the batch it is applied in
}

}  // namespace walship::repl
