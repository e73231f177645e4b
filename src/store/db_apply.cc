// Applying a transaction on a replica (DESIGN.md §2.2).
//
//   ApplyBatch
//     ContinuingRun       the files continue this position and each other
//                         (a snapshot comes first)
//     AdoptReceivedLtx    each file into ltx/; SyncNewFiles for all of them
//     ApplyLock           PENDING, then EXCLUSIVE, through the mount (no mutex held)
//     WriteReceivedPages  pages into the database file, truncate; the checksum
//                         must equal each file's post-apply one
//     fsync the database once, note the position in `applied`
//     invalidate the kernel's cached pages (no mutex held), release the locks
//     publish the position: pos() moves only once readers can see it
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
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
#include "store/ltx_file_writer.h"
#include "store/received_ltx.h"

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

Result<ltx::Trailer> Db::WriteLtxPages(ltx::Reader* reader, ltx::Header* header,
                                       std::vector<ByteRange>* changed) {
  ltx::Decoder decoder(reader);
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
  return trailer;
}

Status Db::WriteReceivedPages(const ReceivedLtx& ltx, const std::string& path,
                              std::vector<ByteRange>* changed) {
  std::unique_ptr<env::File> file;
  std::optional<ltx::FileReader> from_file;
  std::optional<ltx::SpanReader> from_memory;
  ltx::Reader* reader = nullptr;
  if (ltx.bytes.empty()) {
    WALSHIP_ASSIGN_OR_RETURN(file, options_.env->Open(path, env::OpenMode::kRead));
    reader = &from_file.emplace(file.get());
  } else {
    reader = &from_memory.emplace(ltx.bytes);
  }
  ltx::Header header{};
  WALSHIP_ASSIGN_OR_RETURN(ltx::Trailer trailer, WriteLtxPages(reader, &header, changed));
  if (checksums_.DatabaseChecksum() != trailer.post_apply_checksum) {
    return Status::PosMismatch("database " + name() + ": checksum after applying " + path +
                               " is " + Hex16(checksums_.DatabaseChecksum()) + ", file says " +
                               Hex16(trailer.post_apply_checksum));
  }
  return Status::OK();
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

Result<std::string> Db::AdoptReceivedLtx(ReceivedLtx& ltx) {
  env::Env* env = options_.env;
  const std::string path =
      env::JoinPath(LtxDir(), ltx::FileName(ltx.header.min_txid, ltx.header.max_txid));
  if (ltx.bytes.empty()) {
    WALSHIP_RETURN_IF_ERROR(env->Rename(ltx.tmp_path, path));
  } else {
    const std::string tmp = path + ".tmp";
    WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(tmp, env::OpenMode::kCreateTruncate));
    WALSHIP_RETURN_IF_ERROR(file->WriteAt(
        0, {reinterpret_cast<const uint8_t*>(ltx.bytes.data()), ltx.bytes.size()}));
    WALSHIP_RETURN_IF_ERROR(env->Rename(tmp, path));
  }
  std::lock_guard lock(mu_);
  if (ltx.header.IsSnapshot()) {
    // Earlier files are from before the snapshot and no longer chain to it.
    for (const LtxFileInfo& f : ltx_index_.All()) {
      if (f.path != path) (void)env->Remove(f.path);
    }
    ltx_index_.Clear();
  }
  ltx_index_.Add({ltx.header.min_txid, ltx.header.max_txid, path,
                  ltx.trailer.post_apply_checksum, nullptr});
  return path;
}

Status Db::WriteAppliedMarker() {
  if (!applied_) {
    WALSHIP_ASSIGN_OR_RETURN(applied_, options_.env->Open(env::JoinPath(dir(), kAppliedFile),
                                                          env::OpenMode::kCreate));
  }
  const std::string text = pos_.PosFileText();
  return applied_->WriteAt(0, {reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

std::vector<Db::ByteRange> Db::Merged(std::vector<ByteRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const ByteRange& a, const ByteRange& b) { return a.offset < b.offset; });
  std::vector<ByteRange> out;
  for (const ByteRange& r : ranges) {
    if (!out.empty() && r.offset <= out.back().offset + out.back().length) {
      out.back().length = std::max(out.back().length, r.offset + r.length - out.back().offset);
    } else {
      out.push_back(r);
    }
  }
  return out;
}

Status Db::ApplyBatch(std::span<ReceivedLtx> batch, MountAccess* mount) {
  // Only this thread applies, so the run checked here still continues the
  // position once the locks are taken.
  Status stopped;  // why the run ends before the batch does
  const size_t run = ContinuingRun(batch, &stopped);
  if (run == 0) return stopped;
  // 1. Every file into ltx/, made durable together before any page of
  //    the run is written: whatever part of the run reaches the database
  //    file, recovery can replay it (ReplayAfterMarker).
  std::vector<std::string> paths;
  for (size_t i = 0; i < run; i++) {
    WALSHIP_ASSIGN_OR_RETURN(std::string path, AdoptReceivedLtx(batch[i]));
    paths.push_back(std::move(path));
  }
  WALSHIP_RETURN_IF_ERROR(SyncNewFiles(options_.env, LtxDir(), paths));
  // 2. The pages, with readers kept out, and one sync of the database.
  if (mount) WALSHIP_RETURN_IF_ERROR(OpenMountFiles(mount));
  std::vector<ByteRange> changed;
  size_t applied = 0;
  std::string failed = "the database file";
  Status st;
  {
    ApplyLock readers_out(name(), mount_db_fd_, mount_shm_fd_);
    if (mount) WALSHIP_RETURN_IF_ERROR(readers_out.Acquire());
    std::unique_lock lock(mu_);
    readers_see_ = pos_;
    for (size_t i = 0; i < run && st.ok(); i++) {
      if (i == 1) CrashPoint("apply-mid-batch");
      st = WriteReceivedPages(batch[i], paths[i], &changed);
      // On failure the file matches no position: record what it holds, so
      // the primary sees a mismatch and sends a snapshot.
      pos_ = {batch[i].header.max_txid, checksums_.DatabaseChecksum()};
      if (st.ok()) applied = i + 1;
      else failed = paths[i];
    }
    if (st.ok()) st = database_->Sync();
    // The marker need not be durable, nor even written: it only bounds how
    // far back recovery replays, and an older one replays more.
    if (Status marked = st.ok() ? WriteAppliedMarker() : Status::OK(); !marked.ok()) {
      spdlog::warn("database {}: could not note the applied position: {}", name(),
                   marked.ToString());
    }
    lock.unlock();
    if (mount) {
      for (const ByteRange& r : Merged(std::move(changed))) {
        mount->InvalidateDatabase(name(), r.offset, r.length);
      }
    }
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
    spdlog::error("database {}: applying {} failed: {}", name(), failed, st.ToString());
    return st;
  }
  return stopped;
}

}  // namespace walship::store
