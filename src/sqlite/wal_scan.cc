// ScanWal: the crash-recovery reading of a WAL file, following the rules of
// SQLite's walIndexRecover (see wal.h).
#include <algorithm>
#include <string>

#include "sqlite/wal.h"
#include "sqlite/wal_internal.h"

namespace walship::sqlite {
namespace {

// Frames are read in batches of about this many bytes.
constexpr uint64_t kBatchBytes = 1 << 20;

class FrameScanner {
 public:
  FrameScanner(env::File* wal, WalScan* scan)
      : wal_(wal),
        scan_(scan),
        frame_size_(uint64_t(scan->header.page_size) + kWalFrameHeaderSize),
        cksum_{scan->header.checksum1, scan->header.checksum2} {}

  // Reads every complete frame until the first invalid one.
  Status Run() {
    const uint64_t total = (scan_->file_size - kWalHeaderSize) / frame_size_;
    const uint64_t per_batch = std::max<uint64_t>(1, kBatchBytes / frame_size_);
    std::vector<uint8_t> buf(per_batch * frame_size_);
    for (uint64_t index = 0; index < total;) {
      const uint64_t want = std::min(per_batch, total - index);
      const uint64_t offset = WalFrameOffset(scan_->header.page_size, index);
      std::span<uint8_t> out(buf.data(), want * frame_size_);
      WALSHIP_ASSIGN_OR_RETURN(size_t got, wal_->ReadAt(offset, out));
      const uint64_t complete = got / frame_size_;  // the file may have shrunk
      for (uint64_t j = 0; j < complete; j++) {
        if (!Accept(offset + j * frame_size_, buf.data() + j * frame_size_)) return Status::OK();
      }
      if (complete < want) break;
      index += want;
    }
    return Status::OK();
  }

 private:
  // Validates one frame; records it, and on a commit frame publishes every
  // frame of the transaction. Returns false at the first invalid frame.
  bool Accept(uint64_t offset, const uint8_t* frame) {
    std::span<const uint8_t> header(frame, kWalFrameHeaderSize);
    std::span<const uint8_t> page(frame + kWalFrameHeaderSize, scan_->header.page_size);
    if (!VerifyWalFrame(scan_->header, header, page, cksum_)) return false;
    WalFrameHeader f = ParseWalFrameHeader(header);
    pending_.push_back({offset, f.pgno, f.commit});
    if (f.is_commit()) {
      scan_->frames.insert(scan_->frames.end(), pending_.begin(), pending_.end());
      pending_.clear();
      scan_->committed_end = offset + frame_size_;
      scan_->db_pages = f.commit;
      scan_->checksum = {cksum_[0], cksum_[1]};
    }
    return true;
  }

  env::File* wal_;
  WalScan* scan_;
  const uint64_t frame_size_;
  uint32_t cksum_[2];
  std::vector<WalFrameRef> pending_;  // frames after the last commit frame
};

}  // namespace

Result<WalScan> ScanWal(env::File* wal) {
  WalScan scan;
  WALSHIP_ASSIGN_OR_RETURN(scan.file_size, wal->Size());
  if (scan.file_size < kWalHeaderSize) return scan;
  uint8_t raw[kWalHeaderSize];
  WALSHIP_ASSIGN_OR_RETURN(size_t n, wal->ReadAt(0, raw));
  if (n < kWalHeaderSize) return scan;
  scan.header = DecodeWalHeader(raw);
  HeaderState state = CheckWalHeader(scan.header, raw);
  if (state == HeaderState::kBadVersion) {
    return Status::Corruption(wal->path() + ": unsupported WAL version " +
                              std::to_string(scan.header.version));
  }
  if (state != HeaderState::kValid) return scan;
  scan.header_valid = true;
  scan.committed_end = kWalHeaderSize;
  scan.checksum = {scan.header.checksum1, scan.header.checksum2};
  FrameScanner scanner(wal, &scan);
  WALSHIP_RETURN_IF_ERROR(scanner.Run());
  return scan;
}

}  // namespace walship::sqlite
