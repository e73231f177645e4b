// Db: one SQLite database under walship's control — its files in
// DATA/dbs/NAME/{database,journal,wal,shm}, its LTX files in DATA/dbs/NAME/ltx/
// (indexed in memory, LtxIndex) and its position (TXID + rolling checksum).
// SQLite's POSIX locks are the kernel's; walship takes them itself only to
// apply on a replica (ApplyLock).
//
// On the primary every file operation the FUSE layer forwards passes through
// here; the capture state machines (WalCapture, RollbackCapture) watch them and,
// at each commit point, the transaction's pages become the next LTX: appended
// to the LTX log (ltx_log.h) and held in memory, or, when large, written as
// its own file (CommitTransaction, db_commit.cc). The log is sealed into one
// multi-TXID LTX file in ltx/ every few thousand transactions. Open() first
// reconciles the files after a crash (db_recovery.cc).
//
// Thread-safety: all public methods are thread-safe; one mutex guards the state
// and is never held across network I/O. Commit listeners run with it held and
// must only hand work off (notify, enqueue).
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "env/env.h"
#include "ltx/checksum.h"
#include "ltx/format.h"
#include "ltx/io.h"
#include "store/apply_writes.h"
#include "store/ltx_index.h"
#include "store/ltx_log.h"
#include "store/mount_access.h"
#include "store/page_checksums.h"
#include "store/position.h"
#include "store/received_ltx.h"
#include "store/rollback_capture.h"
#include "store/tx_spec.h"
#include "store/wal_capture.h"
#include "store/write_fence.h"
#include "store/writeback_ahead.h"

namespace walship::store {

// "database", "journal", "wal", "shm": the file names in DATA/dbs/NAME/.
const char* DataFileName(FileKind kind);

// In a replica's database directory: the position its database file was last
// synced at ("%016x/%016x\n", as -pos), rewritten after every applied batch.
inline constexpr const char* kAppliedFile = "applied";
// In a database's directory: LTX files that failed verification at start-up.
inline constexpr const char* kCorruptLtxDir = "corrupt";

// When the LTX log is sealed into one LTX file: at this many transactions or
// bytes, whichever comes first; and how many bytes of sealed transactions
// stay in memory for replicas and the archiver a little behind.
inline constexpr size_t kSealTxids = 4096;
inline constexpr uint64_t kSealBytes = 8 << 20;
inline constexpr uint64_t kRecentBytes = 16 << 20;

class Db;

struct DbOptions {
  std::string name;
  std::string dir;  // DATA/dbs/NAME
  env::Env* env = env::Env::Posix();
  Clock* clock = Clock::Real();
  bool compress = true;
  uint64_t node_id = 0;
  // Commits are refused while it is closed (etcd lease); null: always open.
  const WriteFence* fence = nullptr;
  size_t seal_txids = kSealTxids;
  uint64_t seal_bytes = kSealBytes;
};

// Called after each commit (or apply) with the new LTX's header and the
// database checksum after it.
using CommitListener =
    std::function<void(const std::string& db, const ltx::Header& header, uint64_t checksum)>;

struct DbStats {
  uint64_t commits = 0;
  uint64_t ltx_bytes = 0;
};

class Db {
 public:
  explicit Db(DbOptions options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens or creates the files and recovers from any crash (db_recovery.cc).
  Status Open();

  const std::string& name() const { return options_.name; }
  const std::string& dir() const { return options_.dir; }
  std::string LtxDir() const;
  // The position readers of the mount see; during an apply, the one before it.
  Position pos() const;
  // pos(), after recording what SQLite has committed in the WAL without
  // walship seeing the writes (FUSE passthrough): what a client that just
  // committed must be told (the -pos file, /info, the proxy's TXIDs).
  Position CommittedPos();
  uint32_t page_size() const;
  uint32_t page_count() const;
  DbStats stats() const;
  void SetCommitListener(CommitListener listener);

  // --- File operations, as the FUSE layer forwards them. -----------------
  bool Exists(FileKind kind) const;
  Result<struct stat> Stat(FileKind kind) const;
  Status Create(FileKind kind);  // journal, wal, shm; no-op when present
  Status Remove(FileKind kind);  // journal, wal, shm
  Result<size_t> Read(FileKind kind, uint64_t offset, std::span<uint8_t> out) const;
  Status Write(FileKind kind, uint64_t offset, std::span<const uint8_t> data);
  Status Truncate(FileKind kind, uint64_t size);
  Status Sync(FileKind kind);
  // A process closed its descriptor of the file.
  Status Close(FileKind kind);
  // A new descriptor of the data directory's file of this kind (read-write),
  // for the kernel to read and write directly (FUSE passthrough). The caller
  // closes it. From then on the WAL may change without walship seeing the
  // writes, and every capture reads it back first.
  Result<int> OpenDataFile(FileKind kind);
  // Whether OpenDataFile handed out the WAL (SQLite writes it directly).
  bool WalWrittenDirectly() const;
  // Records the transactions committed in the WAL since the last capture,
  // reading it back from the file: on the primary when SQLite writes the WAL
  // without walship seeing the writes (FUSE passthrough; WalTailer calls it).
  // A no-op on a replica or without a WAL.
  Status CaptureWal();

  // --- Deletion (Store::Delete). ------------------------------------------
  // Closes every file and forgets the LTX chain; the Store then removes the
  // directory. Every later file operation fails with NotFound, so a process
  // that still has the database open gets an error, never another database's
  // bytes. Returns the position the database ended at.
  Position MarkDeleted();
  bool deleted() const;

  // --- Replication (db_apply.cc, db_snapshot.cc). ------------------------
  // Replica mode: the SQLite files are read-only to applications, who see
  // the primary's bytes: a WAL-mode database has an empty -wal and a -shm
  // whose header each apply rewrites, so open connections drop their cache.
  // Stepping down keeps readers out (ApplyLock through `mount`, which may be
  // null), folds the WAL's committed pages into the database file and empties
  // the WAL; open connections go on reading. db_role.cc.
  Status SetReplica(bool replica, MountAccess* mount);
  bool replica() const;
  // Applies verified LTX files received from the primary, in order: the run
  // that continues this position (a snapshot may only come first). Appends
  // each to the LTX log, as a primary's commits are (a snapshot, or a file
  // too large for memory, goes into ltx/), and makes them durable with one
  // sync; then takes SQLite's locks through `mount` so readers are out
  // (ApplyLock), writes the pages into the database file (each file's
  // post-apply checksum must match), has the kernel drop its cached pages
  // and releases the locks. The database file itself is synced now and then
  // (SyncAppliedDatabase). `mount` may be null (no readers to keep out).
  // PosMismatch when a file does not continue the one before it; the files
  // before it are applied.
  // REQUIRES: not called concurrently for one Db.
  Status ApplyBatch(std::span<ReceivedLtx> batch, MountAccess* mount);
  // Closes the descriptors ApplyBatch keeps open in the mount (before unmount).
  void CloseMountFiles();
  // Writes a snapshot LTX (TXID 1..pos, every page) of the database as
  // committed to `path`, consistent at the returned header's max TXID (after
  // a half-written rollback-journal transaction, if any, is done).
  Result<ltx::Header> WriteSnapshot(const std::string& path);
  // Writes a standalone copy of the database as committed (WAL applied) to
  // `path`, straight from walship's files: consistent at the returned TXID.
  // Writers wait meanwhile (the copy holds the mutex), and a rollback-journal
  // transaction in progress is waited for first (up to 30 s; Busy after).
  Result<uint64_t> ExportTo(const std::string& path);
  // LTX files on disk, ascending by TXID (from memory: LtxIndex).
  std::vector<LtxFileInfo> ListLtxFiles() const;
  // The positions of the newest `limit` LTX files and recent transactions,
  // newest first: what a replica tells its primary, so a diverged one can be
  // told the last TXID both histories share.
  std::vector<Position> NewestPositions(size_t limit) const;
  // Seals the transactions in the LTX log into a file in ltx/, so that every
  // transaction is in a file (a diverged replica sets its files aside).
  Status SealLtxLog();
  // The chain after `txid`, ascending, at most `limit` entries: recent
  // transactions from memory (`bytes` set) where it holds them, else files.
  std::vector<LtxFileInfo> LtxFilesAfter(uint64_t txid, size_t limit) const;
  // Post-apply checksum of the LTX ending at `txid`; NotFound if none.
  Result<uint64_t> ChecksumAt(uint64_t txid) const;
  // Deletes the LTX file ending at `txid`, and the recent transactions up to
  // it held in memory (retention). NotFound if none.
  Status RemoveLtxFile(uint64_t max_txid);
  // Moves the LTX file ending at `max_txid` out of the chain, to `to_path`
  // (a diverged replica keeps its unreplicated files aside).
  Status SetLtxFileAside(uint64_t max_txid, const std::string& to_path);
  // Reads page `pgno` of the database as committed (WAL frames win over the
  // database file). REQUIRES: mu_ held.
  Status ReadLogicalPageLocked(uint32_t pgno, std::span<uint8_t> out) const;

 private:
  env::File* FileFor(FileKind kind) const;
  std::unique_ptr<env::File>& SlotFor(FileKind kind);
  std::string PathFor(FileKind kind) const;
  Status CheckWritable() const;
  // NotFound once the database is deleted. REQUIRES: mu_ held.
  Status CheckNotDeleted() const;
  // LeaseExpired when the write fence is closed. `what` names the write.
  Status CheckFence(const char* what) const;
  // db_role.cc: SetReplica's two directions (see the file's comment).
  Status StepDown(MountAccess* mount);
  Status TakeOver();
  // REQUIRES: mu_ held.
  Status FoldWalLocked(std::vector<uint32_t>* folded);
  // Copies the WAL to diverged/wal.UNIXMS if it holds a commit not recorded.
  Status SetUncapturedWalAside();

  // Commit points (REQUIRES: mu_ held). `durable`: the LTX of every
  // transaction recorded is durable on return (one sync for the batch).
  Status CommitWal(bool durable);
  // Writes the LTX log entries of the transactions just recorded (one write
  // for a batch) and then announces them to the listener. A failed write
  // stops writes (failed_). Every commit point ends with it.
  Status FlushCommits();
  // CommitWal, after WalCapture::Rescan once the WAL is written without
  // walship seeing it (wal_unseen_writes_): also finds those commits. Every
  // point where SQLite may overwrite or drop WAL frames (a checkpoint's
  // database write, the WAL's sync, truncation or removal) calls it first.
  Status CaptureWalLocked(bool durable);
  // After a WAL sync refused by the fence (passthrough): makes the frames
  // SQLite has not published invalid. REQUIRES: mu_ held.
  void InvalidateUnpublishedFrames();
  Status CommitRollback();
  Status CommitWithoutJournal();
  // EPERM unless every committed WAL frame's page is in the database file.
  Status CheckWalCheckpointed() const;

  // db_guard.cc: what may change the database file. REQUIRES: mu_ held.
  // EPERM for a write that is neither a transaction's (hot journal) nor a
  // checkpoint's (bytes of a committed WAL frame of that page).
  Status CheckDatabaseWrite(uint64_t offset, std::span<const uint8_t> data) const;
  // EPERM for a truncation to other than the committed size outside a
  // transaction.
  Status CheckDatabaseTruncate(uint64_t size) const;
  // Whether `bytes` at `in_page` of page `pgno` equal those of a committed
  // frame of the page in the current WAL.
  Result<bool> InCommittedFrame(uint32_t pgno, uint64_t in_page,
                                std::span<const uint8_t> bytes) const;
  // Calls `fn` with the offset and header of every committed frame of the
  // current WAL, in order; stops at its first error.
  Status ForEachCommittedFrame(
      const std::function<Status(uint64_t, const sqlite::WalFrameHeader&)>& fn) const;
  // Tracks whether the journal's header says a transaction is under way.
  void NoteJournalWrite(uint64_t offset, std::span<const uint8_t> data);
  // page_count x page_size of the committed database.
  uint64_t CommittedSizeLocked() const;
  // Makes the LTX log and any LTX file written since the last sync durable.
  Status SyncPendingLtx();
  // Seals the transactions in the LTX log into one LTX file in ltx/ (tmp,
  // fsync, rename, fsync dir), then empties the log. REQUIRES: mu_ held.
  Status SealLog();
  // Whether the log holds seal_txids transactions or seal_bytes (and no
  // failed seal is waiting for more). REQUIRES: mu_ held.
  bool LogFull() const;
  // SealLog when LogFull; a failure is logged, and the transactions stay in
  // the log. REQUIRES: mu_ held.
  void SealLogWhenFull();

  // db_commit.cc: the commit pipeline. A failure stops the Db accepting writes.
  // `durable`: the LTX is synced before the transaction counts (a rollback
  // journal's commit, one at a time). Otherwise it is written, not synced: a
  // commit point that must be durable syncs once for its whole batch.
  Status CommitTransaction(const TxSpec& tx, bool durable);
  Status RecordTransaction(const TxSpec& tx, bool durable);
  Status ReadPage(const PageSource& source, std::span<uint8_t> out) const;
  Result<uint32_t> DatabasePageSize() const;
  // The database's size in pages: the in-header page count when SQLite marked
  // it valid (capped by the file), else the file size. SQLite truncates a
  // shrinking database file only after it has finalized the journal — after
  // the rollback-mode commit point — so the file can still be longer.
  Result<uint32_t> DatabasePageCount(uint32_t page_size) const;

  // db_apply.cc
  Status OpenMountFiles(MountAccess* mount);
  // Locks through mount_shm_fd_ that make walship's -shm header the one a
  // replica's readers use; grows a -shm too short to map (db_apply.cc).
  void HoldShmForReaders();
  // How many files of `batch` continue this position and each other; when
  // fewer than all, `why_not` says why (PosMismatch, or InvalidArgument for
  // a snapshot after the first file, which makes the run empty).
  size_t ContinuingRun(std::span<const ReceivedLtx> batch, Status* why_not) const;
  // Makes the files of `run` durable before any is applied: each into the
  // LTX log and memory (a recent transaction), or into ltx/ when too large
  // for memory; one sync for all. Returns where each now is.
  // On failure, nothing of the run stays in the log or in memory.
  Result<std::vector<LtxFileInfo>> KeepReceived(std::span<ReceivedLtx> run);
  // KeepReceived's work; `start` is where the run's entries in the log
  // begin (moved when the log is emptied). REQUIRES: mu_ held.
  struct LogMark {
    uint64_t bytes = 0;
    size_t entries = 0;
  };
  Result<std::vector<LtxFileInfo>> KeepReceivedLocked(std::span<ReceivedLtx> run, LogMark* start);
  // A snapshot into ltx/, durable; then every earlier file and the log go,
  // since they no longer chain to it. REQUIRES: mu_ held.
  Status KeepSnapshot(ReceivedLtx& snapshot, std::vector<LtxFileInfo>* kept);
  // Decodes an LTX from `reader` into `writes` (its pages, then its commit
  // size) and the page checksums. REQUIRES: mu_ held.
  Result<ltx::Trailer> WriteLtxPages(ltx::Reader* reader, ltx::Header* header, ApplyWrites* writes);
  // Its pages as `received` kept them (no decoding), else WriteLtxPages of
  // the kept file (from memory, or from its path); checked against its
  // post-apply checksum. REQUIRES: mu_ held.
  Status WriteReceivedPages(const ReceivedLtx& received, const LtxFileInfo& ltx,
                            ApplyWrites* writes);
  // The page checksums sized for the file `header` starts. REQUIRES: mu_ held.
  void StartLtxPages(const ltx::Header& header);
  // The pages `received` kept when it was verified, into `writes` and the
  // page checksums. REQUIRES: mu_ held.
  Status WriteKeptPages(const ReceivedLtx& received, ApplyWrites* writes);
  // WriteLtxPages of the file as kept (in memory, or at its path). REQUIRES: mu_ held.
  Status DecodeKeptFile(const LtxFileInfo& ltx, ApplyWrites* writes);
  // Writes the files of `run` (kept: where each is) into the database file,
  // moving pos_ with each; *applied is how many are in the file and
  // *changed where it changed (for readers' caches). On failure pos_ says
  // what the file holds. REQUIRES: mu_ held, readers kept out.
  Status WriteRun(std::span<const ReceivedLtx> run, const std::vector<LtxFileInfo>& kept,
                  size_t* applied, std::vector<ApplyWrites::ByteRange>* changed);
  // writes->Finish(); when that fails, the page checksums are rebuilt from
  // the file (or, failing that too, the database stops: failed_).
  // REQUIRES: mu_ held.
  Status FinishWrites(ApplyWrites* writes);
  // Names a kept file in messages.
  std::string ReceivedName(const LtxFileInfo& ltx) const;
  // Overwrites `applied` with pos_ (not synced). REQUIRES: mu_ held.
  Status WriteAppliedMarker();
  // A replica's database file is synced at most every kDatabaseSyncInterval
  // (the LTX log holds what it applied durably), and `now`: after a
  // snapshot, or when the log is about to be sealed, which it then is.
  static constexpr std::chrono::milliseconds kDatabaseSyncInterval{1000};
  Status SyncAppliedDatabase(bool now);
  // fsync the database file and note pos_ in `applied`. REQUIRES: mu_ held.
  Status SyncDatabaseAndMark();
  // Whether page 1 of the database file says WAL mode (bytes 18-19 are 2):
  // what a replica's readers then use. REQUIRES: mu_ held.
  Result<bool> PageOneSaysWalLocked() const;
  // A replica whose page 1 says WAL mode has a -wal (empty, read-only to
  // applications) and a -shm for its readers; sets readers_wal_. Returns
  // whether it created one (the kernel's cached names are stale then).
  // REQUIRES: mu_ held.
  Result<bool> MatchReaderFilesLocked();

  // db_snapshot.cc. In rollback-journal modes the database file holds a
  // writer's pages before its commit point: waits (up to 30 s, then Busy)
  // until no transaction is half-written. REQUIRES: `lock` holds mu_.
  Status WaitForNoHalfWrittenTransaction(std::unique_lock<std::mutex>& lock);
  // db_snapshot.cc: an LTX of every page of the database as committed.
  // REQUIRES: mu_ held.
  Status WriteEveryPageLocked(const std::string& path, const ltx::Header& header,
                              uint64_t post_apply_checksum, bool durable);

  // db_recovery.cc
  Status LoadLastLtx();
  // Reads the LTX log back: the transactions that continue the position
  // become recent ones, and the log is sealed.
  Status LoadLog();
  Status RecoverJournal();
  Status RecoverWal();
  Status RebuildChecksums(uint32_t page_size, uint32_t page_count);
  Status RepairChecksumMismatch(uint64_t computed, const TxSpec& wal);
  // Replays the LTX files after `txid` into the database file, in order,
  // stopping at the first that does not continue the one before (it and
  // later files are removed: never durable, never applied), then fsyncs.
  // Advances pos_; the caller compares checksums.
  Status ReplayLtxFilesAfter(uint64_t txid);
  // ReplayLtxFilesAfter's decoding, into `writes`.
  Status ReplayInto(uint64_t txid, ApplyWrites* writes);
  // Where replaying received files must start: the position in `applied`
  // when the chain still holds it, else the beginning of the chain.
  uint64_t ReplayBase() const;

  DbOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<env::File> database_;
  std::unique_ptr<env::File> journal_;
  std::unique_ptr<env::File> wal_;
  std::unique_ptr<env::File> shm_;
  WalCapture wal_capture_;
  RollbackCapture rollback_capture_;
  PageChecksums checksums_;
  Position pos_;  // what the database file holds
  // Set while an apply keeps readers out: the position they can still see,
  // which pos() reports until they are let back in (db_apply.cc).
  std::optional<Position> readers_see_;
  ltx::Header last_ltx_{};  // header of the newest LTX file (zero when none)
  std::string last_ltx_path_;  // set at start-up when an LTX file exists
  LtxIndex ltx_index_;
  LtxLog log_;
  size_t seal_backoff_ = 0;  // after a failed seal: log entries to wait for
  // LTX files written since the last sync (large transactions); once more
  // than kSyncEachUpTo, only that there are more (SyncNewFiles then syncs
  // the file system).
  std::vector<std::string> unsynced_ltx_;
  // Scratch for RecordTransaction, kept so that a commit allocates only the
  // LTX it keeps: the encoding (copied out at its exact size) and a page.
  std::string encode_buffer_;
  std::vector<uint8_t> page_buffer_;
  Status failed_;  // set when a commit could not be recorded; writes then fail
  DbStats stats_;
  CommitListener listener_;
  // The WAL was handed to the kernel (OpenDataFile): SQLite writes it without
  // walship seeing the writes. Without it, every write passes through Write.
  bool wal_unseen_writes_ = false;
  WritebackAhead wal_writeback_;  // of the frames the tailer captured (CaptureWal)
  struct Announcement {
    ltx::Header header;
    uint64_t post_checksum;
  };
  std::vector<Announcement> unannounced_;  // recorded, FlushCommits not run yet
  bool replica_ = false;
  bool deleted_ = false;
  // The journal starts with SQLite's magic: a transaction is under way
  // (cleared at each commit point and when the journal goes).
  bool journal_hot_ = false;
  // The database file and -shm opened through the mount for ApplyLock; used
  // only by the applying thread (-1: not open).
  int mount_db_fd_ = -1;
  int mount_shm_fd_ = -1;
  bool mount_shm_held_ = false;  // its DMS and WAL write locks (HoldShmForReaders)
  // Replica: page 1 says WAL mode, so readers use the -shm (ApplyLock).
  bool readers_wal_ = false;
  std::unique_ptr<env::File> applied_;  // kAppliedFile, open once written
  // Replica: when SyncAppliedDatabase last synced.
  std::chrono::steady_clock::time_point database_synced_{};
};

}  // namespace walship::store
