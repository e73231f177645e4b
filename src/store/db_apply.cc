// Applying a transaction on a replica (DESIGN.md §2.2).
//
//   ApplyLtx
//     CheckContinues      the file continues this position (or is a snapshot)
//     ApplyLock           PENDING, then EXCLUSIVE, through the mount (no mutex held)
//     WriteLtxPages       pages into the database file, truncate, fsync
//     advance the position (the checksum must equal the file's post-apply one)
//     invalidate the kernel's cached pages (no mutex held), release the locks
//     publish the position: pos() moves only once readers can see it
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/coding.h"
#include "base/crash_point.h"
#include "ltx/decoder.h"
#include "ltx/io.h"
#include "sqlite/db_header.h"
#include "sqlite/locks.h"
#include "store/apply_lock.h"
#include "store/db.h"

namespace walship::store {
namespace {

// Test hook: WALSHIP_TEST_APPLY_PAGE_DELAY_US=<n> pauses n µs after each page
// an apply writes, so tests can prove readers never see a half-applied
// transaction (the window is otherwise a few microseconds).
void TestPageDelay() {
  static const long delay_us = TestHookNumber("WALSHIP_TEST_APPLY_PAGE_DELAY_US");
  if (delay_us > 0) std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
}

}  // namespace

void Db::PatchReplicaHeader(uint64_t offset, std::span<uint8_t> out) const {
  // Page 1 as replica readers see it: legacy (rollback) file format so they
  // need no WAL index, a change counter that moves with every applied TXID so
  // their page cache is dropped, and a version-valid-for that differs from it
  // so SQLite sizes the database by the file (which apply keeps exact).
  auto patch = [&](uint64_t at, uint8_t value) {
    if (at >= offset && at < offset + out.size()) out[at - offset] = value;
  };
  if (offset >= sqlite::kDbHeaderSize) return;
  patch(sqlite::kDbWriteVersionOffset, 1);
  patch(sqlite::kDbReadVersionOffset, 1);
  uint8_t counter[4], valid_for[4];
  PutBE32(counter, uint32_t(pos_.txid));
  PutBE32(valid_for, ~uint32_t(pos_.txid));
  for (int i = 0; i < 4; i++) {
    patch(sqlite::kDbChangeCounterOffset + i, counter[i]);
    patch(sqlite::kDbVersionValidForOffset + i, valid_for[i]);
  }
}

Status Db::OpenMountFiles(MountAccess* mount) {
  if (mount_db_fd_ < 0) {
    WALSHIP_ASSIGN_OR_RETURN(mount_db_fd_, mount->OpenThroughMount(name(), FileKind::kDatabase));
  }
  if (mount_shm_fd_ < 0 && Exists(FileKind::kShm)) {
    auto fd = mount->OpenThroughMount(name(), FileKind::kShm);
    if (fd.ok()) mount_shm_fd_ = *fd;  // gone meanwhile: nobody holds it
  }
  return Status::OK();
}

void Db::CloseMountFiles() {
  for (int* fd : {&mount_db_fd_, &mount_shm_fd_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

Status Db::WriteLtxPages(const std::string& path, ltx::Header* header,
                         std::vector<ByteRange>* changed) {
  WALSHIP_ASSIGN_OR_RETURN(auto file, options_.env->Open(path, env::OpenMode::kRead));
  ltx::FileReader reader(file.get());
  ltx::Decoder decoder(&reader);
  WALSHIP_ASSIGN_OR_RETURN(*header, decoder.DecodeHeader());
  if (header->IsSnapshot() || checksums_.page_size() != header->page_size) {
    checksums_.Reset(header->page_size);
  }
  checksums_.Resize(header->commit);
  // Page 1 always changes as readers see it (the change counter).
  changed->push_back({0, header->page_size});
  uint32_t pgno = 0;
  std::string page;
  while (true) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, decoder.DecodePage(&pgno, &page));
    if (!more) break;
    uint64_t at = uint64_t(pgno - 1) * header->page_size;
    WALSHIP_RETURN_IF_ERROR(database_->WriteAt(
        at, {reinterpret_cast<const uint8_t*>(page.data()), page.size()}));
    checksums_.Set(pgno, decoder.last_page_checksum());
    TestPageDelay();
    if (changed->back().offset + changed->back().length == at) {
      changed->back().length += header->page_size;
    } else if (at != 0) {
      changed->push_back({at, header->page_size});
    }
  }
  WALSHIP_ASSIGN_OR_RETURN(ltx::Trailer trailer, decoder.Finish());
  const uint64_t size = uint64_t(header->commit) * header->page_size;
  WALSHIP_ASSIGN_OR_RETURN(uint64_t old_size, database_->Size());
  WALSHIP_RETURN_IF_ERROR(database_->Truncate(size));
  if (old_size > size) changed->push_back({size, old_size - size});
  WALSHIP_RETURN_IF_ERROR(database_->Sync());
  if (checksums_.DatabaseChecksum() != trailer.post_apply_checksum) {
    return Status::PosMismatch("database " + name() + ": checksum after applying " + path +
                               " is " + Hex16(checksums_.DatabaseChecksum()) + ", file says " +
                               Hex16(trailer.post_apply_checksum));
  }
  return Status::OK();
}

Status Db::CheckContinues(const std::string& path) const {
  WALSHIP_ASSIGN_OR_RETURN(auto file, options_.env->Open(path, env::OpenMode::kRead));
  uint8_t raw[ltx::kHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, file->ReadAt(0, raw));
  WALSHIP_ASSIGN_OR_RETURN(ltx::Header peek, ltx::ParseHeader({raw, n}));
  std::lock_guard lock(mu_);
  if (!peek.IsSnapshot() &&
      (peek.min_txid != pos_.txid + 1 || peek.pre_apply_checksum != pos_.checksum)) {
    return Status::PosMismatch("database " + name() + " is at txid " + std::to_string(pos_.txid) +
                               " checksum " + Hex16(pos_.checksum) + "; " + path +
                               " starts at txid " + std::to_string(peek.min_txid) +
                               " checksum " + Hex16(peek.pre_apply_checksum));
  }
  return Status::OK();
}

Status Db::ApplyLtx(const std::string& path, MountAccess* mount) {
  // Only this thread applies, so the position checked here still holds once
  // the locks are taken.
  WALSHIP_RETURN_IF_ERROR(CheckContinues(path));
  if (mount) WALSHIP_RETURN_IF_ERROR(OpenMountFiles(mount));
  ltx::Header header{};
  std::vector<ByteRange> changed;
  Status st;
  {
    ApplyLock readers_out(name(), mount_db_fd_, mount_shm_fd_);
    if (mount) WALSHIP_RETURN_IF_ERROR(readers_out.Acquire());
    std::unique_lock lock(mu_);
    readers_see_ = pos_;
    st = WriteLtxPages(path, &header, &changed);
    // On failure the file no longer matches any position: record what it is,
    // so the primary sees a mismatch and sends a snapshot.
    pos_ = {header.max_txid, checksums_.DatabaseChecksum()};
    lock.unlock();
    if (mount) {
      for (const ByteRange& r : changed) mount->InvalidateDatabase(name(), r.offset, r.length);
    }
  }
  // Readers are back in and see the new pages: only now does the position
  // move for them (-pos, read-your-writes waits, downstream streams).
  std::lock_guard lock(mu_);
  readers_see_.reset();
  if (!st.ok()) {
    spdlog::error("database {}: applying {} failed: {}", name(), path, st.ToString());
    return st;
  }
  last_ltx_ = header;
  stats_.commits++;
  struct stat file_stat;
  if (::stat(path.c_str(), &file_stat) == 0) stats_.ltx_bytes += uint64_t(file_stat.st_size);
  if (listener_) listener_(name(), header, pos_.checksum, path);
  return Status::OK();
}

}  // namespace walship::store
