// Node: one running walship node — the Store, the lease, the FUSE mount, the
// node API, (on a replica) the replication client and (on the primary, when
// configured) the backup archiver — assembled from a
// Config. Start() brings them up in dependency order; Stop() takes them down
// in reverse.
// Thread-compatible: Start/Stop from one controlling thread.
#pragma once

#include <chrono>
#include <memory>

#include "backup/archiver.h"
#include "base/status.h"
#include "cli/config.h"
#include "fuse/file_system.h"
#include "http/node_api.h"
#include "lease/leaser.h"
#include "repl/replica_client.h"
#include "store/retention.h"
#include "store/store.h"

namespace walship::cli {

class Node {
 public:
  explicit Node(Config config);
  ~Node();

  Status Start();
  void Stop();
  store::Store* store() { return store_.get(); }
  uint16_t api_port() const { return api_ ? api_->port() : 0; }
  // True once the node is the primary or has caught up with it.
  bool WaitReady(std::chrono::milliseconds timeout);

 private:
  Status StartLease();
  Status StartArchiver();

  Config config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<lease::Leaser> leaser_;
  std::unique_ptr<fuse::FileSystem> fs_;
  std::unique_ptr<http::NodeApi> api_;
  std::unique_ptr<repl::ReplicaClient> replica_;
  std::unique_ptr<store::Retention> retention_;
  std::unique_ptr<backup::Archiver> archiver_;  // primary with backup.type set
};

}  // namespace walship::cli
