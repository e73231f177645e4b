// Archiver: continuous backup of every database on the primary
// (docs/backup.md). A commit listener only records that a database moved;
// the archiver's own thread, never holding a Db mutex during I/O, then
//
//  - ships the LTX files written since the last upload as one L0 object,
//    `delay` after the first of them (so a busy database goes up in batches);
//  - writes a snapshot when the archive has none for a database, when the
//    local LTX files no longer reach back to what was archived, and every
//    `snapshot_interval`;
//  - compacts: every level_intervals[n-1], the L(n-1) objects not yet covered
//    by level n are merged into one L(n) object (archiver_compact.cc);
//  - applies retention: objects no restore point inside `retention` needs
//    are deleted;
//  - records a database's deletion: its objects move to NAME/deleted/<unix
//    ms>/ (nothing is removed), so a database created again under the name
//    starts an archive of its own (archiver_diverged.cc).
// Failed uploads are retried with backoff; the local LTX files stay until
// archived because Retention consults ArchivedTxid() (store/retention.h).
//
// Thread-safety: Start/Stop from one thread; the accessors are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backup/envelope.h"
#include "backup/layout.h"
#include "backup/target.h"
#include "store/store.h"

namespace walship::backup {

struct ArchiverOptions {
  std::chrono::milliseconds delay{1000};
  std::chrono::milliseconds snapshot_interval{std::chrono::hours(24)};
  std::chrono::milliseconds retention{std::chrono::hours(72)};
  // Compaction period of L1, L2, L3.
  std::vector<std::chrono::milliseconds> level_intervals{
      std::chrono::seconds(30), std::chrono::minutes(5), std::chrono::hours(1)};
  std::chrono::milliseconds retention_check_interval{std::chrono::minutes(1)};
  size_t max_batch_files = 4096;
  uint64_t max_batch_bytes = 64ull << 20;
  std::string encryption_key;  // "" or 64 hex digits
};

// Where one database's archive stands.
struct ArchiveStatus {
  std::string db;
  uint64_t archived_txid = 0;  // every TXID up to here is in the archive
  uint64_t local_txid = 0;
  int64_t lag_ms = 0;          // age of the oldest transaction not yet archived; 0 when none
  std::string last_error;      // of the last failed attempt; "" after a success
};

struct ArchiverStats {
  uint64_t uploads = 0;
  uint64_t upload_bytes = 0;
  uint64_t errors = 0;
  uint64_t snapshots = 0;
  uint64_t compactions = 0;
  uint64_t deletions = 0;
};

class Archiver {
 public:
  // `store` must outlive the archiver.
  static Result<std::unique_ptr<Archiver>> Create(store::Store* store,
                                                  std::unique_ptr<ArchiveTarget> target,
                                                  ArchiverOptions options);
  ~Archiver();

  void Start();
  // Stops the thread (an upload in progress finishes first) and unregisters
  // the commit listener.
  void Stop();

  // Every TXID of `db` up to the result is archived (0: nothing yet). The
  // retention floor.
  uint64_t ArchivedTxid(const std::string& db) const;
  std::vector<ArchiveStatus> Positions() const;
  ArchiverStats stats() const;
  ArchiveTarget* target() { return target_.get(); }

  // One full pass (ship, snapshot, compact, retention) of every database, as
  // the thread would run it; for tests with the thread stopped.
  void RunOnce();

 private:
  struct DbState {
    bool initialized = false;
    bool has_snapshot = false;
    uint64_t archived_txid = 0;
    uint64_t local_txid = 0;
    std::deque<std::pair<uint64_t, int64_t>> pending;  // (txid, commit ms) not yet archived
    std::optional<std::chrono::steady_clock::time_point> dirty_since;
    std::chrono::steady_clock::time_point next_attempt{};
    int failures = 0;
    int64_t last_snapshot_ms = 0;
    std::map<int, uint64_t> level_max;  // highest TXID compacted into each level
    std::string last_error;
  };

  Archiver(store::Store* store, std::unique_ptr<ArchiveTarget> target, ArchiverOptions options,
           ObjectCodec codec);
  void Loop(std::stop_token stop);
  void OnCommit(const std::string& db, const ltx::Header& header);
  void OnDelete(const std::string& db);
  // Sets aside the archives of the databases deleted since the last pass.
  void SetAsideDeletedAll();
  void Pass(bool force);
  // Each returns whether it did something; failures are recorded in the state.
  void SyncDb(store::Db* db, bool force);
  walship::Status InitDb(store::Db* db);
  // archiver_diverged.cc: whether the L0 object or snapshot ending at
  // `txid` (if any) ends on this database's history (true when there is no
  // telling).
  walship::Result<bool> EndsOnHistory(store::Db* db, const std::vector<ArchivedObject>& objects,
                                      uint64_t txid);
  // The post-apply checksum of the level-0 object or snapshot ending at
  // `txid`; nullopt when there is none.
  walship::Result<std::optional<uint64_t>> ArchivedChecksumAt(
      const std::vector<ArchivedObject>& objects, uint64_t txid);
  // Whether the archive, ending at `tail`, ends where this database's name
  // was last deleted (Store::Deleted): the deleted database's archive, which
  // the archiver did not see deleted (it was stopped).
  walship::Result<bool> EndsAtTombstone(store::Db* db, const std::vector<ArchivedObject>& objects,
                                        uint64_t tail);
  // Moves every object past the newest point the archive shares with this
  // database to NAME/diverged/<unix ms>/...; removes them from `objects`.
  // InvalidArgument when they share no point at all (another history).
  // When they share no point and the store has a tombstone for the name
  // (a deletion the archiver did not see: it was stopped), the objects are
  // the deleted database's and are set aside as such instead.
  walship::Status SetAsideDiverged(store::Db* db, std::vector<ArchivedObject>* objects);
  // Moves every archive object of database `name` to NAME/deleted/<unix ms>/.
  walship::Status SetAsideDeleted(const std::string& name);
  // Moves `objects` to the prefix `aside` (which ends in '/').
  walship::Status MoveObjects(const std::string& name, const std::vector<ArchivedObject>& objects,
                              const std::string& aside);
  walship::Status ShipPending(store::Db* db);
  walship::Status TakeSnapshot(store::Db* db, bool resets_chain);
  walship::Status PutObject(const std::string& key, const std::string& payload);
  void RecordFailure(const std::string& db, const walship::Status& st);
  // archiver_compact.cc
  void CompactAll(bool force);
  walship::Status CompactLevel(const std::string& db, int level);
  void RetainAll();
  walship::Status RetainDb(const std::string& db);

  store::Store* store_;
  std::unique_ptr<ArchiveTarget> target_;
  ArchiverOptions options_;
  ObjectCodec codec_;
  int listener_id_ = 0;
  int delete_listener_id_ = 0;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, DbState> dbs_;  // guarded by mu_
  // Deleted databases whose archive is not set aside yet, with when to try
  // (again). Guarded by mu_.
  std::map<std::string, std::chrono::steady_clock::time_point> deleted_;
  ArchiverStats stats_;                 // guarded by mu_
  std::vector<std::chrono::steady_clock::time_point> next_compaction_;  // thread only
  std::chrono::steady_clock::time_point next_retention_{};             // thread only
  std::jthread thread_;
};

}  // namespace walship::backup
