// Store: every database of this node, kept under DATA/dbs/NAME/, plus the
// node's identity (DATA/node.id). The FUSE layer and the node API look
// databases up here; the store knows nothing of either (DESIGN.md §2).
//
// A deleted database (Delete) leaves Find, List and ById, but its Db object
// stays until the Store is destroyed, so a Db* handed out stays valid (its
// operations then fail with NotFound). Each Db has a stable small id, never
// reused (the FUSE layer derives inode numbers from it): a database created
// again under a deleted name is a new Db, a new lineage from TXID 1.
//
// DATA/deleted/NAME (a tombstone) keeps the position NAME ended at when it was
// last deleted, so the stream can tell a replica that comes back at that
// position, and the archiver an archive of it, that the database is gone.
//
// Thread-safety: all methods are thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "env/env.h"
#include "store/db.h"
#include "store/db_name.h"

namespace walship::store {

using DeleteListener = std::function<void(const std::string& db, const Position& ended_at)>;

// What this node is in the cluster, as the lease says.
struct NodeRole {
  bool primary = true;
  std::string primary_hostname;  // empty while no primary is known (or on the primary)
  std::string primary_url;       // the primary's node API, likewise
  bool operator==(const NodeRole&) const = default;
};

struct StoreOptions {
  std::string data_dir;
  env::Env* env = env::Env::Posix();
  Clock* clock = Clock::Real();
  bool compress = true;
  // Transactions per sealed LTX file (DbOptions::seal_txids).
  size_t seal_txids = kSealTxids;
};

class Store {
 public:
  explicit Store(StoreOptions options);
  ~Store();

  // Loads the node id and opens (recovering) every database found on disk.
  Status Open();

  uint64_t node_id() const { return node_id_; }
  const std::string& data_dir() const { return options_.data_dir; }

  // nullptr when there is no such database.
  Db* Find(const std::string& name) const;
  // The database with this id (0-based, in creation order); nullptr if none.
  Db* ById(size_t id) const;
  size_t IdOf(const Db* db) const;
  // Whether id names a database that was deleted.
  bool IsDeletedId(size_t id) const;
  // Creates (or returns the existing) database NAME. InvalidArgument for a
  // name that cannot be a database (see ValidateDbName).
  Result<Db*> Create(const std::string& name);
  std::vector<Db*> List() const;

  // Deletes database NAME as one event: it stops taking writes, its
  // tombstone is written (durable), then its directory goes (renamed into DATA/trash/, removed) and
  // delete listeners run. NotFound when there is no such database. `mount`
  // (may be null) has the kernel forget its names and cached pages
  // (MountAccess::ForgetDatabase); the FUSE layer passes null from its own
  // unlink and does that later.
  Status Delete(const std::string& name, MountAccess* mount);
  // Where NAME ended when it was last deleted (its tombstone); nullopt when
  // it never was.
  std::optional<Position> Deleted(const std::string& name) const;

  NodeRole role() const;
  // Changes every database's role (Db::SetReplica), dropping the kernel's
  // cached pages through the mount (SetMountAccess) when the mount is up.
  void SetRole(NodeRole role);
  // Setting it (null before unmount) closes the files the databases hold open
  // in the previous mount. REQUIRES: no apply in progress (replica client
  // stopped).
  void SetMountAccess(MountAccess* mount);
  // Commits are accepted only while it is open (DESIGN.md §2.4); the lease
  // opens and closes it. Open forever by default.
  WriteFence* fence() { return &fence_; }
  // FenceGuard's hooks (null: none), called with no mutex held: after an
  // application opened a database's -shm for FUSE passthrough (the FUSE
  // layer calls AfterShmOpened before it replies; `wait`: the hook may wait
  // for walship to open the file through the mount itself, which it cannot
  // while the kernel holds the directory for a creation), and before an
  // application removes the -shm (the FUSE layer calls BeforeShmRemoved).
  using ShmOpenedHook = std::function<void(Db*, bool wait)>;
  void SetShmHooks(ShmOpenedHook opened, std::function<void(Db*)> removed) {
    std::lock_guard lock(listeners_mu_);
    shm_opened_hook_ = std::move(opened);
    shm_removal_hook_ = std::move(removed);
  }
  void AfterShmOpened(Db* db, bool wait) {
    ShmOpenedHook hook;
    {
      std::lock_guard lock(listeners_mu_);
      hook = shm_opened_hook_;
    }
    if (hook) hook(db, wait);
  }
  void BeforeShmRemoved(Db* db) {
    std::function<void(Db*)> hook;
    {
      std::lock_guard lock(listeners_mu_);
      hook = shm_removal_hook_;
    }
    if (hook) hook(db);
  }
  // Milliseconds since the last frame from the primary: 0 on the primary,
  // 2147483647 before a replica's first sync.
  int64_t LagMs() const;

  // Called after every commit (or apply, on a replica) of every database, with
  // the Db's mutex held (see CommitListener). Returns an id for Remove.
  int AddCommitListener(CommitListener listener);
  void RemoveCommitListener(int id);
  // Called after a database is deleted, with the position it ended at; no
  // Db mutex is held. Shares the id space of commit listeners.
  int AddDeleteListener(DeleteListener listener);
  void RemoveDeleteListener(int id);

  // A counter that moves on every commit, apply, database creation or
  // deletion and role change. WaitForChange blocks until it differs from `seen` or `timeout`
  // passes, and returns the current value.
  uint64_t change_count() const;
  uint64_t WaitForChange(uint64_t seen, std::chrono::milliseconds timeout) const;

  // Replica side: records that a frame from the primary arrived now (.lag).
  void MarkFrameReceived();

 private:
  Status LoadNodeId();
  Result<Db*> OpenDb(const std::string& name);
  std::string TombstonePath(const std::string& name) const;
  Status WriteTombstone(const std::string& name, const Position& ended);
  // Renames a deleted database's directory into DATA/trash/ (durably).
  Status MoveToTrash(const std::string& dir, size_t id);
  // Removes what a deletion cut short by a crash left in DATA/trash/.
  void EmptyTrash();
  void NotifyCommit(const std::string& db, const ltx::Header& header, uint64_t checksum);
  void BumpChangeCount();

  StoreOptions options_;
  uint64_t node_id_ = 0;
  std::mutex create_mu_;  // serializes Create and Delete
  mutable std::mutex mu_;  // guards dbs_, role_, last_frame_ms_
  struct Entry {
    std::unique_ptr<Db> db;
    bool deleted = false;
  };
  std::vector<Entry> dbs_;  // index is the id; deleted ones stay
  mutable std::mutex listeners_mu_;
  std::map<int, CommitListener> listeners_;
  std::map<int, DeleteListener> delete_listeners_;
  int next_listener_id_ = 1;
  ShmOpenedHook shm_opened_hook_;              // guarded by listeners_mu_
  std::function<void(Db*)> shm_removal_hook_;  // guarded by listeners_mu_
  mutable std::mutex change_mu_;
  mutable std::condition_variable change_cv_;
  uint64_t change_count_ = 0;
  NodeRole role_;
  MountAccess* mount_ = nullptr;  // guarded by mu_
  WriteFence fence_;
  int64_t last_frame_ms_ = -1;  // wall clock of the last frame from the primary
};

}  // namespace walship::store
