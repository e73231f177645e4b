// Node: one running walship node — the Store, the lease, the FUSE mount, the
// node API, (on a replica) the replication client and (on the primary, when
// configured) the backup archiver — assembled from a Config. Start() brings
// them up in dependency order; Stop() takes them down in reverse.
//
// The role follows the lease: the Leaser reports every change, and the node's
// role thread applies the latest one (Transition): a new primary stops its
// replication client, opens its databases for writes and starts archiving; a
// node that lost the lease (its write fence already closed) stops archiving,
// turns its databases into replicas and follows the new primary.
//
// Thread-compatible: Start/Stop from one controlling thread; Promote and
// HandOff from API threads.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "backup/archiver.h"
#include "base/status.h"
#include "cli/config.h"
#include "fuse/file_system.h"
#include "http/node_api.h"
#include "lease/leaser.h"
#include "proxy/proxy.h"
#include "repl/replica_client.h"
#include "store/fence_guard.h"
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
  // Set when the node must stop (it belongs to another cluster): the node
  // raised SIGTERM for the main thread, which should then exit non-zero.
  bool failed() const { return failed_.load(); }

  // Makes this node the primary by asking the current one to hand off, and
  // waits until it is (bounded).
  Status Promote();
  // Moves the lease from this primary to `to` with no transaction lost.
  Status HandOff(const repl::ConnectedReplica& to);

 private:
  Status StartLease();
  Status StartProxy();
  // "host:port" of the primary's proxy, from its /info (cached per primary).
  std::optional<std::string> PrimaryProxy();
  // The primary's TXID of `db`, from its /info.
  Result<uint64_t> PrimaryTxid(const std::string& db);
  // Waits until `db` here reaches `txid`; false after `timeout`.
  bool WaitForTxid(const std::string& db, uint64_t txid, std::chrono::milliseconds timeout);
  Status StartArchiverLocked();
  void OnLeaseChange(const lease::LeaseState& state);
  void RunRoles(std::stop_token stop);
  void Transition(const lease::LeaseState& state);
  void FollowPrimaryLocked(const std::string& url);
  Status WaitCaughtUp(const std::string& url, std::chrono::milliseconds timeout);
  void Fail(const Status& why);
  uint64_t Score() const;
  // This node's API as other nodes reach it.
  std::string OwnApiUrl() const;
  std::string ClusterId() const;
  Status SaveClusterId(const std::string& id) const;

  Config config_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<lease::Leaser> leaser_;
  std::unique_ptr<fuse::FileSystem> fs_;
  std::unique_ptr<http::NodeApi> api_;
  std::unique_ptr<store::Retention> retention_;
  std::unique_ptr<store::FenceGuard> fence_guard_;  // etcd lease with FUSE passthrough
  std::unique_ptr<proxy::Proxy> proxy_;
  std::mutex primary_proxy_mu_;
  std::string primary_proxy_for_;  // the primary URL the cached address belongs to
  std::string primary_proxy_;

  // Role-dependent parts, changed by Transition under role_mu_.
  mutable std::mutex role_mu_;
  std::unique_ptr<repl::ReplicaClient> replica_;  // while a replica with a known primary
  std::string following_;                         // the URL replica_ follows
  // While primary, with backup configured. Shared: the API and retention use
  // it from their threads (copied under archiver_mu_) while a role change
  // replaces it.
  mutable std::mutex archiver_mu_;
  std::shared_ptr<backup::Archiver> archiver_;
  std::shared_ptr<backup::Archiver> archiver() const;

  std::mutex pending_mu_;
  std::condition_variable_any pending_cv_;
  std::optional<lease::LeaseState> pending_;  // the latest state not yet applied
  std::jthread role_thread_;
  std::jthread promote_thread_;  // lease.promote at start-up
  std::atomic<bool> failed_{false};
};

}  // namespace walship::cli
