#include "sqlite/journal.h"

#include <cstring>
#include <string>
#include <vector>

#include "base/coding.h"
#include "sqlite/locks.h"

namespace walship::sqlite {
namespace {

constexpr uint32_t kMaxSectorSize = 65536;

bool PowerOfTwoIn(uint32_t v, uint32_t lo, uint32_t hi) {
  return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

uint64_t AlignUp(uint64_t v, uint64_t unit) { return (v + unit - 1) / unit * unit; }

using PageFn = std::function<Status(uint32_t, std::span<const uint8_t>)>;

// One rollback pass over a journal file, mirroring pager_playback.
class JournalReader {
 public:
  JournalReader(env::File* file, uint32_t db_page_size, const PageFn& on_page)
      : file_(file), db_page_size_(db_page_size), on_page_(on_page) {}

  Status Run(uint32_t* initial_db_pages) {
    WALSHIP_ASSIGN_OR_RETURN(size_, file_->Size());
    JournalHeader h;
    WALSHIP_RETURN_IF_ERROR(ReadFirstHeader(&h));
    *initial_db_pages = h.initial_db_pages;
    db_pages_ = h.initial_db_pages;
    for (uint64_t hdr_offset = 0;;) {
      offset_ = hdr_offset + sector_size_;
      uint64_t count = h.record_count;
      if (count == kJournalRecordCountUnknown) count = (size_ - offset_) / RecordSize();
      WALSHIP_RETURN_IF_ERROR(PlayRecords(h.nonce, count));
      if (done_) return Status::OK();
      hdr_offset = AlignUp(offset_, sector_size_);
      WALSHIP_ASSIGN_OR_RETURN(bool more, ReadHeaderAt(hdr_offset, &h));
      if (!more) return Status::OK();
    }
  }

 private:
  uint64_t RecordSize() const { return uint64_t(page_size_) + 8; }

  // The first header fixes page size, sector size and the original db size.
  Status ReadFirstHeader(JournalHeader* h) {
    const std::string& path = file_->path();
    WALSHIP_ASSIGN_OR_RETURN(bool found, ReadHeaderAt(0, h));
    if (!found) return Status::NotFound(path + ": no valid journal header; nothing to roll back");
    if (h->page_size == 0) h->page_size = db_page_size_;  // SQLite < 3.5.8 wrote 0
    if (!PowerOfTwoIn(h->page_size, 512, 65536) ||
        !PowerOfTwoIn(h->sector_size, 32, kMaxSectorSize) || h->sector_size > size_) {
      // SQLite concludes the header was never completely written.
      return Status::NotFound(path + ": journal header has invalid sizes; nothing to roll back");
    }
    if (db_page_size_ != 0 && h->page_size != db_page_size_) {
      return Status::Corruption(path + ": journal page size " + std::to_string(h->page_size) +
                                " differs from database page size " +
                                std::to_string(db_page_size_));
    }
    page_size_ = h->page_size;
    sector_size_ = h->sector_size;
    lock_pgno_ = LockPgno(page_size_);
    return Status::OK();
  }

  // Reads the header at `offset`; false when it does not fit in the file or
  // lacks the magic (the end of the journal for rollback purposes).
  Result<bool> ReadHeaderAt(uint64_t offset, JournalHeader* h) {
    if (offset + (sector_size_ ? sector_size_ : kJournalHeaderSize) > size_) return false;
    uint8_t raw[kJournalHeaderSize];
    WALSHIP_ASSIGN_OR_RETURN(size_t n, file_->ReadAt(offset, raw));
    if (n < kJournalHeaderSize) return false;
    WALSHIP_ASSIGN_OR_RETURN(*h, ParseJournalHeader(raw));
    return h->valid_magic;
  }

  // Plays up to `count` records from offset_. Sets done_ when SQLite would
  // stop the whole rollback (short record, illegal pgno, bad checksum).
  Status PlayRecords(uint32_t nonce, uint64_t count) {
    std::vector<uint8_t> rec(RecordSize());
    for (uint64_t i = 0; i < count; i++) {
      if (offset_ + rec.size() > size_) return Stop();
      WALSHIP_ASSIGN_OR_RETURN(size_t n, file_->ReadAt(offset_, rec));
      if (n < rec.size()) return Stop();
      offset_ += rec.size();
      uint32_t pgno = GetBE32(rec.data());
      std::span<const uint8_t> page(rec.data() + 4, page_size_);
      if (pgno == 0 || pgno == lock_pgno_) return Stop();
      // Pages the transaction added past the old end are cut off by the
      // truncation; SQLite skips them before looking at the checksum.
      if (pgno > db_pages_) continue;
      if (JournalChecksum(nonce, page) != GetBE32(rec.data() + 4 + page_size_)) return Stop();
      WALSHIP_RETURN_IF_ERROR(on_page_(pgno, page));
    }
    return Status::OK();
  }

  Status Stop() {
    done_ = true;
    return Status::OK();
  }

  env::File* file_;
  const uint32_t db_page_size_;
  const PageFn& on_page_;
  uint64_t size_ = 0;
  uint64_t offset_ = 0;
  uint32_t sector_size_ = 0;
  uint32_t page_size_ = 0;
  uint32_t lock_pgno_ = 0;
  uint32_t db_pages_ = 0;
  bool done_ = false;
};

}  // namespace

Result<JournalHeader> ParseJournalHeader(std::span<const uint8_t> first28) {
  if (first28.size() < kJournalHeaderSize) {
    return Status::Corruption("journal header: truncated (" + std::to_string(first28.size()) +
                              " of 28 bytes)");
  }
  const uint8_t* p = first28.data();
  JournalHeader h;
  h.valid_magic = std::memcmp(p, kJournalMagic, sizeof(kJournalMagic)) == 0;
  h.record_count = GetBE32(p + 8);
  h.nonce = GetBE32(p + 12);
  h.initial_db_pages = GetBE32(p + 16);
  h.sector_size = GetBE32(p + 20);
  h.page_size = GetBE32(p + 24);
  return h;
}

bool IsZeroedHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kJournalZeroedHeaderSize) return false;
  for (size_t i = 0; i < kJournalZeroedHeaderSize; i++) {
    if (bytes[i] != 0) return false;
  }
  return true;
}

uint32_t JournalChecksum(uint32_t nonce, std::span<const uint8_t> page) {
  uint32_t sum = nonce;
  for (int64_t i = int64_t(page.size()) - 200; i > 0; i -= 200) sum += page[size_t(i)];
  return sum;
}

Status ReadJournal(env::File* journal, uint32_t db_page_size,
                   const std::function<Status(uint32_t pgno, std::span<const uint8_t> page)>& on_page,
                   uint32_t* initial_db_pages) {
  JournalReader reader(journal, db_page_size, on_page);
  return reader.Run(initial_db_pages);
}

}  // namespace walship::sqlite
