// Applying a transaction on a replica (DESIGN.md §2.2).
//
//   ApplyBatch
//     ContinuingRun       the files continue this position and each other
//                         (a snapshot comes first)
//     KeepReceived        each file into the LTX log (a snapshot, or one too
//                         large for memory, into ltx/); one sync for all
//     ApplyLock           PENDING, then the -shm's read locks (WAL mode) or
//                         EXCLUSIVE, through the mount (no mutex held)
//     WriteRun            each file's pages and size (ApplyWrites: the last
//                         version of each page, written once); the checksum
//                         must equal each file's post-apply one
//     MatchReaderFiles    a -wal and a -shm when page 1 says WAL mode
//     invalidate the kernel's cached pages (no mutex held), rewrite the -shm
//                         header (WAL readers drop their caches), release
//     publish the position: pos() moves only once readers can see it
//     SyncAppliedDatabase at most once a second, after a snapshot and before
//                         the log is sealed: fsync the database, note the
//                         position in `applied` (recovery replays the log after it)
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/coding.h"
#include "base/crash_point.h"
#include "ltx/decoder.h"
#include "ltx/io.h"
#include "sqlite/db_header.h"
#include "sqlite/locks.h"
#include "sqlite/wal_index.h"
#include "store/apply_lock.h"
#include "store/db.h"
#include "store/ltx_file_writer.h"
#include "store/ofd_lock.h"
#include "store/received_ltx.h"

namespace walship::store {

Result<bool> Db::PageOneSaysWalLocked() const {
  uint8_t versions[2] = {0, 0};
  WALSHIP_ASSIGN_OR_RETURN(size_t n, database_->ReadAt(sqlite::kDbWriteVersionOffset, versions));
  return n == 2 && versions[0] == 2 && versions[1] == 2;
}

Result<bool> Db::MatchReaderFilesLocked() {
  // An empty -wal is no WAL to SQLite in rollback mode, so it is never
  // removed; keeping its inode also keeps FUSE passthrough's backing file
  // (a new file could not be opened while an old descriptor lives).
  WALSHIP_ASSIGN_OR_RETURN(readers_wal_, PageOneSaysWalLocked());
  if (!readers_wal_) return false;
  bool created = false;
  for (FileKind kind : {FileKind::kWal, FileKind::kShm}) {
    std::unique_ptr<env::File>& slot = SlotFor(kind);
    if (slot) continue;
    WALSHIP_ASSIGN_OR_RETURN(slot, options_.env->Open(PathFor(kind), env::OpenMode::kCreate));
    created = true;
  }
  return created;
}

Status Db::OpenMountFiles(MountAccess* mount) {
  if (mount_db_fd_ < 0) {
    WALSHIP_ASSIGN_OR_RETURN(mount_db_fd_, mount->OpenThroughMount(name(), FileKind::kDatabase));
  }
  if (mount_shm_fd_ < 0 && Exists(FileKind::kShm)) {
    auto fd = mount->OpenThroughMount(name(), FileKind::kShm);
    if (fd.ok()) mount_shm_fd_ = *fd;  // gone meanwhile: nobody holds it
  }
  if (mount_shm_fd_ >= 0 && !mount_shm_held_) HoldShmForReaders();
  return Status::OK();
}

void Db::HoldShmForReaders() {
  // DMS as a connection holds it: SQLite's first connection to a -shm nobody
  // holds empties it and rebuilds the header from the WAL. The write lock,
  // so that nobody does that or writes the WAL (a connection opened while
  // this node was the primary; the fence keeper may hold it for them too).
  // With both, the header walship writes under the readers' locks
  // (ApplyLock::TellWalReaders, right after this) is the one they use.
  // Tried again at the next batch when a connection holds either.
  if (!SetOfdLock(mount_shm_fd_, F_RDLCK, sqlite::kShmDmsLock, 1)) return;
  if (!SetOfdLock(mount_shm_fd_, F_WRLCK, sqlite::kShmWriteLock, 1)) return;
  mount_shm_held_ = true;
  // Too short to map (new, or emptied by a first connection): nobody uses
  // it. Grown through the mount, so the kernel's idea of its size grows too.
  Result<struct stat> st = Stat(FileKind::kShm);
  if (st.ok() && st->st_size < off_t(sqlite::kWalIndexPageSize) &&
      ::ftruncate(mount_shm_fd_, off_t(sqlite::kWalIndexPageSize)) != 0) {
    st = Status::FromErrno("growing its -shm", errno);
  }
  if (!st.ok()) spdlog::warn("database {}: {}", name(), st.status().ToString());
}

void Db::CloseMountFiles() {
  for (int* fd : {&mount_db_fd_, &mount_shm_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
  mount_shm_held_ = false;
}

void Db::StartLtxPages(const ltx::Header& header) {
  if (header.IsSnapshot() || checksums_.page_size() != header.page_size) {
    checksums_.Reset(header.page_size);
  }
  checksums_.Resize(header.commit);
}

Result<ltx::Trailer> Db::WriteLtxPages(ltx::Reader* reader, ltx::Header* header,
                                       ApplyWrites* writes) {
  ltx::Decoder decoder(reader);
  WALSHIP_ASSIGN_OR_RETURN(*header, decoder.DecodeHeader());
  StartLtxPages(*header);
  uint32_t pgno = 0;
  std::span<const uint8_t> page;
  while (true) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, decoder.DecodePage(&pgno, &page));
    if (!more) break;
    WALSHIP_RETURN_IF_ERROR(writes->Page(pgno, page));
    checksums_.Set(pgno, decoder.last_page_checksum());
  }
  WALSHIP_ASSIGN_OR_RETURN(ltx::Trailer trailer, decoder.Finish());
  WALSHIP_RETURN_IF_ERROR(writes->Resize(uint64_t(header->commit) * header->page_size));
  return trailer;
}

Status Db::WriteKeptPages(const ReceivedLtx& received, ApplyWrites* writes) {
  const ltx::Header& header = received.header;
  StartLtxPages(header);
  for (size_t i = 0; i < received.pages.size(); i++) {
    WALSHIP_RETURN_IF_ERROR(writes->Page(received.pages[i].pgno, received.PageBytes(i)));
    checksums_.Set(received.pages[i].pgno, received.pages[i].checksum);
  }
  return writes->Resize(uint64_t(header.commit) * header.page_size);
}

Status Db::DecodeKeptFile(const LtxFileInfo& ltx, ApplyWrites* writes) {
  std::unique_ptr<env::File> file;
  std::optional<ltx::FileReader> from_file;
  std::optional<ltx::SpanReader> from_memory;
  ltx::Reader* reader = nullptr;
  if (ltx.bytes) {
    reader = &from_memory.emplace(*ltx.bytes);
  } else {
    WALSHIP_ASSIGN_OR_RETURN(file, options_.env->Open(ltx.path, env::OpenMode::kRead));
    reader = &from_file.emplace(file.get());
  }
  ltx::Header header{};
  return WriteLtxPages(reader, &header, writes).status();
}

Status Db::WriteReceivedPages(const ReceivedLtx& received, const LtxFileInfo& ltx,
                              ApplyWrites* writes) {
  WALSHIP_RETURN_IF_ERROR(received.pages_kept ? WriteKeptPages(received, writes)
                                              : DecodeKeptFile(ltx, writes));
  if (checksums_.DatabaseChecksum() != received.trailer.post_apply_checksum) {
    return Status::PosMismatch("database " + name() + ": checksum after applying " +
                               ReceivedName(ltx) + " is " + Hex16(checksums_.DatabaseChecksum()) +
                               ", file says " + Hex16(received.trailer.post_apply_checksum));
  }
  return Status::OK();
}

std::string Db::ReceivedName(const LtxFileInfo& ltx) const {
  if (!ltx.path.empty()) return ltx.path;
  return "txid " + std::to_string(ltx.max_txid) + " (held in " +
         env::JoinPath(dir(), LtxLog::kFileName) + ")";
}

size_t Db::ContinuingRun(std::span<const ReceivedLtx> batch, Status* why_not) const {
  std::lock_guard lock(mu_);
  Position at = pos_;
  for (size_t i = 0; i < batch.size(); i++) {
    const ltx::Header& h = batch[i].header;
    if (h.IsSnapshot() && i > 0) {
      *why_not = Status::InvalidArgument("database " + name() +
                                         ": a snapshot must be the first file of a batch");
      return 0;
    }
    if (!h.IsSnapshot() && (h.min_txid != at.txid + 1 || h.pre_apply_checksum != at.checksum)) {
      *why_not = Status::PosMismatch(
          "database " + name() + " is at txid " + std::to_string(at.txid) + " checksum " +
          Hex16(at.checksum) + "; the primary sent txid " + std::to_string(h.min_txid) +
          " after checksum " + Hex16(h.pre_apply_checksum));
      return i;
    }
    at = {h.max_txid, batch[i].trailer.post_apply_checksum};
  }
  return batch.size();
}

Status Db::KeepSnapshot(ReceivedLtx& snapshot, std::vector<LtxFileInfo>* kept) {
  env::Env* env = options_.env;
  const std::string path =
      env::JoinPath(LtxDir(), ltx::FileName(snapshot.header.min_txid, snapshot.header.max_txid));
  if (snapshot.bytes.empty()) {
    WALSHIP_RETURN_IF_ERROR(env->Rename(snapshot.tmp_path, path));
    WALSHIP_RETURN_IF_ERROR(SyncNewFiles(env, LtxDir(), {path}));
  } else {
    WALSHIP_RETURN_IF_ERROR(env->WriteFileAtomic(
        path, {reinterpret_cast<const uint8_t*>(snapshot.bytes.data()), snapshot.bytes.size()},
        /*sync=*/true));
  }
  // Only once it is durable: what came before no longer chains to it.
  WALSHIP_RETURN_IF_ERROR(log_.Reset());
  for (const LtxFileInfo& f : ltx_index_.All()) {
    if (f.path != path) (void)env->Remove(f.path);
  }
  ltx_index_.Clear();
  LtxFileInfo file{snapshot.header.min_txid, snapshot.header.max_txid, path,
                   snapshot.trailer.post_apply_checksum, nullptr};
  ltx_index_.Add(file);
  kept->push_back(std::move(file));
  return Status::OK();
}

Result<std::vector<LtxFileInfo>> Db::KeepReceived(std::span<ReceivedLtx> run) {
  std::lock_guard lock(mu_);
  LogMark start{log_.bytes(), log_.entries()};
  auto kept = KeepReceivedLocked(run, &start);
  if (!kept.ok()) {
    // Nothing of the run that is not in a durable file stays: a retry, or
    // another primary's history, must not find it in the log or in memory.
    ltx_index_.RemoveRecentAfter(std::max(pos_.txid, ltx_index_.LastFileTxid()));
    if (Status st = log_.Rewind(start.bytes, start.entries); !st.ok()) {
      failed_ = st;
      spdlog::error(
          "database {}: could not cut the LTX log back after a failed apply: {}; "
          "applying stops until restart",
          name(), st.ToString());
    }
  }
  return kept;
}

Result<std::vector<LtxFileInfo>> Db::KeepReceivedLocked(std::span<ReceivedLtx> run,
                                                        LogMark* start) {
  env::Env* env = options_.env;
  WALSHIP_RETURN_IF_ERROR(failed_);
  std::vector<LtxFileInfo> kept;
  std::vector<std::string> unsynced;  // files of their own, for SyncNewFiles
  for (ReceivedLtx& ltx : run) {
    const ltx::Header& h = ltx.header;
    if (h.IsSnapshot()) {
      WALSHIP_RETURN_IF_ERROR(KeepSnapshot(ltx, &kept));
      *start = {};  // the log was emptied
    } else if (ltx.bytes.empty()) {
      // Too large for the log: a file of its own, after the log's run.
      WALSHIP_RETURN_IF_ERROR(SealLog());
      *start = {log_.bytes(), log_.entries()};
      const std::string path = env::JoinPath(LtxDir(), ltx::FileName(h.min_txid, h.max_txid));
      WALSHIP_RETURN_IF_ERROR(env->Rename(ltx.tmp_path, path));
      unsynced.push_back(path);
      kept.push_back({h.min_txid, h.max_txid, path, ltx.trailer.post_apply_checksum, nullptr});
      ltx_index_.Add(kept.back());
    } else {
      log_.Append(ltx.bytes);
      kept.push_back({h.min_txid, h.max_txid, "", ltx.trailer.post_apply_checksum,
                      std::make_shared<const std::string>(std::move(ltx.bytes))});
      ltx_index_.AddRecent(kept.back());
    }
  }
  WALSHIP_RETURN_IF_ERROR(log_.Sync());
  WALSHIP_RETURN_IF_ERROR(SyncNewFiles(env, LtxDir(), unsynced));
  return kept;
}

Status Db::WriteAppliedMarker() {
  if (!applied_) {
    WALSHIP_ASSIGN_OR_RETURN(applied_, options_.env->Open(env::JoinPath(dir(), kAppliedFile),
                                                          env::OpenMode::kCreate));
  }
  const std::string text = pos_.PosFileText();
  return applied_->WriteAt(0, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

Status Db::WriteRun(std::span<const ReceivedLtx> run, const std::vector<LtxFileInfo>& kept,
                    size_t* applied, std::vector<ApplyWrites::ByteRange>* changed) {
  WALSHIP_ASSIGN_OR_RETURN(const uint64_t size, database_->Size());
  ApplyWrites writes(database_.get(), size);
  Status st;
  for (size_t i = 0; i < run.size(); i++) {
    st = WriteReceivedPages(run[i], kept[i], &writes);
    // On failure the file matches no position: record what it holds, so
    // the primary sees a mismatch and sends a snapshot.
    pos_ = {run[i].header.max_txid, checksums_.DatabaseChecksum()};
    if (!st.ok()) {
      st = st.WithContext("applying " + ReceivedName(kept[i]));
      break;
    }
    *applied = i + 1;
  }
  const Status written = FinishWrites(&writes);
  *changed = writes.Changed();
  // Page 1 always changes as readers see it (the change counter); a range
  // from offset 0 covers it already (pages are written whole).
  if (changed->empty() || changed->front().offset != 0) {
    changed->insert(changed->begin(), {0, checksums_.page_size()});
  }
  if (!written.ok()) {
    *applied = 0;
    pos_.checksum = checksums_.DatabaseChecksum();
    return written;
  }
  return st;
}

Status Db::FinishWrites(ApplyWrites* writes) {
  const Status written = writes->Finish();
  if (written.ok()) return written;
  // Which pages reached the file is not known: the page checksums are read
  // back from it, so a position taken from them says what it holds.
  const uint32_t page_size = checksums_.page_size();
  Result<uint64_t> size = database_->Size();
  Status rebuilt = size.status();
  if (size.ok() && page_size != 0)
    rebuilt = RebuildChecksums(page_size, uint32_t(*size / page_size));
  if (!rebuilt.ok()) failed_ = rebuilt;
  return written.WithContext("writing the database file " + database_->path());
}

Status Db::ApplyBatch(std::span<ReceivedLtx> batch, MountAccess* mount) {
  // Only this thread applies, so the run checked here still continues the
  // position once the locks are taken.
  Status stopped;  // why the run ends before the batch does
  const size_t run = ContinuingRun(batch, &stopped);
  if (run == 0) return stopped;
  // 1. Every file into the LTX log (or ltx/), made durable together before
  //    any page of the run is written: whatever part of the run reaches the
  //    database file, recovery can replay it (RepairChecksumMismatch).
  WALSHIP_ASSIGN_OR_RETURN(const std::vector<LtxFileInfo> kept, KeepReceived(batch.first(run)));
  // 2. The pages, with readers kept out.
  if (mount) WALSHIP_RETURN_IF_ERROR(OpenMountFiles(mount));
  std::vector<ApplyWrites::ByteRange> changed;
  size_t applied = 0;
  Status st;
  {
    ApplyLock readers_out(name(), mount_db_fd_, mount_shm_fd_, readers_wal_);
    if (mount) WALSHIP_RETURN_IF_ERROR(readers_out.Acquire());
    std::unique_lock lock(mu_);
    readers_see_ = pos_;
    st = WriteRun(batch.first(run), kept, &applied, &changed);
    // Page 1 may have come in WAL mode (a snapshot, a journal mode change):
    // readers then need the -wal and -shm before they are let in.
    const bool page_one =
        std::any_of(changed.begin(), changed.end(),
                    [](const ApplyWrites::ByteRange& r) { return r.offset == 0; });
    Result<bool> created = page_one ? MatchReaderFilesLocked() : false;
    const uint32_t db_pages = checksums_.page_count();
    const uint32_t change = uint32_t(pos_.txid);
    lock.unlock();
    if (mount) {
      for (const ApplyWrites::ByteRange& r : changed) {
        mount->InvalidateFile(name(), FileKind::kDatabase, r.offset, r.length);
      }
      if (created.ok() && *created) mount->InvalidateNames(name());
      if (Status told = readers_out.TellWalReaders(db_pages, change); !told.ok()) {
        spdlog::error("database {}: {}; its readers may not see the new pages until they reopen",
                      name(), told.ToString());
      }
    }
    if (!created.ok() && st.ok()) st = created.status();
  }
  // 3. Readers are back in and see the new pages: only now does the position
  //    move for them (-pos, read-your-writes waits, downstream streams).
  {
    std::lock_guard lock(mu_);
    readers_see_.reset();
    for (size_t i = 0; i < applied; i++) {
      last_ltx_ = batch[i].header;
      stats_.commits++;
      stats_.ltx_bytes += batch[i].file_size;
      if (listener_) {
        listener_(name(), batch[i].header, batch[i].trailer.post_apply_checksum);
      }
    }
  }
  if (!st.ok()) {
    spdlog::error("database {}: {}", name(), st.ToString());
    return st;
  }
  // 4. The log holds the run durably; the database file catches up now and then.
  WALSHIP_RETURN_IF_ERROR(SyncAppliedDatabase(/*now=*/batch.front().header.IsSnapshot()));
  return stopped;
}

Status Db::SyncAppliedDatabase(bool now) {
  std::lock_guard lock(mu_);
  const bool seal = LogFull();
  const auto at = options_.clock->Monotonic();
  if (!now && !seal && at - database_synced_ < kDatabaseSyncInterval) return Status::OK();
  WALSHIP_RETURN_IF_ERROR(SyncDatabaseAndMark());
  database_synced_ = at;
  if (seal) SealLogWhenFull();
  return Status::OK();
}

Status Db::SyncDatabaseAndMark() {
  WALSHIP_RETURN_IF_ERROR(database_->Sync().WithContext("database " + name()));
  // The marker need not be durable: it only bounds how far back recovery
  // replays, and an older one replays more.
  if (Status marked = WriteAppliedMarker(); !marked.ok()) {
    spdlog::warn("database {}: could not note the applied position: {}", name(), marked.ToString());
  }
  return Status::OK();
}

}  // namespace walship::store
