// Start-up recovery: reconcile the SQLite files with the LTX files after a
// crash, in both directions (DESIGN.md §2.1), and prove it with the checksum.
//
//   Open
//     LoadLastLtx       newest LTX that verifies gives the position
//     LtxIndex::Load    every other retained LTX verified; a bad one set aside
//     LoadLog           the transactions in the LTX log after that position
//                       (a torn tail cut off), sealed into one file
//     RecoverJournal    a hot journal whose transaction has no LTX is rolled back
//     RecoverWal        committed WAL frames without an LTX become LTX files;
//                       an uncommitted WAL tail is cut off
//     RebuildChecksums  per-page checksums of the database as committed,
//                       compared with the position (a mismatch is repaired by a
//                       full-database LTX and logged)
#include <spdlog/spdlog.h>

#include <algorithm>

#include "base/coding.h"
#include "sqlite/db_header.h"
#include "sqlite/journal.h"
#include "sqlite/wal.h"
#include "store/db.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

Status Db::Open() {
  std::lock_guard lock(mu_);
  env::Env* env = options_.env;
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(LtxDir()));
  WALSHIP_ASSIGN_OR_RETURN(database_, env->Open(PathFor(FileKind::kDatabase),
                                                env::OpenMode::kCreate));
  for (FileKind kind : {FileKind::kJournal, FileKind::kWal, FileKind::kShm}) {
    auto file = env->Open(PathFor(kind), env::OpenMode::kReadWrite);
    if (file.ok()) SlotFor(kind) = std::move(*file);
    else if (!file.status().IsNotFound()) return file.status();
  }
  // Clearing the -shm makes the first SQLite connection rebuild the
  // wal-index from the (recovered) WAL. In place: a process still holding a
  // mapping from before a crash (FUSE passthrough maps this very file) dies
  // of SIGBUS at its next transaction instead of writing the WAL unseen.
  if (shm_) WALSHIP_RETURN_IF_ERROR(shm_->Truncate(0));
  WALSHIP_RETURN_IF_ERROR(LoadLastLtx());
  WALSHIP_RETURN_IF_ERROR(ltx_index_.Load(options_.env, LtxDir(),
                                          env::JoinPath(dir(), kCorruptLtxDir), last_ltx_path_));
  WALSHIP_RETURN_IF_ERROR(LoadLog());
  WALSHIP_RETURN_IF_ERROR(RecoverJournal());
  WALSHIP_RETURN_IF_ERROR(RecoverWal());
  spdlog::info("database {}: opened at txid {} checksum {} ({} pages of {} bytes)", name(),
               pos_.txid, Hex16(pos_.checksum), checksums_.page_count(),
               checksums_.page_size());
  return Status::OK();
}

Status Db::LoadLastLtx() {
  env::Env* env = options_.env;
  WALSHIP_ASSIGN_OR_RETURN(auto names, env->ListDir(LtxDir()));
  std::vector<std::pair<uint64_t, std::string>> files;
  for (const std::string& n : names) {
    uint64_t min_txid = 0, max_txid = 0;
    if (ltx::ParseFileName(n, &min_txid, &max_txid)) {
      files.emplace_back(max_txid, n);
    } else if (n.ends_with(".tmp")) {
      (void)env->Remove(env::JoinPath(LtxDir(), n));  // an LTX never finished
    }
  }
  std::sort(files.rbegin(), files.rend());
  for (const auto& [max_txid, n] : files) {
    std::string path = env::JoinPath(LtxDir(), n);
    ltx::Header header{};
    ltx::Trailer trailer{};
    Status st = VerifyLtxFile(env, path, &header, &trailer);
    if (st.ok()) {
      pos_ = {header.max_txid, trailer.post_apply_checksum};
      last_ltx_ = header;
      last_ltx_path_ = path;
      return Status::OK();
    }
    // Only a file that was never made durable can be torn; its transaction is
    // still in the WAL or the database file and is recovered from there.
    spdlog::warn("database {}: removing unusable newest LTX file {}: {}", name(), path,
                 st.ToString());
    WALSHIP_RETURN_IF_ERROR(env->Remove(path));
  }
  return Status::OK();
}

Status Db::LoadLog() {
  const std::string path = env::JoinPath(dir(), LtxLog::kFileName);
  WALSHIP_ASSIGN_OR_RETURN(std::vector<ReceivedLtx> entries, log_.Open(options_.env, path, name()));
  size_t taken = 0;
  for (size_t i = 0; i < entries.size(); i++) {
    ReceivedLtx& e = entries[i];
    if (e.header.max_txid <= pos_.txid) continue;  // sealed before a crash emptied the log
    if (e.header.min_txid != pos_.txid + 1 || e.header.pre_apply_checksum != pos_.checksum) {
      spdlog::warn("database {}: {} holds txid {} after txid {}, which it does not continue; "
                   "ignoring it and the {} entries after it", name(), path, e.header.min_txid,
                   pos_.txid, entries.size() - i - 1);
      break;
    }
    pos_ = {e.header.max_txid, e.trailer.post_apply_checksum};
    last_ltx_ = e.header;
    ltx_index_.AddRecent({e.header.min_txid, e.header.max_txid, "", pos_.checksum,
                          std::make_shared<const std::string>(std::move(e.bytes))});
    taken++;
  }
  if (taken) spdlog::info("database {}: read txids up to {} from {}", name(), pos_.txid, path);
  // The log starts empty: whatever it held is now in a file, or was not
  // part of the chain.
  WALSHIP_RETURN_IF_ERROR(SealLog());
  WALSHIP_RETURN_IF_ERROR(log_.Clear());
  if (taken) last_ltx_path_ = ltx_index_.All().back().path;
  return Status::OK();
}

Status Db::RecoverJournal() {
  if (!journal_) return Status::OK();
  uint8_t raw[sqlite::kJournalHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, journal_->ReadAt(0, raw));
  if (n < sizeof raw) return Status::OK();
  auto header = sqlite::ParseJournalHeader(raw);
  if (!header.ok() || !header->valid_magic) return Status::OK();  // not hot

  auto page_size = DatabasePageSize();
  if (page_size.ok()) {
    WALSHIP_ASSIGN_OR_RETURN(uint32_t pages, DatabasePageCount(*page_size));
    WALSHIP_RETURN_IF_ERROR(RebuildChecksums(*page_size, pages));
  }
  if (page_size.ok() && checksums_.DatabaseChecksum() == pos_.checksum) {
    // The LTX was written before the crash (or no page was touched): the
    // transaction stands and the journal is only leftover.
    spdlog::info("database {}: removing journal of a transaction already recorded as txid {}",
                 name(), pos_.txid);
    // SQLite shrinks the file only after finalizing the journal; finish that.
    WALSHIP_ASSIGN_OR_RETURN(uint64_t size, database_->Size());
    const uint64_t committed = uint64_t(checksums_.page_count()) * *page_size;
    if (size > committed) {
      WALSHIP_RETURN_IF_ERROR(database_->Truncate(committed));
      WALSHIP_RETURN_IF_ERROR(database_->Sync());
    }
  } else {
    uint32_t initial_pages = 0;
    Status st = sqlite::ReadJournal(
        journal_.get(), 0,
        [&](uint32_t pgno, std::span<const uint8_t> page) {
          return database_->WriteAt(uint64_t(pgno - 1) * page.size(), page);
        },
        &initial_pages);
    if (st.ok()) {
      WALSHIP_RETURN_IF_ERROR(
          database_->Truncate(uint64_t(initial_pages) * header->page_size));
      WALSHIP_RETURN_IF_ERROR(database_->Sync());
      spdlog::info("database {}: rolled back a hot journal to {} pages", name(), initial_pages);
    } else if (!st.IsNotFound()) {  // NotFound: SQLite would ignore this journal too
      return st.WithContext("database " + name() + ": rolling back journal");
    }
  }
  journal_.reset();
  WALSHIP_RETURN_IF_ERROR(options_.env->Remove(PathFor(FileKind::kJournal)));
  return options_.env->SyncDir(options_.dir);
}

Status Db::RecoverWal() {
  std::optional<sqlite::WalScan> scan;
  if (wal_) {
    WALSHIP_ASSIGN_OR_RETURN(scan, sqlite::ScanWal(wal_.get()));
    if (!scan->header_valid) scan.reset();
  }
  if (!scan) {
    auto page_size = DatabasePageSize();
    uint32_t ps = page_size.ok() ? *page_size : 0;
    uint32_t pages = 0;
    if (ps) {
      WALSHIP_ASSIGN_OR_RETURN(pages, DatabasePageCount(ps));
    }
    WALSHIP_RETURN_IF_ERROR(RebuildChecksums(ps, pages));
    if (checksums_.DatabaseChecksum() != pos_.checksum) {
      return RepairChecksumMismatch(checksums_.DatabaseChecksum(), TxSpec{});
    }
    return Status::OK();
  }

  // Frames before `start` are in LTX files already; later ones are not.
  uint64_t start = sqlite::kWalHeaderSize;
  if (last_ltx_.wal_size && last_ltx_.wal_salt1 == scan->header.salt1 &&
      last_ltx_.wal_salt2 == scan->header.salt2) {
    start = last_ltx_.wal_offset + last_ltx_.wal_size;
  }
  if (scan->file_size > scan->committed_end) {
    spdlog::info("database {}: cutting {} bytes of uncommitted WAL frames", name(),
                 scan->file_size - scan->committed_end);
    WALSHIP_RETURN_IF_ERROR(wal_->Truncate(scan->committed_end));
  }
  WalCapture::FrameIndex index;
  std::optional<uint32_t> base_commit;
  for (const sqlite::WalFrameRef& f : scan->frames) {
    if (f.offset >= start) break;
    index[f.pgno].push_back(f.offset);
    if (f.commit) base_commit = f.commit;
  }
  const uint32_t page_size = scan->header.page_size;
  wal_capture_.Restore(scan->header, start, index);
  if (!base_commit) {
    WALSHIP_ASSIGN_OR_RETURN(uint64_t size, database_->Size());
    base_commit = uint32_t(size / page_size);
  }
  WALSHIP_RETURN_IF_ERROR(RebuildChecksums(page_size, *base_commit));
  if (checksums_.DatabaseChecksum() != pos_.checksum) {
    TxSpec covered;  // the repair LTX stands for the WAL frames before `start`
    covered.wal_offset = sqlite::kWalHeaderSize;
    covered.wal_size = start - sqlite::kWalHeaderSize;
    covered.wal_salt1 = scan->header.salt1;
    covered.wal_salt2 = scan->header.salt2;
    WALSHIP_RETURN_IF_ERROR(RepairChecksumMismatch(checksums_.DatabaseChecksum(), covered));
  }
  while (true) {
    WALSHIP_ASSIGN_OR_RETURN(std::optional<TxSpec> spec, wal_capture_.TakeNextCommitted(wal_.get()));
    if (!spec) return SyncPendingLtx();
    WALSHIP_RETURN_IF_ERROR(CommitTransaction(*spec, /*durable=*/false));
    WALSHIP_RETURN_IF_ERROR(FlushCommits());
    spdlog::info("database {}: recorded txid {} from committed WAL frames", name(), pos_.txid);
  }
}

Status Db::RebuildChecksums(uint32_t page_size, uint32_t page_count) {
  checksums_.Reset(page_size);
  if (page_size == 0) return Status::OK();
  constexpr uint32_t kChunkPages = 256;
  std::vector<uint8_t> chunk(size_t(kChunkPages) * page_size);
  for (uint32_t first = 1; first <= page_count; first += kChunkPages) {
    uint32_t n = std::min(kChunkPages, page_count - first + 1);
    std::span<uint8_t> buf(chunk.data(), size_t(n) * page_size);
    WALSHIP_ASSIGN_OR_RETURN(size_t got, database_->ReadAt(uint64_t(first - 1) * page_size, buf));
    std::fill(buf.begin() + got, buf.end(), 0);
    for (uint32_t i = 0; i < n; i++) {
      std::span<uint8_t> page = buf.subspan(size_t(i) * page_size, page_size);
      if (wal_capture_.FindPage(first + i)) {
        WALSHIP_RETURN_IF_ERROR(ReadLogicalPageLocked(first + i, page));
      }
      checksums_.Set(first + i, ltx::PageChecksum(first + i, page));
    }
  }
  checksums_.Resize(page_count);
  return Status::OK();
}

uint64_t Db::ReplayBase() const {
  auto file = options_.env->Open(env::JoinPath(dir(), kAppliedFile), env::OpenMode::kRead);
  if (!file.ok()) return 0;
  uint8_t raw[64];
  auto n = (*file)->ReadAt(0, raw);
  if (!n.ok()) return 0;
  auto marker = Position::ParsePosFileText({reinterpret_cast<const char*>(raw), *n});
  if (!marker.ok()) return 0;
  // A marker from another history (before a snapshot, or set aside as
  // diverged) names no file of this chain.
  auto at = ltx_index_.EndingAt(marker->txid);
  return at && at->post_checksum == marker->checksum ? marker->txid : 0;
}

Status Db::ReplayLtxFilesAfter(uint64_t txid) {
  WALSHIP_ASSIGN_OR_RETURN(const uint64_t size, database_->Size());
  ApplyWrites writes(database_.get(), size);
  const Status replayed = ReplayInto(txid, &writes);
  WALSHIP_RETURN_IF_ERROR(FinishWrites(&writes));
  WALSHIP_RETURN_IF_ERROR(replayed);
  return database_->Sync();
}

Status Db::ReplayInto(uint64_t txid, ApplyWrites* writes) {
  env::Env* env = options_.env;
  std::optional<Position> at;
  const std::vector<LtxFileInfo> files = ltx_index_.After(txid, SIZE_MAX);
  for (size_t i = 0; i < files.size(); i++) {
    const LtxFileInfo& f = files[i];
    // A recent transaction (from the LTX log) is read from memory.
    std::unique_ptr<env::File> file;
    std::unique_ptr<ltx::Reader> reader;
    std::string_view head;
    uint8_t raw[ltx::kHeaderSize];
    if (f.bytes) {
      head = std::string_view(*f.bytes).substr(0, ltx::kHeaderSize);
      reader = std::make_unique<ltx::SpanReader>(*f.bytes);
    } else {
      WALSHIP_ASSIGN_OR_RETURN(file, env->Open(f.path, env::OpenMode::kRead));
      WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, raw));
      head = std::string_view(reinterpret_cast<const char*>(raw), n);
      reader = std::make_unique<ltx::FileReader>(file.get());
    }
    auto peek = ltx::ParseHeader({reinterpret_cast<const uint8_t*>(head.data()), head.size()});
    const bool continues =
        peek.ok() && (!at || peek->IsSnapshot() ||
                      (peek->min_txid == at->txid + 1 && peek->pre_apply_checksum == at->checksum));
    if (!continues) {
      // Written after the last sync and not all made durable: never applied.
      for (size_t j = i; j < files.size(); j++) {
        if (files[j].path.empty()) continue;
        spdlog::warn("database {}: removing {}: it does not continue txid {}", name(),
                     files[j].path, at ? at->txid : txid);
        (void)env->Remove(files[j].path);
        ltx_index_.Remove(files[j].max_txid);
      }
      break;
    }
    ltx::Header header{};
    WALSHIP_ASSIGN_OR_RETURN(ltx::Trailer trailer, WriteLtxPages(reader.get(), &header, writes));
    at = Position{header.max_txid, trailer.post_apply_checksum};
    pos_ = *at;
    last_ltx_ = header;
    if (!f.path.empty()) last_ltx_path_ = f.path;
  }
  return Status::OK();
}

Status Db::RepairChecksumMismatch(uint64_t computed, const TxSpec& wal) {
  // A newest LTX written by another node was received from the primary: this
  // node wrote into the database only what such files hold, so any mismatch
  // is an apply that a crash cut short (a snapshot's first pages, part of a
  // transaction), whatever the checksum now. A replica must never make up a
  // TXID of its own.
  const bool received = last_ltx_.node_id != options_.node_id;
  if (!last_ltx_path_.empty() && (received || computed == last_ltx_.pre_apply_checksum)) {
    // A replica applies batches, syncing the database once per batch, so
    // after a crash it may hold any part of the batches since the one
    // `applied` names; their files were made durable first: replay them. A
    // primary whose database is exactly as before its newest LTX crashed
    // before that transaction's pages reached the file: the LTX is durable,
    // so the transaction stands. Any other mismatch means the files hold
    // something no LTX describes, which must not be overwritten (on a primary
    // it is committed data).
    const uint64_t base = received ? ReplayBase() : last_ltx_.min_txid - 1;
    Status st = ReplayLtxFilesAfter(base);
    if (st.ok() && wal_capture_.has_header()) {
      st = RebuildChecksums(last_ltx_.page_size, last_ltx_.commit);
    }
    if (st.ok() && checksums_.DatabaseChecksum() == pos_.checksum) {
      spdlog::info("database {}: completed txid {} from the LTX files after txid {} after a "
                   "crash", name(), pos_.txid, base);
      return Status::OK();
    }
    spdlog::warn("database {}: replaying the LTX files after txid {} gives checksum {}, not {}{}",
                 name(), base, Hex16(checksums_.DatabaseChecksum()), Hex16(pos_.checksum),
                 st.ok() ? "" : " (" + st.ToString() + ")");
    computed = checksums_.DatabaseChecksum();
  }
  if (pos_.txid != 0) {
    spdlog::error("database {}: checksum after recovery is {} but txid {} recorded {}; writing "
                  "txid {} with every page so every copy converges on the file's contents",
                  name(), Hex16(computed), pos_.txid, Hex16(pos_.checksum), pos_.txid + 1);
  } else {
    spdlog::info("database {}: adopting existing database file as txid 1", name());
  }
  ltx::Header header{};
  header.flags = 0;
  header.page_size = checksums_.page_size();
  header.commit = checksums_.page_count();
  header.min_txid = pos_.txid == 0 ? 1 : pos_.txid + 1;
  header.max_txid = pos_.txid + 1;
  header.timestamp_ms = options_.clock->NowUnixMs();
  header.pre_apply_checksum = pos_.checksum;
  header.node_id = options_.node_id;
  header.wal_offset = wal.wal_offset;
  header.wal_size = wal.wal_size;
  header.wal_salt1 = wal.wal_salt1;
  header.wal_salt2 = wal.wal_salt2;
  std::string path = env::JoinPath(LtxDir(), ltx::FileName(header.min_txid, header.max_txid));
  WALSHIP_RETURN_IF_ERROR(WriteEveryPageLocked(path, header, computed, /*durable=*/true));
  pos_ = {header.max_txid, computed};
  last_ltx_ = header;
  ltx_index_.Add({header.min_txid, header.max_txid, path, computed, nullptr});
  return Status::OK();
}

}  // namespace walship::store
