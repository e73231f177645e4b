#include "store/ltx_log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>

#include "base/coding.h"
#include "base/crash_point.h"

namespace walship::store {
namespace {

constexpr uint8_t kEndMark[8] = {};  // an entry length of zero

}  // namespace

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
    if (n == sizeof raw && length == 0) break;  // the end mark: what follows was emptied
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
  reserved_to_ = 0;
  Reserve();
  return out;
}

void LtxLog::Reserve() {
  if (reserved_to_ >= size_ + kReserveBytes / 2 || file_->fd() < 0) return;
  if (::fallocate(file_->fd(), FALLOC_FL_KEEP_SIZE, off_t(size_), off_t(kReserveBytes)) == 0) {
    reserved_to_ = size_ + kReserveBytes;
    reserve_warned_ = false;
    return;
  }
  if (!reserve_warned_) {
    spdlog::warn("{}: cannot keep {} KiB allocated ahead for commits: {}", file_->path(),
                 kReserveBytes >> 10, std::strerror(errno));
    reserve_warned_ = true;
  }
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
  if (CrashPointArmed("ltx-log-torn")) {
    // A length without its entry: the torn tail Open must cut off.
    WALSHIP_RETURN_IF_ERROR(
        file_->WriteAt(at, {reinterpret_cast<const uint8_t*>(pending_.data()), 8}));
    CrashPoint("ltx-log-torn");
  }
  // The entries and the end mark after them, in one write.
  pending_.append(reinterpret_cast<const char*>(kEndMark), sizeof kEndMark);
  Status written =
      file_->WriteAt(at, {reinterpret_cast<const uint8_t*>(pending_.data()), pending_.size()});
  pending_.resize(pending_.size() - sizeof kEndMark);
  WALSHIP_RETURN_IF_ERROR(written);
  pending_.clear();
  dirty_ = true;
  Reserve();
  return Status::OK();
}

void LtxLog::StartWriteback() { writeback_.Written(file_->fd(), size_ - pending_.size()); }

Status LtxLog::Sync() {
  WALSHIP_RETURN_IF_ERROR(Flush());
  if (!dirty_) return Status::OK();
  WALSHIP_RETURN_IF_ERROR(file_->Sync().WithContext(file_->path()));
  if (!dir_synced_) {
    // The log's own name, created at the first Open, must survive too.
    WALSHIP_RETURN_IF_ERROR(env_->SyncDir(env::DirName(file_->path())));
    dir_synced_ = true;
  }
  dirty_ = false;
  return Status::OK();
}

Status LtxLog::Clear() {
  WALSHIP_RETURN_IF_ERROR(file_->WriteAt(0, kEndMark).WithContext(file_->path()));
  pending_.clear();
  size_ = 0;
  entries_ = 0;
  dirty_ = true;  // not needed for safety (see the header), but cheap at the next sync
  return Status::OK();
}

Status LtxLog::Reset() {
  WALSHIP_RETURN_IF_ERROR(file_->Truncate(0).WithContext(file_->path()));
  pending_.clear();
  size_ = 0;
  entries_ = 0;
  dirty_ = false;
  reserved_to_ = 0;  // truncating freed the reserve too
  Reserve();
  return Status::OK();
}

Status LtxLog::Rewind(uint64_t size, size_t entries) {
  pending_.clear();
  WALSHIP_RETURN_IF_ERROR(file_->Truncate(size).WithContext(file_->path()));
  size_ = size;
  entries_ = entries;
  dirty_ = true;
  return Status::OK();
}

}  // namespace walship::store
