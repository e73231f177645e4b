// Streamer: the primary's side of replication. Serve() feeds one connected
// replica: for each database it sends the LTX files the replica is missing, or
// a snapshot when the replica is new, behind the files on disk, or diverged
// (its checksum at its TXID is not the primary's); then kReady; then every new
// transaction as it commits (woken by Store::WaitForChange, no polling) with
// heartbeats in between. Databases created meanwhile are included.
//
// A replica whose position is not on the primary's history (it was a primary
// that committed transactions that never replicated) is sent kDiverged, with
// the TXID where its recent positions leave the primary's, before the snapshot.
// A database deleted on the primary is sent as kDeleted, before anything of a
// database created again under its name.
//
// Thread-safety: one Streamer serves many replicas concurrently (one Serve
// call per connection thread); the only state it keeps is the list of
// connected replicas, under a mutex.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <span>
#include <stop_token>
#include <string>
#include <vector>

#include "base/status.h"
#include "repl/protocol.h"
#include "store/store.h"

namespace walship::repl {

// Where frames go: the HTTP response of the /stream request.
class FrameSink {
 public:
  virtual ~FrameSink() = default;
  // Unavailable when the replica went away.
  virtual Status Write(std::span<const uint8_t> data) = 0;
};

// A replica connected right now (for /handoff and the cluster status).
struct ConnectedReplica {
  std::string node_id;
  std::string hostname;
  std::string advertise_url;
  bool candidate = false;
};

struct StreamerOptions {
  std::chrono::milliseconds heartbeat{500};
  // While commits come faster than this, a replica's stream goes out at most
  // once per interval: every pass costs a wake-up here and a wake-up, an
  // apply and a sync on the replica, whether it carries one transaction or
  // fifty. Slower commits leave at once.
  std::chrono::microseconds min_pass_interval{1000};
};

class Streamer {
 public:
  // `store` must outlive the Streamer.
  Streamer(store::Store* store, StreamerOptions options);

  // Returns when the replica goes away, `stop` is requested, or this node stops
  // being the primary (after sending kError).
  Status Serve(const StreamRequest& request, FrameSink* sink, std::stop_token stop);

  std::vector<ConnectedReplica> Replicas() const;

 private:
  // Whether the replica's database `name`, at `pos`, is one the primary
  // deleted: the one this stream carried (`lineage`) is no longer the one of
  // that name in `live` (the store's databases by name), or the replica came
  // back with a database whose tombstone (Store::Deleted) says it is gone.
  bool Deleted(const std::string& name, const store::Position& pos,
               const std::map<std::string, store::Db*>& live,
               const std::map<std::string, const store::Db*>& lineage) const;
  // Sends kDeleted for each such database and forgets its position.
  Status SendDeletions(const std::map<std::string, store::Db*>& live,
                       std::map<std::string, store::Position>* sent,
                       std::map<std::string, const store::Db*>* lineage, FrameSink* sink);
  Status CatchUp(store::Db* db, store::Position* sent, const std::vector<store::Position>& recent,
                 FrameSink* sink);
  // Whether `pos` is a position this database passed through (or may have:
  // its LTX file is gone) rather than a diverged one.
  bool OnHistory(store::Db* db, const store::Position& pos) const;
  Status SendChain(store::Db* db, store::Position* sent, FrameSink* sink);
  Status SendSnapshot(store::Db* db, store::Position* sent, FrameSink* sink);
  // Streams the LTX file at `path` in one kLtx frame, in kChunkSize pieces.
  Status SendLtxFile(const std::string& db, const std::string& path, FrameSink* sink);
  // Appends the whole kLtx frame of `ltx` to `out`: from memory when it is
  // held there (a recent transaction), else from its file when that is at
  // most kChunkSize bytes; false (and `out` unchanged) for a larger file.
  Result<bool> AppendLtxFrame(const std::string& db, const store::LtxFileInfo& ltx,
                              std::vector<uint8_t>* out);
  // The kLtx frame header and database name before a file of `file_size` bytes.
  static std::string LtxFramePrefix(const std::string& db, uint64_t file_size);
  Status SendFrame(FrameType type, std::span<const uint8_t> payload, FrameSink* sink);

  store::Store* store_;
  StreamerOptions options_;
  mutable std::mutex mu_;
  std::map<uint64_t, ConnectedReplica> replicas_;  // by connection number
  uint64_t next_connection_ = 0;
};

}  // namespace walship::repl
