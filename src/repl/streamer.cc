#include "repl/streamer.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <thread>

#include "base/coding.h"
#include "base/crash_point.h"
#include "env/env.h"
#include "store/ltx_file_writer.h"

namespace walship::repl {
namespace {

constexpr size_t kChunkSize = 256 * 1024;
constexpr uint64_t kProgressEvery = 64ULL << 20;

// Test hook: WALSHIP_TEST_CORRUPT_LTX=<n> flips one byte of the n-th LTX file
// this process sends (1-based), so tests can prove a replica rejects it.
bool CorruptThisOne() {
  static const long target = TestHookNumber("WALSHIP_TEST_CORRUPT_LTX");
  static std::atomic<long> sent{0};
  return target > 0 && sent.fetch_add(1) + 1 == target;
}

}  // namespace

Streamer::Streamer(store::Store* store, StreamerOptions options)
    : store_(store), options_(options) {}

Status Streamer::SendFrame(FrameType type, std::span<const uint8_t> payload, FrameSink* sink) {
  uint8_t header[kFrameHeaderSize];
  EncodeFrameHeader({type, payload.size()}, header);
  WALSHIP_RETURN_IF_ERROR(sink->Write(header));
  if (!payload.empty()) WALSHIP_RETURN_IF_ERROR(sink->Write(payload));
  return Status::OK();
}

std::vector<ConnectedReplica> Streamer::Replicas() const {
  std::lock_guard lock(mu_);
  std::vector<ConnectedReplica> out;
  for (const auto& [id, r] : replicas_) out.push_back(r);
  return out;
}

Status Streamer::Serve(const StreamRequest& request, FrameSink* sink, std::stop_token stop) {
  uint64_t connection;
  {
    std::lock_guard lock(mu_);
    connection = next_connection_++;
    replicas_[connection] = {request.node_id, request.hostname, request.advertise_url,
                             request.candidate};
  }
  struct Unregister {
    Streamer* self;
    uint64_t connection;
    ~Unregister() {
      std::lock_guard lock(self->mu_);
      self->replicas_.erase(connection);
    }
  } unregister{this, connection};
  static const std::vector<store::Position> kNoRecent;
  std::map<std::string, store::Position> sent = request.positions;
  std::map<std::string, const store::Db*> lineage;
  bool ready = false;
  auto last_frame = std::chrono::steady_clock::now();
  while (!stop.stop_requested()) {
    const auto pass_start = std::chrono::steady_clock::now();
    bool sent_any = false;
    uint64_t seen = store_->change_count();
    if (!store_->role().primary) {
      std::string why = "this node is no longer the primary";
      SendFrame(FrameType::kError, {reinterpret_cast<const uint8_t*>(why.data()), why.size()},
                sink).ok();
      return Status::NotPrimary(why);
    }
    // One look at the store per pass: deletions are judged against the
    // same databases the pass then sends.
    std::map<std::string, store::Db*> live;
    for (store::Db* db : store_->List()) live.emplace(db->name(), db);
    WALSHIP_RETURN_IF_ERROR(SendDeletions(live, &sent, &lineage, sink));
    for (const auto& [name, db] : live) {
      lineage.try_emplace(name, db);
      store::Position& pos = sent[name];
      if (db->pos().txid == 0 || db->pos() == pos) continue;
      auto recent = request.recent.find(db->name());
      WALSHIP_RETURN_IF_ERROR(
          CatchUp(db, &pos, recent == request.recent.end() ? kNoRecent : recent->second, sink));
      last_frame = std::chrono::steady_clock::now();
      sent_any = true;
    }
    if (!ready) {
      WALSHIP_RETURN_IF_ERROR(SendFrame(FrameType::kReady, {}, sink));
      ready = true;
      spdlog::info("stream: replica {} is in sync", request.hostname);
    }
    auto now = std::chrono::steady_clock::now();
    if (now - last_frame >= options_.heartbeat) {
      uint8_t clock[8];
      PutBE64(clock, uint64_t(Clock::Real()->NowUnixMs()));
      WALSHIP_RETURN_IF_ERROR(SendFrame(FrameType::kHeartbeat, clock, sink));
      last_frame = now;
    }
    if (sent_any) std::this_thread::sleep_until(pass_start + options_.min_pass_interval);
    store_->WaitForChange(seen, options_.heartbeat);
  }
  return Status::Aborted("stream: stopping");
}

bool Streamer::Deleted(const std::string& name, const store::Position& pos,
                       const std::map<std::string, store::Db*>& live,
                       const std::map<std::string, const store::Db*>& lineage) const {
  const auto found = live.find(name);
  const store::Db* db = found == live.end() ? nullptr : found->second;
  if (auto streamed = lineage.find(name); streamed != lineage.end()) {
    return db != streamed->second;  // deleted (and perhaps created again) since
  }
  // The replica's position as it connected: of a database deleted while it
  // was away, or of the lineage before the one the primary has now.
  const std::optional<store::Position> tombstone = store_->Deleted(name);
  if (!tombstone || pos.txid == 0) return false;
  return !db || (pos == *tombstone && db->pos() != pos);
}

Status Streamer::SendDeletions(const std::map<std::string, store::Db*>& live,
                               std::map<std::string, store::Position>* sent,
                               std::map<std::string, const store::Db*>* lineage,
                               FrameSink* sink) {
  for (auto it = sent->begin(); it != sent->end();) {
    const std::string name = it->first;
    if (!Deleted(name, it->second, live, *lineage)) {
      // Checked against the tombstone once; from now on by lineage.
      const auto found = live.find(name);
      lineage->try_emplace(name, found == live.end() ? nullptr : found->second);
      ++it;
      continue;
    }
    spdlog::info("stream: telling the replica that {} was deleted", name);
    const std::string payload = EncodeNamedTxid(name, it->second.txid);
    WALSHIP_RETURN_IF_ERROR(SendFrame(
        FrameType::kDeleted, {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()},
        sink));
    lineage->erase(name);
    it = sent->erase(it);
  }
  return Status::OK();
}

bool Streamer::OnHistory(store::Db* db, const store::Position& pos) const {
  const store::Position now = db->pos();
  if (pos.txid > now.txid) return false;
  if (pos.txid == now.txid) return pos.checksum == now.checksum;
  auto checksum = db->ChecksumAt(pos.txid);
  // Without the file there is no telling; a replica that was away longer than
  // the retention is far more likely than a diverged one.
  return !checksum.ok() || *checksum == pos.checksum;
}

Status Streamer::CatchUp(store::Db* db, store::Position* sent,
                         const std::vector<store::Position>& recent, FrameSink* sink) {
  // A replica that is at a TXID the primary has, with the same checksum there,
  // gets the files after it; anything else gets a snapshot.
  if (sent->txid > 0 && sent->txid < db->pos().txid) {
    auto checksum = db->ChecksumAt(sent->txid);
    if (checksum.ok() && *checksum == sent->checksum) {
      Status st = SendChain(db, sent, sink);
      if (!st.IsNotFound()) return st;  // NotFound: a file is gone; snapshot
    }
  }
  if (sent->txid != 0 && !OnHistory(db, *sent)) {
    uint64_t common = 0;
    for (const store::Position& p : recent) {
      if (p.txid > 0 && p.txid < sent->txid && OnHistory(db, p)) {
        common = p.txid;
        break;
      }
    }
    spdlog::warn("stream: the replica's {} diverged at txid {} (replica at {}, primary at {})",
                 db->name(), common, sent->txid, db->pos().txid);
    const std::string payload = EncodeNamedTxid(db->name(), common);
    WALSHIP_RETURN_IF_ERROR(SendFrame(
        FrameType::kDiverged,
        {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()}, sink));
  }
  if (sent->txid != 0) {
    spdlog::info("stream: sending {} a snapshot (replica at txid {}, primary at {})", db->name(),
                 sent->txid, db->pos().txid);
  }
  return SendSnapshot(db, sent, sink);
}

Status Streamer::SendChain(store::Db* db, store::Position* sent, FrameSink* sink) {
  // The target is read before the listing: a commit renames its LTX file into
  // place before the position moves, so every file up to it is listed. Read
  // after, a commit in between made a file look missing (and a snapshot go to
  // a replica that only needed the next file).
  const uint64_t target = db->pos().txid;
  constexpr size_t kBatch = 256;
  // Small files go out together: each is appended whole to `out`, which is
  // written when it holds kChunkSize bytes or the chain ends.
  std::vector<uint8_t> out;
  auto flush = [&] {
    Status st = out.empty() ? Status::OK() : sink->Write(out);
    out.clear();
    return st;
  };
  while (sent->txid < target) {
    const std::vector<store::LtxFileInfo> files = db->LtxFilesAfter(sent->txid, kBatch);
    if (files.empty()) break;
    for (const store::LtxFileInfo& f : files) {
      if (f.min_txid != sent->txid + 1) {
        WALSHIP_RETURN_IF_ERROR(flush());
        return Status::NotFound("gap before txid " + std::to_string(f.min_txid));
      }
      // NotFound (a file gone behind walship's back) also means a snapshot.
      Result<bool> appended = AppendLtxFrame(db->name(), f, &out);
      if (!appended.ok()) {
        WALSHIP_RETURN_IF_ERROR(flush());
        return appended.status();
      }
      if (!*appended) {
        WALSHIP_RETURN_IF_ERROR(flush());
        WALSHIP_RETURN_IF_ERROR(SendLtxFile(db->name(), f.path, sink));
      }
      if (out.size() >= kChunkSize) WALSHIP_RETURN_IF_ERROR(flush());
      *sent = {f.max_txid, f.post_checksum};
      if (sent->txid >= target) return flush();
    }
  }
  WALSHIP_RETURN_IF_ERROR(flush());
  if (sent->txid < target) return Status::NotFound("no LTX file up to txid " + std::to_string(target));
  return Status::OK();
}

std::string Streamer::LtxFramePrefix(const std::string& db, uint64_t file_size) {
  std::string prefix(kFrameHeaderSize, '\0');
  AppendBE16(&prefix, uint16_t(db.size()));
  prefix += db;
  EncodeFrameHeader({FrameType::kLtx, prefix.size() - kFrameHeaderSize + file_size},
                    std::span<uint8_t, kFrameHeaderSize>(
                        reinterpret_cast<uint8_t*>(prefix.data()), kFrameHeaderSize));
  return prefix;
}

Result<bool> Streamer::AppendLtxFrame(const std::string& db, const store::LtxFileInfo& ltx,
                                      std::vector<uint8_t>* out) {
  std::unique_ptr<env::File> file;
  uint64_t size = 0;
  if (ltx.bytes) {
    size = ltx.bytes->size();
  } else {
    WALSHIP_ASSIGN_OR_RETURN(file, env::Env::Posix()->Open(ltx.path, env::OpenMode::kRead));
    WALSHIP_ASSIGN_OR_RETURN(size, file->Size());
    if (size > kChunkSize) return false;
  }
  const std::string prefix_text = LtxFramePrefix(db, size);
  const std::span<const uint8_t> prefix = AsBytes(prefix_text);
  const size_t at = out->size();
  out->insert(out->end(), prefix.begin(), prefix.end());
  if (ltx.bytes) {
    // Byte spans, not the strings' chars: the copy is then one memmove.
    const std::span<const uint8_t> body = AsBytes(*ltx.bytes);
    out->insert(out->end(), body.begin(), body.end());
  } else {
    out->resize(at + prefix.size() + size);
    std::span<uint8_t> body(out->data() + at + prefix.size(), size);
    WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, body));
    if (n != size) return Status::IOError(ltx.path + ": shorter than its size while sending");
  }
  if (CorruptThisOne() && size > 200) (*out)[at + prefix.size() + size / 2] ^= 0x5a;
  return true;
}

Status Streamer::SendSnapshot(store::Db* db, store::Position* sent, FrameSink* sink) {
  static std::atomic<uint64_t> counter{0};
  const std::string path = env::JoinPath(
      db->dir(), "snapshot-" + std::to_string(counter.fetch_add(1)) + ".ltx");
  auto header = db->WriteSnapshot(path);
  if (!header.ok()) return header.status();
  Status st = SendLtxFile(db->name(), path, sink);
  // The snapshot's post-apply checksum is the position it was taken at.
  auto checksum = store::ReadLtxPostChecksum(env::Env::Posix(), path);
  (void)env::Env::Posix()->Remove(path);
  WALSHIP_RETURN_IF_ERROR(st);
  if (!checksum.ok()) return checksum.status();
  *sent = {header->max_txid, *checksum};
  return Status::OK();
}

Status Streamer::SendLtxFile(const std::string& db, const std::string& path, FrameSink* sink) {
  env::Env* env = env::Env::Posix();
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(path, env::OpenMode::kRead));
  WALSHIP_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  const std::string prefix = LtxFramePrefix(db, size);
  WALSHIP_RETURN_IF_ERROR(
      sink->Write({reinterpret_cast<const uint8_t*>(prefix.data()), prefix.size()}));
  const bool corrupt = CorruptThisOne();
  std::vector<uint8_t> chunk(kChunkSize);
  for (uint64_t off = 0; off < size;) {
    WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(off, {chunk.data(), std::min<uint64_t>(kChunkSize, size - off)}));
    if (n == 0) return Status::IOError(path + ": shorter than its size while sending");
    if (corrupt && off == 0 && n > 200) chunk[n / 2] ^= 0x5a;
    WALSHIP_RETURN_IF_ERROR(sink->Write({chunk.data(), n}));
    off += n;
    if (size > kProgressEvery && off / kProgressEvery != (off - n) / kProgressEvery) {
      spdlog::info("stream: {} sent {} of {} MB of {}", db, off >> 20, size >> 20, path);
    }
  }
  return Status::OK();
}

}  // namespace walship::repl
