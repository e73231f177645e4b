// ReplicaClient: the replica's side of replication. A background thread keeps
// a /stream connection to the primary, sending this node's positions; each LTX
// file received is written to the database's ltx/ directory (tmp, fsync,
// verify, rename) before Db::ApplyLtx applies it. Any error — network, a
// corrupt file, a position mismatch — closes the connection; the thread
// reconnects with backoff and the primary resumes from the positions (sending
// a snapshot where they no longer fit). When the primary says this node's
// history diverged (kDiverged), the LTX files after the fork move to
// DATA/dbs/NAME/diverged/ before the snapshot replaces the database.
//
// Thread-safety: Start/Stop/SetPrimary from a controlling thread; synced() and
// WaitSynced from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "http/client.h"
#include "repl/protocol.h"
#include "store/mount_access.h"
#include "store/store.h"

namespace walship::repl {

struct ReplicaClientOptions {
  std::string hostname;                        // this node, for the primary's logs
  std::string advertise_url;                   // this node's API, for /handoff
  bool candidate = false;
  std::chrono::milliseconds reconnect_delay{1000};
  std::chrono::milliseconds max_reconnect_delay{5000};
  std::string auth_token;  // the primary's http.auth-token; empty: none sent
};

class ReplicaClient {
 public:
  // `store` and `mount` (may be null) must outlive the client.
  ReplicaClient(store::Store* store, store::MountAccess* mount,
                ReplicaClientOptions options);
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
  Status StreamOnce(std::stop_token stop);
  Status ReceiveLtx(http::StreamReader* reader, uint64_t length);
  Status ReceiveDiverged(http::StreamReader* reader, uint64_t length);
  StreamRequest BuildRequest() const;
  Status ReceiveToFile(http::StreamReader* reader, uint64_t length, const std::string& path);
  Status ApplyReceived(store::Db* db, const std::string& tmp);
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
};

}  // namespace walship::repl
