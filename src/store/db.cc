#include "store/db.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <optional>

#include "base/crash_point.h"
#include "sqlite/db_header.h"
#include "sqlite/journal.h"
#include "sqlite/locks.h"
#include "sqlite/wal.h"
#include "sqlite/wal_index.h"
#include "store/apply_lock.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

const char* DataFileName(FileKind kind) {
  switch (kind) {
    case FileKind::kDatabase: return "database";
    case FileKind::kJournal: return "journal";
    case FileKind::kWal: return "wal";
    case FileKind::kShm: return "shm";
  }
  return "?";
}

Db::Db(DbOptions options) : options_(std::move(options)) {}
Db::~Db() = default;

std::string Db::LtxDir() const { return env::JoinPath(options_.dir, "ltx"); }
std::string Db::PathFor(FileKind kind) const {
  return env::JoinPath(options_.dir, DataFileName(kind));
}

Position Db::pos() const {
  std::lock_guard lock(mu_);
  return readers_see_.value_or(pos_);
}
Position Db::CommittedPos() {
  std::lock_guard lock(mu_);
  // A failure stops writes and is logged where it happens; the position
  // stands as it is.
  if (!replica_ && !deleted_) (void)CaptureWalLocked(/*durable=*/false);
  return readers_see_.value_or(pos_);
}
uint32_t Db::page_size() const {
  std::lock_guard lock(mu_);
  return checksums_.page_size();
}
uint32_t Db::page_count() const {
  std::lock_guard lock(mu_);
  return checksums_.page_count();
}
DbStats Db::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}
bool Db::replica() const {
  std::lock_guard lock(mu_);
  return replica_;
}

bool Db::deleted() const {
  std::lock_guard lock(mu_);
  return deleted_;
}

Position Db::MarkDeleted() {
  // A replica's readers in WAL mode would go on reading the pages they
  // cached. Under their locks the -shm header changes (no mutex held: the
  // write may be a request to this file system), so each drops its cache
  // and, once deleted_ is set, finds the files gone.
  std::optional<ApplyLock> readers_out;
  if (mount_shm_fd_ >= 0) {
    readers_out.emplace(name(), mount_db_fd_, mount_shm_fd_, /*wal=*/true);
    Status told = readers_out->Acquire();
    if (told.ok()) told = readers_out->TellWalReaders(0, uint32_t(pos().txid) + 1);
    if (!told.ok()) {
      spdlog::warn("database {}: connections open on it may read it after the deletion: {}", name(),
                   told.ToString());
    }
  }
  std::lock_guard lock(mu_);
  deleted_ = true;
  readers_out.reset();
  for (FileKind kind : {FileKind::kDatabase, FileKind::kJournal, FileKind::kWal, FileKind::kShm}) {
    SlotFor(kind).reset();
  }
  applied_.reset();
  log_ = LtxLog();
  ltx_index_.Clear();
  checksums_.Reset(checksums_.page_size());
  wal_capture_ = WalCapture();
  rollback_capture_ = RollbackCapture();
  CloseMountFiles();
  const Position ended = readers_see_.value_or(pos_);
  pos_ = {};
  readers_see_.reset();
  return ended;
}

Status Db::CheckNotDeleted() const {
  if (!deleted_) return Status::OK();
  return Status::NotFound("database " + name() + " was deleted");
}

void Db::SetCommitListener(CommitListener listener) {
  std::lock_guard lock(mu_);
  listener_ = std::move(listener);
}

env::File* Db::FileFor(FileKind kind) const {
  switch (kind) {
    case FileKind::kDatabase: return database_.get();
    case FileKind::kJournal: return journal_.get();
    case FileKind::kWal: return wal_.get();
    case FileKind::kShm: return shm_.get();
  }
  return nullptr;
}

std::unique_ptr<env::File>& Db::SlotFor(FileKind kind) {
  switch (kind) {
    case FileKind::kDatabase: return database_;
    case FileKind::kJournal: return journal_;
    case FileKind::kWal: return wal_;
    case FileKind::kShm: break;
  }
  return shm_;
}

Status Db::CheckWritable() const {
  WALSHIP_RETURN_IF_ERROR(CheckNotDeleted());
  if (replica_) {
    return Status::ReadOnly("database " + name() +
                            " is a read-only replica; write on the primary instead");
  }
  if (!failed_.ok()) {
    return Status::IOError("database " + name() +
                           " stopped accepting writes after a failed commit (restart walship "
                           "to recover): " + failed_.message());
  }
  return Status::OK();
}

Status Db::CheckFence(const char* what) const {
  if (!options_.fence || options_.fence->Permits()) return Status::OK();
  return Status::LeaseExpired("database " + name() + ": refusing " + what +
                              ": this node's primary lease is not renewed (etcd unreachable, a "
                              "pause, or a handoff); the transaction is not committed");
}

bool Db::Exists(FileKind kind) const {
  std::lock_guard lock(mu_);
  return FileFor(kind) != nullptr;
}

Result<struct stat> Db::Stat(FileKind kind) const {
  std::lock_guard lock(mu_);
  env::File* file = FileFor(kind);
  if (!file) return Status::NotFound(name() + ": no " + DataFileName(kind) + " file");
  struct stat st;
  if (::fstat(file->fd(), &st) != 0) return Status::FromErrno("stat " + file->path(), errno);
  return st;
}

Status Db::Create(FileKind kind) {
  std::lock_guard lock(mu_);
  WALSHIP_RETURN_IF_ERROR(CheckNotDeleted());
  auto& slot = SlotFor(kind);
  if (slot) return Status::OK();
  if (kind != FileKind::kShm) WALSHIP_RETURN_IF_ERROR(CheckWritable());
  WALSHIP_ASSIGN_OR_RETURN(slot, options_.env->Open(PathFor(kind), env::OpenMode::kCreate));
  return Status::OK();
}

Status Db::Remove(FileKind kind) {
  std::lock_guard lock(mu_);
  if (kind == FileKind::kDatabase) {
    return Status::InvalidArgument("database " + name() + " is deleted with Store::Delete");
  }
  auto& slot = SlotFor(kind);
  if (!slot) return Status::NotFound(name() + ": no " + DataFileName(kind) + " file");
  // Deleting the journal is the commit point of DELETE mode: record the
  // transaction before SQLite can consider it done.
  if (kind == FileKind::kJournal && rollback_capture_.dirty()) {
    WALSHIP_RETURN_IF_ERROR(CommitRollback());
  }
  if (kind == FileKind::kWal && !replica_) {
    WALSHIP_RETURN_IF_ERROR(CaptureWalLocked(/*durable=*/true));
    WALSHIP_RETURN_IF_ERROR(CheckWalCheckpointed());
  }
  WALSHIP_RETURN_IF_ERROR(options_.env->Remove(PathFor(kind)));
  slot.reset();
  if (kind == FileKind::kJournal) journal_hot_ = false;
  if (kind == FileKind::kWal) wal_capture_.OnTruncate(0);
  return Status::OK();
}

Result<size_t> Db::Read(FileKind kind, uint64_t offset, std::span<uint8_t> out) const {
  std::lock_guard lock(mu_);
  env::File* file = FileFor(kind);
  if (!file) return Status::NotFound(name() + ": no " + DataFileName(kind) + " file");
  return file->ReadAt(offset, out);
}

Status Db::Write(FileKind kind, uint64_t offset, std::span<const uint8_t> data) {
  std::lock_guard lock(mu_);
  env::File* file = FileFor(kind);
  if (!file) return Status::NotFound(name() + ": no " + DataFileName(kind) + " file");
  if (kind == FileKind::kShm) return file->WriteAt(offset, data);
  WALSHIP_RETURN_IF_ERROR(CheckWritable());
  switch (kind) {
    case FileKind::kDatabase: {
      // With a WAL and no journal this is a checkpoint: the logical database
      // does not change. Otherwise it is a transaction's page.
      const bool checkpoint = wal_ && !journal_;
      if (checkpoint) WALSHIP_RETURN_IF_ERROR(CaptureWalLocked(/*durable=*/false));
      WALSHIP_RETURN_IF_ERROR(CheckDatabaseWrite(offset, data));
      if (checkpoint) CrashPoint("checkpoint-before-db-write");
      WALSHIP_RETURN_IF_ERROR(file->WriteAt(offset, data));
      if (!checkpoint) rollback_capture_.OnWrite(offset, data.size());
      return Status::OK();
    }
    case FileKind::kJournal:
      // PERSIST mode commits by zeroing the journal header.
      if (offset == 0 && rollback_capture_.dirty() && sqlite::IsZeroedHeader(data)) {
        WALSHIP_RETURN_IF_ERROR(CommitRollback());
      }
      WALSHIP_RETURN_IF_ERROR(file->WriteAt(offset, data));
      NoteJournalWrite(offset, data);
      return Status::OK();
    case FileKind::kWal: {
      // A WAL frame is durable (committed, with its commit frame) once
      // written: check the fence on both sides of the write, so a process
      // paused in between cannot commit after its lease expired. The time is
      // read first: a commit is stamped no later than it was accepted.
      const int64_t now_ms = options_.clock->NowUnixMs();
      WALSHIP_RETURN_IF_ERROR(CheckFence("a WAL write"));
      WALSHIP_RETURN_IF_ERROR(file->WriteAt(offset, data));
      if (Status fenced = CheckFence("a WAL write"); !fenced.ok()) {
        const std::vector<uint8_t> zeros(data.size(), 0);
        WALSHIP_RETURN_IF_ERROR(file->WriteAt(offset, zeros));
        return fenced;
      }
      wal_capture_.OnWrite(offset, data, now_ms);
      return CommitWal(/*durable=*/false);
    }
    case FileKind::kShm: break;
  }
  return Status::OK();
}

Status Db::Truncate(FileKind kind, uint64_t size) {
  std::lock_guard lock(mu_);
  env::File* file = FileFor(kind);
  if (!file) return Status::NotFound(name() + ": no " + DataFileName(kind) + " file");
  if (kind == FileKind::kShm) return file->Truncate(size);
  WALSHIP_RETURN_IF_ERROR(CheckWritable());
  // TRUNCATE mode commits by truncating the journal to zero bytes.
  if (kind == FileKind::kJournal && size == 0 && rollback_capture_.dirty()) {
    WALSHIP_RETURN_IF_ERROR(CommitRollback());
  }
  if (kind == FileKind::kDatabase) WALSHIP_RETURN_IF_ERROR(CheckDatabaseTruncate(size));
  if (kind == FileKind::kWal) WALSHIP_RETURN_IF_ERROR(CaptureWalLocked(/*durable=*/true));
  WALSHIP_RETURN_IF_ERROR(file->Truncate(size));
  if (kind == FileKind::kJournal && size == 0) journal_hot_ = false;
  if (kind == FileKind::kDatabase && (journal_ || !wal_)) rollback_capture_.OnTruncate();
  if (kind == FileKind::kWal) wal_capture_.OnTruncate(size);
  return Status::OK();
}

Status Db::Sync(FileKind kind) {
  std::lock_guard lock(mu_);
  env::File* file = FileFor(kind);
  if (!file) return Status::NotFound(name() + ": no " + DataFileName(kind) + " file");
  if (kind == FileKind::kWal) {
    // SQLite syncs the WAL after a commit (synchronous=FULL) and before a
    // checkpoint: the LTX files must be durable no later than that.
    Status captured = CaptureWalLocked(/*durable=*/true);
    if (captured.IsLeaseExpired() && wal_unseen_writes_) InvalidateUnpublishedFrames();
    WALSHIP_RETURN_IF_ERROR(captured);
  }
  if (kind == FileKind::kDatabase) WALSHIP_RETURN_IF_ERROR(CommitWithoutJournal());
  if (kind != FileKind::kShm) WALSHIP_RETURN_IF_ERROR(SyncPendingLtx());
  return file->Sync();
}

Status Db::Close(FileKind kind) {
  std::lock_guard lock(mu_);
  if (kind != FileKind::kDatabase || !database_) return Status::OK();
  return CommitWithoutJournal();
}

Status Db::CheckWalCheckpointed() const {
  // SQLite removes a WAL only after a checkpoint copied every committed frame
  // into the database file. Anyone else removing one would lose transactions
  // the LTX chain (and so every replica) already has.
  const uint32_t page_size = wal_capture_.page_size();
  std::vector<uint8_t> in_wal(page_size), in_db(page_size);
  for (uint32_t pgno : wal_capture_.IndexedPages()) {
    // A page past the committed size was cut off by a later transaction
    // (VACUUM, DROP TABLE): the database no longer has it.
    if (pgno > checksums_.page_count()) continue;
    WALSHIP_RETURN_IF_ERROR(ReadPage({pgno, FileKind::kWal, *wal_capture_.FindPage(pgno) + 24}, in_wal));
    WALSHIP_RETURN_IF_ERROR(
        ReadPage({pgno, FileKind::kDatabase, uint64_t(pgno - 1) * page_size}, in_db));
    if (in_wal != in_db) {
      return Status::IOError("database " + name() + ": refusing to remove its WAL: page " +
                                 std::to_string(pgno) +
                                 " of a committed transaction is not in the database file yet "
                                 "(only SQLite removes a WAL, after a checkpoint)",
                             EPERM);
    }
  }
  return Status::OK();
}

Status Db::CommitWithoutJournal() {
  // journal_mode=OFF or MEMORY: no journal file marks the commit. SQLite syncs
  // the database file at the end of the transaction (closes it, at the
  // latest, with synchronous=OFF); that is the commit point walship sees.
  if (journal_ || wal_ || !rollback_capture_.dirty()) return Status::OK();
  return CommitRollback();
}

Status Db::CommitWal(bool durable) {
  WALSHIP_RETURN_IF_ERROR(CheckWritable());
  // A request-path WAL write checked the fence itself. A commit read back
  // from a WAL SQLite writes directly (passthrough) was made at some time
  // before it was read: it counts only if the fence still stands after the
  // read, else it may have come after the lease could have expired. It then
  // stays in the WAL, uncaptured, until the lease is renewed (FenceGuard) or
  // the node steps down (FoldWalLocked sets it aside).
  std::function<Status()> admit;
  if (wal_unseen_writes_)
    admit = [this] { return CheckFence("a transaction committed in its WAL"); };
  Status st;
  while (st.ok()) {
    Result<std::optional<TxSpec>> spec = wal_capture_.TakeNextCommitted(wal_.get(), admit);
    if (!spec.ok()) st = spec.status();
    if (!st.ok() || !*spec) break;
    st = CommitTransaction(**spec, /*durable=*/false);
  }
  Status flushed = FlushCommits();
  if (!st.ok()) return st;
  if (durable && flushed.ok()) return SyncPendingLtx();
  return flushed;
}

void Db::InvalidateUnpublishedFrames() {
  // SQLite syncs a commit's frames (synchronous=FULL, or the first frames
  // after a restart) before it publishes them in the wal-index. Refusing that
  // sync fails the transaction, but its frames stay in the WAL and verify, and
  // a later capture would take them for a commit. So, as the request path
  // zeroes a refused frame, zero the header of the first frame SQLite has not
  // published (the -shm's mxFrame; passthrough makes it the data file).
  auto shm = options_.env->Open(PathFor(FileKind::kShm), env::OpenMode::kRead);
  std::array<uint8_t, 2 * sqlite::kWalIndexHdrSize> copies{};
  uint8_t wal_header[sqlite::kWalHeaderSize];
  if (!shm.ok()) return;
  Result<size_t> read = (*shm)->ReadAt(0, copies);
  if (!read.ok() || *read != copies.size()) return;
  read = wal_->ReadAt(0, wal_header);
  if (!read.ok() || *read != sizeof wal_header) return;
  const std::span<const uint8_t> first(copies.data(), sqlite::kWalIndexHdrSize);
  if (!std::equal(first.begin(), first.end(), copies.begin() + sqlite::kWalIndexHdrSize)) return;
  auto index = sqlite::ParseWalIndexHeader(first);
  auto header = sqlite::ParseWalHeader(wal_header);
  if (!index.ok() || !header.ok()) return;  // being written: nothing certain
  // A WAL restarted by this very transaction (its new salts not published
  // yet): none of its frames is.
  const bool same_generation = index->salt1 == header->salt1 && index->salt2 == header->salt2;
  const uint64_t published = same_generation ? index->max_frame : 0;
  const uint64_t frame_size = uint64_t(header->page_size) + sqlite::kWalFrameHeaderSize;
  const uint64_t at = sqlite::kWalHeaderSize + published * frame_size;
  auto size = wal_->Size();
  if (at < wal_capture_.captured_end() || !size.ok() || at + frame_size > *size) return;
  const std::array<uint8_t, sqlite::kWalFrameHeaderSize> zeros{};
  if (!wal_->WriteAt(at, zeros).ok()) return;
  wal_capture_.OnWrite(at, zeros, options_.clock->NowUnixMs());
  spdlog::warn(
      "database {}: refused to sync a transaction's WAL frames (the write fence is closed): "
      "SQLite reports the commit failed; its frames from byte {} are made invalid",
      name(), at);
}

Status Db::CaptureWalLocked(bool durable) {
  if (!wal_) return Status::OK();
  if (wal_unseen_writes_) {
    WALSHIP_RETURN_IF_ERROR(wal_capture_.Rescan(wal_.get(), options_.clock->NowUnixMs()));
  }
  return CommitWal(durable);
}

Status Db::CaptureWal() {
  std::lock_guard lock(mu_);
  if (replica_ || deleted_) return Status::OK();
  Status st = CaptureWalLocked(/*durable=*/false);
  // The frames SQLite wrote directly: their writeback starts now, so its
  // sync before the next checkpoint has little left to write.
  if (wal_) wal_writeback_.Written(wal_->fd(), wal_capture_.captured_end());
  return st;
}

Result<int> Db::OpenDataFile(FileKind kind) {
  const std::string path = PathFor(kind);
  const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("open " + path, errno);
  std::lock_guard lock(mu_);
  if (kind == FileKind::kWal) wal_unseen_writes_ = true;
  return fd;
}

bool Db::WalWrittenDirectly() const {
  std::lock_guard lock(mu_);
  return wal_unseen_writes_;
}

Status Db::CommitRollback() {
  if (pos_.txid == 0) {
    // Nothing is recorded for a file that holds no SQLite database (yet):
    // a creation that was rolled back (an empty file), or a file that is
    // not a database at all (SQLite's own test suite writes its scripts
    // next to its databases). It stays a plain file of this node.
    uint8_t magic[sizeof sqlite::kDbMagic] = {};
    WALSHIP_ASSIGN_OR_RETURN(size_t n, database_->ReadAt(0, magic));
    if (n < sizeof magic || std::memcmp(magic, sqlite::kDbMagic, sizeof magic) != 0) {
      rollback_capture_.Clear();
      return Status::OK();
    }
  }
  WALSHIP_ASSIGN_OR_RETURN(uint32_t page_size, DatabasePageSize());
  WALSHIP_ASSIGN_OR_RETURN(uint32_t commit, DatabasePageCount(page_size));
  TxSpec spec = rollback_capture_.Take(page_size, commit);
  Status st = CommitTransaction(spec, /*durable=*/true);
  Status flushed = FlushCommits();
  return st.ok() ? flushed : st;
}

Result<uint32_t> Db::DatabasePageCount(uint32_t page_size) const {
  WALSHIP_ASSIGN_OR_RETURN(uint64_t size, database_->Size());
  const uint32_t file_pages = uint32_t(size / page_size);
  uint8_t raw[sqlite::kDbHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, database_->ReadAt(0, raw));
  if (n < sizeof raw) return file_pages;
  auto header = sqlite::ParseDbHeader(raw);
  if (!header.ok() || header->page_size != page_size || !sqlite::PageCountValid(*header)) {
    return file_pages;
  }
  return std::min(header->page_count, file_pages);
}

Result<uint32_t> Db::DatabasePageSize() const {
  uint8_t header[100];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, database_->ReadAt(0, header));
  if (n < sizeof header) {
    return Status::Corruption("database " + name() + ": file too short for a SQLite header (" +
                              std::to_string(n) + " bytes)");
  }
  WALSHIP_ASSIGN_OR_RETURN(sqlite::DbHeader h, sqlite::ParseDbHeader(header));
  return h.page_size;
}

Status Db::SyncPendingLtx() {
  WALSHIP_RETURN_IF_ERROR(log_.Sync());
  WALSHIP_RETURN_IF_ERROR(SyncNewFiles(options_.env, LtxDir(), unsynced_ltx_));
  unsynced_ltx_.clear();
  return Status::OK();
}

}  // namespace walship::store
