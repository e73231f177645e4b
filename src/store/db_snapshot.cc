// The primary's side of replication: snapshots and the LTX files on disk.
#include <algorithm>
#include <chrono>
#include <thread>

#include "base/coding.h"
#include "store/db.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

Status Db::WaitForNoHalfWrittenTransaction(std::unique_lock<std::mutex>& lock) {
  // In rollback-journal modes a writer changes the database file in place
  // before its commit point: wait until no transaction is half-written.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (rollback_capture_.dirty()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Busy("database " + name() + ": a write transaction stayed open for 30 s");
    }
    lock.unlock();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    lock.lock();
  }
  return Status::OK();
}

Result<ltx::Header> Db::WriteSnapshot(const std::string& path) {
  // Held for the whole encoding: a consistent snapshot without copying the
  // database first. Writers wait meanwhile (about a second per 200 MB).
  std::unique_lock lock(mu_);
  WALSHIP_RETURN_IF_ERROR(WaitForNoHalfWrittenTransaction(lock));
  WALSHIP_RETURN_IF_ERROR(CheckNotDeleted());
  if (pos_.txid == 0) return Status::NotFound("database " + name() + " has no transaction yet");
  ltx::Header header{};
  header.page_size = checksums_.page_size();
  header.commit = checksums_.page_count();
  header.min_txid = 1;
  header.max_txid = pos_.txid;
  header.timestamp_ms = options_.clock->NowUnixMs();
  header.node_id = options_.node_id;
  WALSHIP_RETURN_IF_ERROR(WriteEveryPageLocked(path, header, pos_.checksum, /*durable=*/false));
  return header;
}

Result<uint64_t> Db::ExportTo(const std::string& path) {
  std::unique_lock lock(mu_);
  WALSHIP_RETURN_IF_ERROR(WaitForNoHalfWrittenTransaction(lock));
  WALSHIP_RETURN_IF_ERROR(CheckNotDeleted());
  WALSHIP_ASSIGN_OR_RETURN(auto out, options_.env->Open(path, env::OpenMode::kCreateTruncate));
  const uint32_t page_size = checksums_.page_size();
  std::vector<uint8_t> page(page_size);
  for (uint32_t pgno = 1; pgno <= checksums_.page_count(); pgno++) {
    WALSHIP_RETURN_IF_ERROR(ReadLogicalPageLocked(pgno, page));
    WALSHIP_RETURN_IF_ERROR(out->WriteAt(uint64_t(pgno - 1) * page_size, page));
  }
  WALSHIP_RETURN_IF_ERROR(out->Sync());
  return pos_.txid;
}

Status Db::WriteEveryPageLocked(const std::string& path, const ltx::Header& header,
                                uint64_t post_apply_checksum, bool durable) {
  LtxFileWriter writer(options_.env, path, options_.compress);
  WALSHIP_RETURN_IF_ERROR(writer.Begin(header));
  std::vector<uint8_t> page(header.page_size);
  const uint32_t lock_pgno = ltx::LockPgno(header.page_size);
  for (uint32_t pgno = 1; pgno <= header.commit; pgno++) {
    if (pgno == lock_pgno) continue;
    WALSHIP_RETURN_IF_ERROR(ReadLogicalPageLocked(pgno, page));
    WALSHIP_RETURN_IF_ERROR(writer.AddPage(pgno, page));
  }
  return writer.Finish(post_apply_checksum, durable);
}

std::vector<LtxFileInfo> Db::ListLtxFiles() const {
  std::lock_guard lock(mu_);
  return ltx_index_.All();
}

std::vector<Position> Db::NewestPositions(size_t limit) const {
  std::lock_guard lock(mu_);
  return ltx_index_.Newest(limit);
}

Status Db::SealLtxLog() {
  std::lock_guard lock(mu_);
  return SealLog();
}

std::vector<LtxFileInfo> Db::LtxFilesAfter(uint64_t txid, size_t limit) const {
  std::lock_guard lock(mu_);
  return ltx_index_.After(txid, limit);
}

Result<uint64_t> Db::ChecksumAt(uint64_t txid) const {
  std::lock_guard lock(mu_);
  if (auto file = ltx_index_.EndingAt(txid)) return file->post_checksum;
  return Status::NotFound("database " + name() + ": no LTX file ends at txid " +
                          std::to_string(txid));
}

Status Db::RemoveLtxFile(uint64_t max_txid) {
  std::lock_guard lock(mu_);
  auto file = ltx_index_.FileEndingAt(max_txid);
  if (!file) return Status::NotFound("database " + name() + ": no LTX file ends at txid " +
                                     std::to_string(max_txid));
  Status st = options_.env->Remove(file->path);
  if (st.ok() || st.IsNotFound()) {
    ltx_index_.Remove(max_txid);
    // Nothing outlives retention in memory either: a replica that far
    // behind gets a snapshot.
    ltx_index_.TrimRecent(max_txid, 0);
  }
  return st;
}

Status Db::SetLtxFileAside(uint64_t max_txid, const std::string& to_path) {
  std::lock_guard lock(mu_);
  auto file = ltx_index_.FileEndingAt(max_txid);
  if (!file) return Status::NotFound("database " + name() + ": no LTX file ends at txid " +
                                     std::to_string(max_txid));
  WALSHIP_RETURN_IF_ERROR(options_.env->Rename(file->path, to_path));
  ltx_index_.Remove(max_txid);
  return Status::OK();
}

}  // namespace walship::store
