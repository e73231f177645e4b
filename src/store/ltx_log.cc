#include "store/ltx_log.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <span>
#include <vector>

#include "base/coding.h"
#include "base/crash_point.h"

namespace walship::store {

Result<std::vector<ReceivedLtx>> LtxLog::Open(env::Env* env, const std::string& path,
                                              const std::string& db) {
  env_ = env;
  WALSHIP_ASSIGN_OR_RETURN(file_, env->Open(path, env::OpenMode::kCreate));
  WALSHIP_ASSIGN_OR_RETURN(const uint64_t size, file_->Size());
  std::vector<ReceivedLtx> out;
  uint64_t at = 0;
  Status torn;
  while (at < size) {
    uint8_t raw[8];
    WALSHIP_ASSIGN_OR_RETURN(size_t n, file_->ReadAt(at, raw));
    const uint64_t length = n == sizeof raw ? GetBE64(raw) : 0;
    if (n == sizeof raw && length == 0) {
      // The zeros written ahead (Reserve): the entries end here, unless a
      // torn entry left a hole.
      WALSHIP_ASSIGN_OR_RETURN(const bool all_zero, ZerosFrom(at, size));
      if (!all_zero) torn = Status::Corruption("a zero entry length before written bytes");
      break;
    }
    if (n != sizeof raw || length > size - at - 8) {
      torn = Status::Corruption("entry length cut off or past the end");
      break;
    }
    std::string bytes(length, '\0');
    WALSHIP_ASSIGN_OR_RETURN(n, file_->ReadAt(at + 8, {reinterpret_cast<uint8_t*>(bytes.data()),
                                                        bytes.size()}));
    if (n != length) {
      torn = Status::Corruption("short read");
      break;
    }
    auto entry = ReceivedLtxFromBytes(std::move(bytes), path + " at offset " + std::to_string(at));
    if (!entry.ok()) {
      torn = entry.status();
      break;
    }
    out.push_back(std::move(*entry));
    at += 8 + length;
  }
  if (!torn.ok()) {
    spdlog::warn("database {}: cutting {} bytes off the end of {} at offset {} ({}): an entry "
                 "never made durable; its transaction is recovered from the WAL or rolled back",
                 db, size - at, path, at, torn.ToString());
    WALSHIP_RETURN_IF_ERROR(file_->Truncate(at));
  }
  size_ = at;
  entries_ = out.size();
  reserved_to_ = torn.ok() ? size : at;
  WALSHIP_RETURN_IF_ERROR(Reserve());
  return out;
}

Result<bool> LtxLog::ZerosFrom(uint64_t at, uint64_t size) const {
  std::vector<uint8_t> chunk(64 << 10);
  while (at < size) {
    const size_t want = size_t(std::min<uint64_t>(chunk.size(), size - at));
    WALSHIP_ASSIGN_OR_RETURN(size_t n, file_->ReadAt(at, std::span(chunk).first(want)));
    if (n == 0) return true;
    if (std::any_of(chunk.begin(), chunk.begin() + n, [](uint8_t b) { return b != 0; })) {
      return false;
    }
    at += n;
  }
  return true;
}

Status LtxLog::Reserve() {
  if (reserved_to_ >= size_ + kReserveBytes / 2) return Status::OK();
  const uint64_t from = std::max(reserved_to_, size_);
  const uint64_t to = size_ + kReserveBytes;
  static const std::vector<uint8_t> kZeros(kReserveBytes);
  const Status st = file_->WriteAt(from, std::span(kZeros).first(size_t(to - from)));
  if (!st.ok()) {
    if (!reserve_warned_) {
      spdlog::warn("{}: cannot keep {} KiB written ahead for commits: {}", file_->path(),
                   kReserveBytes >> 10, st.ToString());
      reserve_warned_ = true;
    }
    return Status::OK();  // tried again at the next append
  }
  // The new size and blocks are made durable now, off SQLite's sync, so
  // that the syncs of the commits written over them journal nothing. This
  // sync covers the entries written before too: its failure is the log's.
  WALSHIP_RETURN_IF_ERROR(SyncFile());
  reserved_to_ = to;
  reserve_warned_ = false;
  return Status::OK();
}

void LtxLog::Append(std::string_view ltx) {
  uint8_t length[8];
  PutBE64(length, ltx.size());
  pending_.append(reinterpret_cast<const char*>(length), sizeof length);
  pending_.append(ltx);
  size_ += sizeof length + ltx.size();
  entries_++;
}

Status LtxLog::Flush() {
  if (pending_.empty()) return Status::OK();
  const uint64_t at = size_ - pending_.size();
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(pending_.data()),
                                       pending_.size());
  if (CrashPointArmed("ltx-log-torn")) {
    // A length without its entry: the torn tail Open must cut off.
    WALSHIP_RETURN_IF_ERROR(file_->WriteAt(at, bytes.first(8)));
    CrashPoint("ltx-log-torn");
  }
  WALSHIP_RETURN_IF_ERROR(file_->WriteAt(at, bytes));
  pending_.clear();
  dirty_ = true;
  return Reserve();
}

Status LtxLog::Sync() {
  WALSHIP_RETURN_IF_ERROR(Flush());
  return dirty_ ? SyncFile() : Status::OK();
}

Status LtxLog::SyncFile() {
  WALSHIP_RETURN_IF_ERROR(file_->Sync().WithContext(file_->path()));
  if (!dir_synced_) {
    // The log's own name, created at the first Open, must survive too.
    WALSHIP_RETURN_IF_ERROR(env_->SyncDir(env::DirName(file_->path())));
    dir_synced_ = true;
  }
  dirty_ = false;
  return Status::OK();
}

void LtxLog::ReserveAfterCut() {
  // Nothing written past what is durable is lost if this fails: the next
  // Flush tries again, and its failure counts.
  if (Status st = Reserve(); !st.ok()) {
    spdlog::warn("{}: cannot write zeros ahead for commits: {}", file_->path(), st.ToString());
  }
}

Status LtxLog::Clear() {
  WALSHIP_RETURN_IF_ERROR(file_->Truncate(0).WithContext(file_->path()));
  pending_.clear();
  size_ = 0;
  entries_ = 0;
  dirty_ = false;
  reserved_to_ = 0;  // truncating dropped the zeros too
  ReserveAfterCut();
  return Status::OK();
}

Status LtxLog::Rewind(uint64_t size, size_t entries) {
  pending_.clear();
  WALSHIP_RETURN_IF_ERROR(file_->Truncate(size).WithContext(file_->path()));
  size_ = size;
  entries_ = entries;
  dirty_ = true;
  reserved_to_ = size;
  ReserveAfterCut();
  return Status::OK();
}

}  // namespace walship::store
