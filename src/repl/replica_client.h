// ReplicaClient: the replica's side of replication. A background thread keeps
// a /stream connection to the primary, sending this node's positions; each LTX
// file received is verified (in memory, or in a temporary file in ltx/ when
// large) and queued; an ApplyQueue applies what has arrived in batches
// (Db::ApplyBatch), overlapping the next receive. Any error — network, a
// corrupt file, a position mismatch — closes the connection; the thread
// reconnects with backoff and the primary resumes from the positions (sending
// a snapshot where they no longer fit). When the primary says this node's
// history diverged (kDiverged), the LTX files after the fork move to
// DATA/dbs/NAME/diverged/ before the snapshot replaces the database. A
// database deleted on the primary (kDeleted) is deleted here (Store::Delete)
// before the next frame is read.
//
// Thread-safety: Start/Stop/SetPrimary from a controlling thread; synced() and
// WaitSynced from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/clock.h"
#include "base/status.h"
#include "http/client.h"
#include "repl/apply_queue.h"
#include "repl/protocol.h"
#include "store/mount_access.h"
#include "store/store.h"

namespace walship::repl {

struct ReplicaClientOptions {
  std::string hostname;       // this node, for the primary's logs
  std::string advertise_url;  // this node's API, for /handoff
  bool candidate = false;
  // Reconnect back-off (ReconnectBackoff): the first wait, and the most it
  // doubles up to.
  std::chrono::milliseconds reconnect_delay{1000};
  std::chrono::milliseconds max_reconnect_delay{5000};
  // No byte from the primary for this long (heartbeats come every 500 ms)
  // means the connection is broken.
  std::chrono::milliseconds read_timeout{5000};
  // Names what a divergence sets aside (diverged/NAME.UNIXMS); null: the
  // real clock. Must outlive the client.
  Clock* clock = nullptr;
  // The primary's http.auth-token (empty: none sent) and this node's TLS
  // files, for an https:// primary.
  http::Credentials credentials;
  // This node's cluster id (DATA/cluster.id; empty: none yet), and how to
  // record the primary's when it has none: a replica never follows a primary
  // of another cluster.
  std::function<std::string()> cluster_id;
  std::function<Status(const std::string&)> save_cluster_id;
};

class ReplicaClient {
 public:
  // `store` and `mount` (may be null) must outlive the client.
  ReplicaClient(store::Store* store, store::MountAccess* mount, ReplicaClientOptions options);
  ~ReplicaClient();

  // Starts following the primary at `primary_url` (its node API).
  void Start(const std::string& primary_url);
  void Stop();

  // True once the primary has sent everything it had when this connection
  // began (its kReady), until the connection drops.
  bool synced() const { return synced_.load(); }
  bool WaitSynced(std::chrono::milliseconds timeout);

 private:
  void Run(std::stop_token stop);
  // `delivered` is set once the connection delivered a frame.
  Status StreamOnce(std::stop_token stop, bool* delivered);
  // Receiving (the stream's thread): read and verify, then queue.
  Status ReceiveLtx(http::StreamReader* reader, uint64_t length, ApplyQueue* applier);
  // kDiverged (queued) or kDeleted (queued and applied before it returns).
  Status ReceiveNamedTxid(FrameType type, http::StreamReader* reader, uint64_t length,
                          ApplyQueue* applier);
  Status ReceiveToFile(http::StreamReader* reader, uint64_t length, const std::string& path);
  StreamRequest BuildRequest() const;
  // Refuses a primary of another cluster; adopts its id when this node has none.
  Status CheckCluster(const http::StreamReader& reader);
  // Applying (the ApplyQueue's thread): what is not an LTX file.
  Status ApplyOther(const Received& item);
  Status SetDivergedFilesAside(store::Db* db, uint64_t common);
  void SetSynced(bool synced);

  store::Store* store_;
  store::MountAccess* mount_;
  ReplicaClientOptions options_;
  std::string primary_url_;
  std::atomic<bool> synced_{false};
  std::mutex mu_;
  std::condition_variable synced_cv_;
  std::shared_ptr<http::StreamReader> reader_;  // guarded by mu_; closed by Stop
  std::jthread thread_;
  uint64_t received_files_ = 0;  // names large files received into ltx/
};

}  // namespace walship::repl
