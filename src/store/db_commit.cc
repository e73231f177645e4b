// The commit pipeline: one captured transaction becomes the next LTX.
//
//   CommitTransaction
//     ExpandToAllPages   (first commit, or the page size changed)
//     SealLog            (before a large transaction, which gets its own file)
//     EncodeLtx          (read pages, checksum them, encode into memory, or
//                         into ltx/*.tmp when the transaction is large)
//     skip if no page changed (a rolled-back or replayed transaction)
//     apply checksums; append to the LTX log (or finish and rename the file);
//     advance the position; SealLogWhenFull
//   FlushCommits         (once per batch) write the log's new entries in one
//                        go, then tell the listener (the stream) of each
#include <spdlog/spdlog.h>

#include "base/crash_point.h"
#include "ltx/encoder.h"
#include "ltx/merge.h"
#include "store/db.h"
#include "store/ltx_file_writer.h"

namespace walship::store {
namespace {

struct EncodedPage {
  uint32_t pgno;
  uint64_t checksum;
};

}  // namespace

Status Db::ReadPage(const PageSource& source, std::span<uint8_t> out) const {
  env::File* file = FileFor(source.file);
  if (!file) {
    return Status::IOError("database " + name() + ": page " + std::to_string(source.pgno) +
                           " is in the " + DataFileName(source.file) + " file, which is gone");
  }
  if (source.file == FileKind::kWal) {
    // A frame just captured was read back whole to verify it.
    const std::span<const uint8_t> read = wal_capture_.ReadBack(source.offset, out.size());
    if (!read.empty()) {
      std::copy(read.begin(), read.end(), out.begin());
      return Status::OK();
    }
  }
  WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(source.offset, out));
  // Past the end of the database file a page reads as zeros, as SQLite's own
  // short-read handling does for a file with a hole.
  std::fill(out.begin() + n, out.end(), 0);
  return Status::OK();
}

Status Db::ReadLogicalPageLocked(uint32_t pgno, std::span<uint8_t> out) const {
  if (auto frame = wal_capture_.FindPage(pgno); frame && wal_) {
    return ReadPage({pgno, FileKind::kWal, *frame + 24}, out);
  }
  return ReadPage({pgno, FileKind::kDatabase, uint64_t(pgno - 1) * out.size()}, out);
}

Status Db::CommitTransaction(const TxSpec& tx, bool durable) {
  Status st = RecordTransaction(tx, durable);
  // A closed write fence refuses the commit but leaves the database sound.
  if (!st.ok() && !st.IsLeaseExpired() && failed_.ok()) {
    failed_ = st;
    spdlog::error(
        "database {}: could not record transaction {}: {}; writes now fail until "
        "restart",
        name(), pos_.txid + 1, st.ToString());
  }
  return st;
}

Status Db::RecordTransaction(const TxSpec& captured, bool durable) {
  TxSpec tx = captured;
  const bool full = checksums_.page_size() != tx.page_size;
  if (full) {
    // First transaction, or the page size changed (VACUUM): the LTX carries
    // every page so a replica can rebuild the database from it alone.
    tx.pages.clear();
    for (uint32_t pgno = 1; pgno <= tx.commit; pgno++) {
      auto frame = wal_capture_.FindPage(pgno);
      if (frame && tx.wal_size) {
        tx.pages.push_back({pgno, FileKind::kWal, *frame + 24});
      } else {
        tx.pages.push_back({pgno, FileKind::kDatabase, uint64_t(pgno - 1) * tx.page_size});
      }
    }
  }

  ltx::Header header{};
  header.flags = 0;
  header.page_size = tx.page_size;
  header.commit = tx.commit;
  header.min_txid = header.max_txid = pos_.txid + 1;
  header.timestamp_ms = tx.commit_time_ms ? tx.commit_time_ms : options_.clock->NowUnixMs();
  header.pre_apply_checksum = pos_.checksum;
  header.wal_offset = tx.wal_offset;
  header.wal_size = tx.wal_size;
  header.wal_salt1 = tx.wal_salt1;
  header.wal_salt2 = tx.wal_salt2;
  header.node_id = options_.node_id;

  // A small transaction is encoded in memory and appended to the LTX log; a
  // large one gets a file of its own, after the log is sealed so the files
  // stay in TXID order (a failure there leaves the transaction out cleanly).
  const bool large = uint64_t(tx.pages.size()) * tx.page_size > ReceivedLtx::kInMemoryLimit;
  if (large) WALSHIP_RETURN_IF_ERROR(SealLog());
  // Only a large transaction has a file of its own to name.
  const std::string path =
      large ? env::JoinPath(LtxDir(), ltx::FileName(header.min_txid, header.max_txid)) : "";
  encode_buffer_.clear();
  ltx::StringWriter memory(&encode_buffer_);
  ltx::Encoder encoder(&memory, options_.compress);
  std::optional<LtxFileWriter> file;
  if (large) {
    file.emplace(options_.env, path, options_.compress);
    WALSHIP_RETURN_IF_ERROR(file->Begin(header));
  } else {
    WALSHIP_RETURN_IF_ERROR(encoder.EncodeHeader(header));
  }

  const uint32_t lock_pgno = ltx::LockPgno(tx.page_size);
  std::vector<uint8_t>& page = page_buffer_;
  page.resize(tx.page_size);
  std::vector<EncodedPage> encoded;
  encoded.reserve(tx.pages.size());
  bool changed = full || tx.commit != checksums_.page_count();
  for (const PageSource& source : tx.pages) {
    if (source.pgno == lock_pgno || source.pgno > tx.commit) continue;
    WALSHIP_RETURN_IF_ERROR(ReadPage(source, page));
    WALSHIP_RETURN_IF_ERROR(file ? file->AddPage(source.pgno, page)
                                 : encoder.EncodePage(source.pgno, page));
    // The encoder hashed the page already: its checksum, without a second pass.
    const uint64_t checksum = file ? file->last_page_checksum() : encoder.last_page_checksum();
    changed = changed || checksum != checksums_.Get(source.pgno);
    encoded.push_back({source.pgno, checksum});
  }
  if (!changed) {
    // Nothing differs from the last LTX: SQLite rolled back a hot journal, or
    // the frames were padding. No new TXID.
    if (file) file->Abandon();
    return Status::OK();
  }
  if (tx.wal_size == 0) {
    // Rollback mode commits here (the journal is being finalized). Refusing
    // leaves a hot journal, which SQLite rolls back, restoring committed pages.
    if (Status fenced = CheckFence("a commit"); !fenced.ok()) {
      if (file) file->Abandon();
      return fenced;
    }
  }

  if (full) checksums_.Reset(tx.page_size);
  checksums_.Resize(tx.commit);
  for (const EncodedPage& p : encoded) checksums_.Set(p.pgno, p.checksum);
  const uint64_t post = checksums_.DatabaseChecksum();

  CrashPoint("commit-before-ltx-finish");
  if (file) {
    WALSHIP_RETURN_IF_ERROR(file->Finish(post, durable));
    if (!durable && unsynced_ltx_.size() <= kSyncEachUpTo) unsynced_ltx_.push_back(path);
    ltx_index_.Add({header.min_txid, header.max_txid, path, post, nullptr});
    stats_.ltx_bytes += file->bytes_written();
  } else {
    WALSHIP_RETURN_IF_ERROR(encoder.Finish(post).WithContext("database " + name() + ": txid " +
                                                             std::to_string(header.max_txid)));
    // Copied out at exactly its size: the recent chain holds it in memory.
    auto bytes = std::make_shared<const std::string>(encode_buffer_);
    log_.Append(*bytes);  // written by FlushCommits, or the Sync here
    if (durable) WALSHIP_RETURN_IF_ERROR(log_.Sync());
    stats_.ltx_bytes += bytes->size();
    ltx_index_.AddRecent({header.min_txid, header.max_txid, "", post, std::move(bytes)});
  }
  pos_ = {header.max_txid, post};
  last_ltx_ = header;
  stats_.commits++;
  spdlog::debug("database {}: txid {} ({} pages, commit {})", name(), pos_.txid, encoded.size(),
                tx.commit);
  unannounced_.push_back({header, post});
  // The transaction stands in the log whatever happens here.
  SealLogWhenFull();
  return Status::OK();
}

Status Db::FlushCommits() {
  Status flushed = log_.Flush();
  if (!flushed.ok() && failed_.ok()) {
    // The transactions already count (position, recent chain): writes stop,
    // and recovery at the next start rebuilds them from the WAL.
    failed_ = flushed;
    spdlog::error("database {}: could not write the LTX log: {}; writes now fail until restart",
                  name(), flushed.ToString());
  }
  std::vector<Announcement> announce;
  announce.swap(unannounced_);
  if (!flushed.ok()) return flushed;
  for (const auto& [header, post] : announce) {
    CrashPoint("commit-after-ltx");
    if (listener_) listener_(name(), header, post);
  }
  // After the stream heard of them: starting the writeback may wait for the disk.
  log_.StartWriteback();
  return Status::OK();
}

bool Db::LogFull() const {
  if (log_.entries() < seal_backoff_) return false;
  return log_.entries() >= options_.seal_txids || log_.bytes() >= options_.seal_bytes;
}

void Db::SealLogWhenFull() {
  if (!LogFull()) return;
  if (Status st = SealLog(); !st.ok()) {
    seal_backoff_ = log_.entries() + options_.seal_txids;
    spdlog::error(
        "database {}: could not seal the LTX log: {}; its transactions stay in "
        "the log, and sealing is tried again after {} more",
        name(), st.ToString(), options_.seal_txids);
  }
}

Status Db::SealLog() {
  if (log_.entries() == 0) return Status::OK();
  // The log holds the transactions after the newest file (or, after a crash
  // between a seal and the log's clearing, none it still needs).
  const std::vector<const LtxFileInfo*> run = ltx_index_.RecentRun(ltx_index_.LastFileTxid());
  if (run.empty()) return log_.Clear();
  std::vector<std::string_view> files;
  files.reserve(run.size());
  for (const LtxFileInfo* t : run) files.push_back(*t->bytes);
  const uint64_t min = run.front()->min_txid, max = run.back()->max_txid;
  const uint64_t post_checksum = run.back()->post_checksum;
  const std::string path = env::JoinPath(LtxDir(), ltx::FileName(min, max));
  // The log's entries were encoded here, or verified when received or read.
  Result<std::string> merged = ltx::Merge(files, options_.compress, ltx::MergeInputs::kTrusted);
  if (!merged.ok()) return merged.status().WithContext("database " + name() + ": sealing " + path);
  CrashPoint("seal-before-file");
  WALSHIP_RETURN_IF_ERROR(options_.env->WriteFileAtomic(
      path, {reinterpret_cast<const uint8_t*>(merged->data()), merged->size()}, /*sync=*/true));
  ltx_index_.Add({min, max, path, post_checksum, nullptr});
  CrashPoint("seal-before-log-clear");
  WALSHIP_RETURN_IF_ERROR(log_.Clear());
  seal_backoff_ = 0;
  ltx_index_.TrimRecent(max, kRecentBytes);
  spdlog::debug("database {}: sealed txids {}..{} into {} ({} bytes)", name(), min, max, path,
                merged->size());
  return Status::OK();
}

}  // namespace walship::store
