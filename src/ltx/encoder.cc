#include "ltx/encoder.h"

#include <lz4.h>

#include <cstring>
#include <string>

#include "base/coding.h"
#include "base/crc64.h"

namespace walship::ltx {
namespace {

std::string PgnoText(uint32_t pgno) { return "page " + std::to_string(pgno); }

// `in` as an LZ4 block of one sequence of literals and no match (LZ4's block
// format: a token whose high nibble is the literal count, 15 meaning that
// bytes of 255 and a last one below 255 add to it, then the literals).
// Returns its size, at most LZ4_compressBound(in.size()).
int LiteralsBlock(std::span<const uint8_t> in, uint8_t* out) {
  size_t at = 0;
  if (in.size() < 15) {
    out[at++] = uint8_t(in.size() << 4);
  } else {
    out[at++] = 0xf0;
    size_t rest = in.size() - 15;
    for (; rest >= 255; rest -= 255) out[at++] = 255;
    out[at++] = uint8_t(rest);
  }
  std::memcpy(out + at, in.data(), in.size());
  return int(at + in.size());
}

}  // namespace

Encoder::Encoder(Writer* w, bool compress) : w_(w), compress_(compress) {}

Status Encoder::Emit(std::span<const uint8_t> data) {
  Status s = w_->Write(data);
  if (!s.ok()) {
    state_ = State::kFailed;
    failed_ = s;
    return s;
  }
  n_ += data.size();
  return Status::OK();
}

Status Encoder::EncodeHeader(const Header& header) {
  if (state_ == State::kFailed) return failed_;
  if (state_ != State::kHeader) return Status::InvalidArgument("ltx: header already encoded");
  WALSHIP_RETURN_IF_ERROR(header.Validate());
  header_ = header;
  lock_pgno_ = LockPgno(header.page_size);
  uint8_t buf[kHeaderSize];
  PutHeader(header_, buf);
  crc_ = Crc64(buf);
  page_combiner_ = &PageCombiner(header.page_size);
  WALSHIP_RETURN_IF_ERROR(Emit(buf));
  frame_.resize(kFrameHeaderSize + size_t(LZ4_compressBound(int(header.page_size))));
  state_ = State::kPages;
  return Status::OK();
}

Status Encoder::CheckPage(uint32_t pgno, std::span<const uint8_t> page) const {
  if (state_ == State::kFailed) return failed_;
  if (state_ != State::kPages) {
    return Status::InvalidArgument("ltx: EncodePage outside the page block");
  }
  if (pgno == 0) return Status::InvalidArgument("ltx: page number 0");
  if (page.size() != header_.page_size) {
    return Status::InvalidArgument("ltx: " + PgnoText(pgno) + " has " +
                                   std::to_string(page.size()) + " bytes, page size is " +
                                   std::to_string(header_.page_size));
  }
  if (pgno > header_.commit) {
    return Status::InvalidArgument("ltx: " + PgnoText(pgno) + " beyond commit " +
                                   std::to_string(header_.commit));
  }
  if (pgno == lock_pgno_) {
    return Status::InvalidArgument("ltx: cannot encode lock " + PgnoText(pgno));
  }
  if (pgno <= prev_pgno_) {
    return Status::InvalidArgument("ltx: " + PgnoText(pgno) + " out of order after page " +
                                   std::to_string(prev_pgno_));
  }
  uint32_t want = prev_pgno_ + 1 == lock_pgno_ ? prev_pgno_ + 2 : prev_pgno_ + 1;
  if (header_.IsSnapshot() && pgno != want) {
    return Status::InvalidArgument("ltx: snapshot must hold every page: expected page " +
                                   std::to_string(want) + ", got " + std::to_string(pgno));
  }
  return Status::OK();
}

Status Encoder::EncodePage(uint32_t pgno, std::span<const uint8_t> page) {
  WALSHIP_RETURN_IF_ERROR(CheckPage(pgno, page));
  char* dst = reinterpret_cast<char*>(frame_.data() + kFrameHeaderSize);
  int capacity = int(frame_.size() - kFrameHeaderSize);
  int compressed = compress_ ? LZ4_compress_default(reinterpret_cast<const char*>(page.data()), dst,
                                                    int(page.size()), capacity)
                             : LiteralsBlock(page, frame_.data() + kFrameHeaderSize);
  if (compressed <= 0) return Status::Aborted("ltx: LZ4 failed to compress " + PgnoText(pgno));

  PutBE32(frame_.data(), pgno);
  PutBE16(frame_.data() + 4, kPageFlagSize);
  PutBE32(frame_.data() + kPageHeaderSize, uint32_t(compressed));
  std::span<const uint8_t> frame(frame_.data(), kFrameHeaderSize + size_t(compressed));

  uint64_t offset = n_;
  WALSHIP_RETURN_IF_ERROR(Emit(frame));
  // The page is hashed once; its CRC extends both the file checksum (which
  // covers the frame header and the page as it decompresses) and CRC(pgno).
  uint64_t page_crc = Crc64(page);
  crc_ = page_combiner_->Combine(Crc64Update(crc_, frame.first(kFrameHeaderSize)), page_crc);
  last_page_checksum_ = page_combiner_->Combine(Crc64(frame.first(4)), page_crc);
  pages_checksum_ = ChecksumXor(pages_checksum_, last_page_checksum_);
  index_.push_back({pgno, offset, frame.size()});
  prev_pgno_ = pgno;
  return Status::OK();
}

Status Encoder::CheckFinish(uint64_t post_apply) const {
  if (state_ == State::kFailed) return failed_;
  if (state_ != State::kPages) {
    return Status::InvalidArgument("ltx: Finish before the header or twice");
  }
  uint32_t last = header_.commit == lock_pgno_ ? header_.commit - 1 : header_.commit;
  if (header_.IsSnapshot() && prev_pgno_ != last) {
    return Status::InvalidArgument("ltx: snapshot ends at page " + std::to_string(prev_pgno_) +
                                   ", commit is " + std::to_string(header_.commit));
  }
  Trailer probe{post_apply, kChecksumFlag};
  WALSHIP_RETURN_IF_ERROR(probe.Validate(header_));
  if (header_.NoChecksum()) return Status::OK();
  if (header_.commit == 0 && post_apply != kChecksumFlag) {
    return Status::InvalidArgument("ltx: post-apply checksum of an empty database must be " +
                                   Hex16(kChecksumFlag) + ", got " + Hex16(post_apply));
  }
  if (header_.IsSnapshot() && post_apply != pages_checksum_) {
    return Status::InvalidArgument("ltx: snapshot post-apply checksum " + Hex16(post_apply) +
                                   " differs from its pages' checksum " + Hex16(pages_checksum_));
  }
  return Status::OK();
}

void Encoder::AppendIndex(std::vector<uint8_t>* out) const {
  std::string index;
  for (const PageIndexEntry& e : index_) {
    AppendUvarint(&index, e.pgno);
    AppendUvarint(&index, e.offset);
    AppendUvarint(&index, e.size);
  }
  AppendUvarint(&index, 0);
  AppendBE64(&index, index.size());
  const std::span<const uint8_t> bytes = AsBytes(index);
  out->insert(out->end(), bytes.begin(), bytes.end());
}

Status Encoder::Finish(uint64_t post_apply_checksum) {
  WALSHIP_RETURN_IF_ERROR(CheckFinish(post_apply_checksum));
  // The terminating zero page header, the index and the post-apply checksum
  // are all hashed; only the file checksum itself is not.
  std::vector<uint8_t> tail(kPageHeaderSize, 0);
  AppendIndex(&tail);
  tail.resize(tail.size() + kTrailerSize);
  uint8_t* trailer = tail.data() + tail.size() - kTrailerSize;
  PutBE64(trailer, post_apply_checksum);
  crc_ = Crc64Update(crc_, std::span<const uint8_t>(tail.data(), tail.size() - 8));
  trailer_ = Trailer{post_apply_checksum, kChecksumFlag | crc_};
  PutBE64(trailer + 8, trailer_.file_checksum);
  WALSHIP_RETURN_IF_ERROR(Emit(tail));
  state_ = State::kDone;
  return Status::OK();
}

}  // namespace walship::ltx
