// What may change a primary's database file (DESIGN.md §1.4, docs/security.md,
// "Committed data in the mount"): a transaction's writes while its rollback
// journal is hot, and a WAL checkpoint copying committed frames back. Anything
// else — `dd` into the file, `truncate`, a journal_mode=OFF or MEMORY writer
// once the database holds a transaction — is refused with EPERM before a byte
// changes, so nothing committed is lost and nothing stray is captured. The
// checks read only walship's own files (no FUSE round trip) and run only on
// writes to the database file, never on a WAL-mode commit's path.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "sqlite/journal.h"
#include "sqlite/wal.h"
#include "store/db.h"

namespace walship::store {
namespace {

Status Refused(const std::string& db, const std::string& what, const std::string& why) {
  return Status::IOError("database " + db + ": refusing " + what + ": " + why, EPERM);
}

}  // namespace

void Db::NoteJournalWrite(uint64_t offset, std::span<const uint8_t> data) {
  if (offset != 0 || data.size() < sizeof sqlite::kJournalMagic) return;
  journal_hot_ = std::memcmp(data.data(), sqlite::kJournalMagic, sizeof sqlite::kJournalMagic) == 0;
}

uint64_t Db::CommittedSizeLocked() const {
  return uint64_t(checksums_.page_count()) * checksums_.page_size();
}

Status Db::CheckDatabaseWrite(uint64_t offset, std::span<const uint8_t> data) const {
  if (pos_.txid == 0) return Status::OK();  // nothing committed to protect yet
  const std::string what =
      std::to_string(data.size()) + " bytes at offset " + std::to_string(offset);
  if (wal_ && !journal_) {
    // A checkpoint: every byte must be a committed frame's, page by page.
    const uint32_t page_size = wal_capture_.page_size();
    if (page_size == 0) {
      return Refused(name(), "a write of " + what, "its WAL holds no committed frame to copy");
    }
    for (uint64_t at = offset; at < offset + data.size();) {
      const uint32_t pgno = uint32_t(at / page_size) + 1;
      const uint64_t in_page = at % page_size;
      const size_t n = size_t(std::min<uint64_t>(page_size - in_page, offset + data.size() - at));
      WALSHIP_ASSIGN_OR_RETURN(bool committed,
                               InCommittedFrame(pgno, in_page, data.subspan(at - offset, n)));
      if (!committed) {
        return Refused(name(), "a write of " + what,
                       "page " + std::to_string(pgno) +
                           " would not hold any committed version of it (only a checkpoint "
                           "writes this file in WAL mode)");
      }
      at += n;
    }
    return Status::OK();
  }
  if (journal_ && journal_hot_) return Status::OK();  // a transaction, captured at its commit
  return Refused(name(), "a write of " + what,
                 "no transaction is under way (no hot journal, no WAL); SQLite writes a "
                 "database through its journal or WAL (journal_mode OFF and MEMORY are not "
                 "supported once a database holds a transaction)");
}

Result<bool> Db::InCommittedFrame(uint32_t pgno, uint64_t in_page,
                                  std::span<const uint8_t> bytes) const {
  std::vector<uint8_t> frame(bytes.size());
  auto matches = [&](uint64_t frame_offset) -> Result<bool> {
    WALSHIP_ASSIGN_OR_RETURN(
        size_t n, wal_->ReadAt(frame_offset + sqlite::kWalFrameHeaderSize + in_page, frame));
    return n == bytes.size() && std::equal(frame.begin(), frame.end(), bytes.begin());
  };
  // Newest first: a checkpoint copies the newest version in its snapshot,
  // which is nearly always walship's newest too; with writers committing
  // meanwhile (walship records a commit as its frames are written, before
  // SQLite publishes it in -shm) it can be an older one.
  const std::span<const uint64_t> frames = wal_capture_.CommittedFrames(pgno);
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    WALSHIP_ASSIGN_OR_RETURN(bool same, matches(*it));
    if (same) return true;
  }
  return false;
}

Status Db::ForEachCommittedFrame(
    const std::function<Status(uint64_t, const sqlite::WalFrameHeader&)>& fn) const {
  const uint64_t frame_size = uint64_t(wal_capture_.page_size()) + sqlite::kWalFrameHeaderSize;
  uint8_t header[sqlite::kWalFrameHeaderSize];
  for (uint64_t at = sqlite::kWalHeaderSize; at + frame_size <= wal_capture_.captured_end();
       at += frame_size) {
    WALSHIP_ASSIGN_OR_RETURN(size_t n, wal_->ReadAt(at, header));
    if (n != sizeof header) break;
    WALSHIP_RETURN_IF_ERROR(fn(at, sqlite::ParseWalFrameHeader(header)));
  }
  return Status::OK();
}

Status Db::CheckDatabaseTruncate(uint64_t size) const {
  if (pos_.txid == 0 || (journal_ && journal_hot_)) return Status::OK();
  // After the commit point of a transaction that shrank the database, and
  // after a checkpoint, SQLite cuts the file to the committed size.
  const uint64_t committed = CommittedSizeLocked();
  if (size == committed) return Status::OK();
  const std::string what = "truncating it to " + std::to_string(size) + " bytes";
  const uint32_t page_size = checksums_.page_size();
  if (wal_ && !journal_ && page_size != 0 && size < committed && size % page_size == 0) {
    // A checkpoint cuts the file to the size of the newest transaction in
    // its snapshot, which a later commit may have outgrown meanwhile: fine
    // when that was a committed size, and every page past it is in the WAL.
    const uint32_t pages = uint32_t(size / page_size);
    bool committed_size = false;
    WALSHIP_RETURN_IF_ERROR(ForEachCommittedFrame([&](uint64_t, const sqlite::WalFrameHeader& h) {
      committed_size = committed_size || (h.is_commit() && h.commit == pages);
      return Status::OK();
    }));
    for (uint32_t pgno = pages + 1; committed_size && pgno <= checksums_.page_count(); pgno++) {
      committed_size = wal_capture_.FindPage(pgno).has_value();
    }
    if (committed_size) return Status::OK();
  }
  return Refused(name(), what,
                 "its committed size is " + std::to_string(committed) +
                     " bytes and no transaction is under way");
}

}  // namespace walship::store
