// Decoder reads one LTX file from a Reader in a single forward pass, checking
// everything as it goes: DecodeHeader(), then DecodePage() until it returns
// false, then Finish(), which reads the page index and trailer and verifies
// the file checksum. Input is read through a 64 KiB buffer, or in place when
// the Reader holds it in memory (Reader::TakeInPlace); memory stays bounded
// by that, one page, and the index (16 bytes a page). The checks
// build no text unless they fail: a replica decodes every file it receives.
//
// Every defect in the file comes back as Corruption naming what is wrong and
// where (byte offset, page number); errors from the Reader come back as they
// are. After the first such error every later call returns the same Status;
// a call out of order returns InvalidArgument and changes nothing.
// Verify() runs the whole sequence and discards the pages.
//
// Thread-safety: none; one thread at a time. The Reader is borrowed for the
// Decoder's lifetime.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ltx/checksum.h"
#include "ltx/crc_combine.h"
#include "ltx/format.h"
#include "ltx/io.h"

namespace walship::ltx {

class Decoder {
 public:
  explicit Decoder(Reader* r);
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Reads and validates the header. REQUIRES: called once, first.
  Result<Header> DecodeHeader();
  // Reads the next page: *pgno, and *page viewing its bytes (page size long),
  // valid until the next call. Returns false, leaving both untouched, once
  // the page block has ended.
  Result<bool> DecodePage(uint32_t* pgno, std::span<const uint8_t>* page);
  // Reads any pages not yet decoded, then the page index and the trailer, and
  // checks the file checksum, that nothing follows the trailer, and the
  // post-apply checksum where the file determines it (a snapshot: the XOR of
  // its pages; commit 0: kChecksumFlag).
  Result<Trailer> Finish();

  // Valid after DecodeHeader() succeeded.
  const Header& header() const { return header_; }
  // ChecksumXor of the checksums of the pages decoded so far, starting from
  // kChecksumFlag; after Finish() of a snapshot, its post-apply checksum.
  uint64_t pages_checksum() const { return pages_checksum_; }
  // Checksum of the page most recently decoded, so an applier need not
  // recompute it.
  uint64_t last_page_checksum() const { return last_page_checksum_; }
  // Bytes consumed from the Reader's point of view so far.
  uint64_t bytes_read() const { return offset_; }
  // The page frames decoded so far, as the index must describe them.
  const std::vector<PageIndexEntry>& page_index() const { return index_; }

 private:
  enum class State { kHeader, kPages, kIndex, kDone };

  Result<Header> DecodeHeaderImpl();
  Result<bool> DecodePageImpl(uint32_t* pgno);
  Status CheckFrameHeader(uint32_t pgno, uint16_t flags, uint64_t at) const;
  Status ReadPayload(uint32_t pgno, uint64_t at);
  Status BadPayload(std::span<const uint8_t> block, uint32_t pgno, uint64_t at) const;
  Result<Trailer> FinishImpl();
  Status CheckSnapshotComplete() const;
  Status ReadIndex();
  Status ReadIndexVarint(uint64_t want, const char* field, size_t entry);
  Result<Trailer> ReadTrailer();
  Status CheckPostApply(const Trailer& trailer, uint64_t at) const;
  Status ExpectEnd();

  // Fills `out` completely or fails: Corruption "truncated" at end of input.
  Status ReadExact(std::span<uint8_t> out, std::string_view what);
  // The next `size` bytes (at most max_compressed_), in the read-ahead if
  // they are there whole, else copied into compressed_; as ReadExact otherwise.
  Result<std::span<const uint8_t>> ReadBlock(size_t size);
  // Refills buf_; false at end of input.
  Result<bool> Fill();
  Status Fail(Status s);

  Reader* r_;
  State state_ = State::kHeader;
  Status failed_;
  Header header_;
  uint32_t lock_pgno_ = 0;
  uint32_t prev_pgno_ = 0;
  uint64_t offset_ = 0;           // file offset of the next unread byte
  uint64_t crc_ = 0;              // CRC-64 of the file so far, as the file checksum counts it
  const CrcCombiner* page_combiner_ = nullptr;  // appends one page's CRC to another CRC
  uint64_t pages_checksum_ = kChecksumFlag;
  uint64_t last_page_checksum_ = 0;
  std::vector<PageIndexEntry> index_;
  // Scratch buffers are left uninitialized: a seal decodes thousands of
  // small in-memory files, and zeroing them cost more than decoding.
  // [buf_pos_, buf_len_) of buf_ is unread: buf_ is read_ahead_ (kReadAhead
  // bytes), or the whole input when the Reader gave it in place.
  const uint8_t* buf_ = nullptr;
  std::unique_ptr<uint8_t[]> read_ahead_;
  size_t buf_pos_ = 0;
  size_t buf_len_ = 0;
  size_t max_compressed_ = 0;              // the largest payload a page can have
  std::unique_ptr<uint8_t[]> compressed_;  // scratch: one payload across a refill
  std::unique_ptr<uint8_t[]> page_;  // scratch: one decompressed page (page size)
};

// Decodes a whole file, checking all the Decoder checks and discarding the
// pages. On success fills the optional outputs.
Status Verify(Reader* r, Header* header_out = nullptr, Trailer* trailer_out = nullptr);

}  // namespace walship::ltx
