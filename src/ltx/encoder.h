// Encoder writes one LTX file to a Writer as it is fed: the header, then each
// page in ascending page-number order, then Finish() writes the page index and
// the trailer. Each page is LZ4-compressed as it arrives (or, with `compress`
// false, stored as an LZ4 block of literals only: LTX v3 has no uncompressed
// frame, and such a block costs a copy, not a compression) and written with one
// Write() call, so memory stays bounded by a page plus the index (16 bytes a
// page). Misuse (a page out of order, of the wrong size, page 0, the lock page,
// beyond commit, a gap in a snapshot, a wrong post-apply checksum) fails with
// InvalidArgument and writes nothing; a Writer error is returned and then
// returned again by every later call.
//
// Thread-safety: none; one thread at a time. The Writer is borrowed for the
// Encoder's lifetime.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "ltx/checksum.h"
#include "ltx/crc_combine.h"
#include "ltx/format.h"
#include "ltx/io.h"

namespace walship::ltx {

class Encoder {
 public:
  explicit Encoder(Writer* w, bool compress = true);
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  // Validates and writes the header. REQUIRES: called once, first.
  Status EncodeHeader(const Header& header);
  // Writes one page. `page` must be header.page_size bytes; pgno must be above
  // the previous page's, at most header.commit and not LockPgno(page_size). A
  // snapshot must receive every page 1..commit except the lock page.
  Status EncodePage(uint32_t pgno, std::span<const uint8_t> page);
  // Writes the page index and the trailer. `post_apply_checksum` is the
  // database checksum after applying this file (the caller keeps it; for a
  // snapshot it must equal pages_checksum(), for commit 0 kChecksumFlag, and
  // with the no-checksum flag 0).
  Status Finish(uint64_t post_apply_checksum);

  // Bytes handed to the Writer so far.
  uint64_t bytes_written() const { return n_; }
  // Valid after a successful Finish().
  const Trailer& trailer() const { return trailer_; }
  const Header& header() const { return header_; }
  // ChecksumXor of the checksums of the pages encoded so far, starting from
  // kChecksumFlag. For a snapshot this is the post-apply checksum.
  uint64_t pages_checksum() const { return pages_checksum_; }
  // Checksum of the page most recently encoded.
  uint64_t last_page_checksum() const { return last_page_checksum_; }
  const std::vector<PageIndexEntry>& page_index() const { return index_; }

 private:
  enum class State { kHeader, kPages, kDone, kFailed };

  Status CheckPage(uint32_t pgno, std::span<const uint8_t> page) const;
  Status CheckFinish(uint64_t post_apply_checksum) const;
  void AppendIndex(std::vector<uint8_t>* out) const;
  // Hands `data` to the Writer; a failure makes the encoder fail for good.
  // The caller adds what the file checksum covers to crc_ itself, because page
  // payloads count uncompressed.
  Status Emit(std::span<const uint8_t> data);

  Writer* w_;
  bool compress_;
  State state_ = State::kHeader;
  Status failed_;
  Header header_;
  Trailer trailer_;
  uint32_t lock_pgno_ = 0;
  uint32_t prev_pgno_ = 0;
  uint64_t crc_ = 0;              // CRC-64 of the file so far, as the file checksum counts it
  const CrcCombiner* page_combiner_ = nullptr;  // appends one page's CRC to another CRC
  uint64_t n_ = 0;
  uint64_t pages_checksum_ = kChecksumFlag;
  uint64_t last_page_checksum_ = 0;
  std::vector<PageIndexEntry> index_;
  std::vector<uint8_t> frame_;  // scratch: one encoded page frame
};

}  // namespace walship::ltx
