#include "ltx/decoder.h"

#include <lz4.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "base/coding.h"
#include "base/crc64.h"

namespace walship::ltx {
namespace {

constexpr size_t kReadAhead = 64 * 1024;

std::string At(uint64_t offset) { return " at offset " + std::to_string(offset); }
std::string Num(uint64_t v) { return std::to_string(v); }

Status Corrupt(const std::string& msg) { return Status::Corruption("ltx: " + msg); }

}  // namespace

Decoder::Decoder(Reader* r) : r_(r) {}

// Damage and Reader errors stick; a call made out of order does not, since it
// consumed no input.
Status Decoder::Fail(Status s) {
  if (failed_.ok() && s.code() != Status::Code::kInvalidArgument) failed_ = s;
  return s;
}

Result<bool> Decoder::Fill() {
  if (buf_ && !read_ahead_) return false;  // the whole input was in place
  if (!buf_) {
    const std::span<const uint8_t> all = r_->TakeInPlace();
    if (!all.empty()) {
      buf_ = all.data();
      buf_pos_ = 0;
      buf_len_ = all.size();
      return true;
    }
    read_ahead_.reset(new uint8_t[kReadAhead]);
    buf_ = read_ahead_.get();
  }
  WALSHIP_ASSIGN_OR_RETURN(size_t n, r_->Read({read_ahead_.get(), kReadAhead}));
  buf_pos_ = 0;
  buf_len_ = n;
  return n > 0;
}

Status Decoder::ReadExact(std::span<uint8_t> out, std::string_view what) {
  const uint64_t start = offset_;
  size_t done = 0;
  while (done < out.size()) {
    if (buf_pos_ == buf_len_) {
      WALSHIP_ASSIGN_OR_RETURN(bool more, Fill());
      if (!more) {
        return Corrupt("truncated file: " + std::string(what) + At(start) + " has " + Num(done) +
                       " of " + Num(out.size()) + " bytes");
      }
    }
    size_t n = std::min(out.size() - done, buf_len_ - buf_pos_);
    std::memcpy(out.data() + done, buf_ + buf_pos_, n);
    buf_pos_ += n;
    done += n;
    offset_ += n;
  }
  return Status::OK();
}

Result<std::span<const uint8_t>> Decoder::ReadBlock(size_t size) {
  if (buf_len_ - buf_pos_ >= size) {
    std::span<const uint8_t> view(buf_ + buf_pos_, size);
    buf_pos_ += size;
    offset_ += size;
    return view;
  }
  if (!compressed_) compressed_.reset(new uint8_t[max_compressed_]);
  std::span<uint8_t> out(compressed_.get(), size);
  WALSHIP_RETURN_IF_ERROR(ReadExact(out, "page data"));
  return std::span<const uint8_t>(out);
}

Result<Header> Decoder::DecodeHeader() {
  if (!failed_.ok()) return failed_;
  Result<Header> h = DecodeHeaderImpl();
  if (!h.ok()) return Fail(h.status());
  return h;
}

Result<Header> Decoder::DecodeHeaderImpl() {
  if (state_ != State::kHeader) return Status::InvalidArgument("ltx: header already decoded");
  uint8_t buf[kHeaderSize];
  WALSHIP_RETURN_IF_ERROR(ReadExact(buf, "header"));
  WALSHIP_ASSIGN_OR_RETURN(header_, ParseHeader(buf));
  if (Status s = header_.Validate(); !s.ok()) {
    return Corrupt("invalid header" + At(0) + ": " + s.message());
  }
  crc_ = Crc64(buf);
  page_combiner_ = &PageCombiner(header_.page_size);
  lock_pgno_ = LockPgno(header_.page_size);
  max_compressed_ = size_t(LZ4_compressBound(int(header_.page_size)));
  page_.reset(new uint8_t[header_.page_size]);
  state_ = State::kPages;
  return header_;
}

Result<bool> Decoder::DecodePage(uint32_t* pgno, std::span<const uint8_t>* page) {
  if (!failed_.ok()) return failed_;
  Result<bool> more = DecodePageImpl(pgno);
  if (!more.ok()) return Fail(more.status());
  if (*more) *page = {page_.get(), header_.page_size};
  return more;
}

Status Decoder::CheckFrameHeader(uint32_t pgno, uint16_t flags, uint64_t at) const {
  if (pgno == 0) return Corrupt("page frame with page number 0" + At(at));
  if (flags != kPageFlagSize) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%04x", unsigned(flags));
    return Corrupt("page " + Num(pgno) + At(at) + " has frame flags " + buf +
                   "; only 0x0001 (size-prefixed LZ4 block) is supported");
  }
  if (pgno > header_.commit) {
    return Corrupt("page " + Num(pgno) + At(at) + " beyond commit " + Num(header_.commit));
  }
  if (pgno == lock_pgno_) return Corrupt("lock page " + Num(pgno) + " stored" + At(at));
  if (pgno <= prev_pgno_) {
    return Corrupt("page " + Num(pgno) + At(at) + " out of order after page " + Num(prev_pgno_));
  }
  uint32_t want = prev_pgno_ + 1 == lock_pgno_ ? prev_pgno_ + 2 : prev_pgno_ + 1;
  if (header_.IsSnapshot() && pgno != want) {
    return Corrupt("snapshot is missing page " + Num(want) + " (found page " + Num(pgno) + At(at) +
                   ")");
  }
  return Status::OK();
}

// Reads the size field and the LZ4 block of page `pgno` whose frame starts at
// `at`, and decompresses it into page_.
Status Decoder::ReadPayload(uint32_t pgno, uint64_t at) {
  uint8_t size_buf[kPageSizeFieldSize];
  WALSHIP_RETURN_IF_ERROR(ReadExact(size_buf, "page size field"));
  crc_ = Crc64Update(crc_, size_buf);
  uint32_t size = GetBE32(size_buf);
  if (size == 0 || size > max_compressed_) {
    return Corrupt("page " + Num(pgno) + At(at) + ": compressed size " + Num(size) +
                   " outside 1.." + Num(max_compressed_));
  }
  WALSHIP_ASSIGN_OR_RETURN(std::span<const uint8_t> block, ReadBlock(size));
  int n =
      LZ4_decompress_safe(reinterpret_cast<const char*>(block.data()),
                          reinterpret_cast<char*>(page_.get()), int(size), int(header_.page_size));
  if (n < 0 || uint32_t(n) != header_.page_size) return BadPayload(block, pgno, at);
  return Status::OK();
}

// Why the LZ4 block of page `pgno` does not give one page: decompressed
// again with room for the largest page, to say how long it is.
Status Decoder::BadPayload(std::span<const uint8_t> block, uint32_t pgno, uint64_t at) const {
  std::vector<char> out(kMaxPageSize);
  int n = LZ4_decompress_safe(reinterpret_cast<const char*>(block.data()), out.data(),
                              int(block.size()), int(out.size()));
  const std::string where = "page " + Num(pgno) + At(at);
  if (n < 0) return Corrupt("bad LZ4 block for " + where);
  return Corrupt(where + " decompresses to " + Num(n) + " bytes, page size is " +
                 Num(header_.page_size));
}

Result<bool> Decoder::DecodePageImpl(uint32_t* pgno_out) {
  if (state_ == State::kHeader) return Status::InvalidArgument("ltx: DecodePage before header");
  if (state_ != State::kPages) return false;
  const uint64_t at = offset_;
  uint8_t head[kPageHeaderSize];
  WALSHIP_RETURN_IF_ERROR(ReadExact(head, "page header"));
  crc_ = Crc64Update(crc_, head);  // the frame's size field follows in ReadPayload
  uint32_t pgno = GetBE32(head);
  uint16_t flags = GetBE16(head + 4);
  if (pgno == 0 && flags == 0) {
    state_ = State::kIndex;
    return false;
  }
  WALSHIP_RETURN_IF_ERROR(CheckFrameHeader(pgno, flags, at));
  WALSHIP_RETURN_IF_ERROR(ReadPayload(pgno, at));
  // Hash the page once; its CRC extends the file checksum and CRC(pgno).
  std::span<const uint8_t> page(page_.get(), header_.page_size);
  uint64_t page_crc = Crc64(page);
  crc_ = page_combiner_->Combine(crc_, page_crc);
  last_page_checksum_ = page_combiner_->Combine(Crc64(std::span<const uint8_t>(head, 4)), page_crc);
  pages_checksum_ = ChecksumXor(pages_checksum_, last_page_checksum_);
  index_.push_back({pgno, at, offset_ - at});
  prev_pgno_ = pgno;
  *pgno_out = pgno;
  return true;
}

Result<Trailer> Decoder::Finish() {
  if (!failed_.ok()) return failed_;
  Result<Trailer> t = FinishImpl();
  if (!t.ok()) return Fail(t.status());
  return t;
}

Result<Trailer> Decoder::FinishImpl() {
  if (state_ == State::kHeader) return Status::InvalidArgument("ltx: Finish before header");
  if (state_ == State::kDone) return Status::InvalidArgument("ltx: Finish called twice");
  uint32_t pgno;
  while (state_ == State::kPages) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, DecodePageImpl(&pgno));
    (void)more;
  }
  WALSHIP_RETURN_IF_ERROR(CheckSnapshotComplete());
  WALSHIP_RETURN_IF_ERROR(ReadIndex());
  WALSHIP_ASSIGN_OR_RETURN(Trailer trailer, ReadTrailer());
  WALSHIP_RETURN_IF_ERROR(ExpectEnd());
  state_ = State::kDone;
  return trailer;
}

Status Decoder::CheckSnapshotComplete() const {
  if (!header_.IsSnapshot()) return Status::OK();
  uint32_t last = header_.commit == lock_pgno_ ? header_.commit - 1 : header_.commit;
  if (prev_pgno_ == last) return Status::OK();
  return Corrupt("snapshot ends at page " + Num(prev_pgno_) + " but commit is " +
                 Num(header_.commit) + At(offset_ - kPageHeaderSize));
}

// Reads one index varint, adds it to the file checksum, and checks it equals
// `want`, which the page frames determined.
Status Decoder::ReadIndexVarint(uint64_t want, const char* field, size_t entry) {
  const uint64_t at = offset_;
  uint8_t bytes[10];
  size_t len = 0;
  do {
    if (len == sizeof(bytes)) return Corrupt("malformed varint in page index" + At(at));
    WALSHIP_RETURN_IF_ERROR(ReadExact(std::span<uint8_t>(bytes + len, 1), "page index"));
  } while (bytes[len++] & 0x80);
  crc_ = Crc64Update(crc_, std::span<const uint8_t>(bytes, len));
  uint64_t got = 0;
  if (GetUvarint(std::span<const uint8_t>(bytes, len), &got) != len) {
    return Corrupt("malformed varint in page index" + At(at));
  }
  if (got == want) return Status::OK();
  if (entry == index_.size()) {
    return Corrupt("page index" + At(at) + " has more entries than the " + Num(index_.size()) +
                   " page frames");
  }
  return Corrupt("page index entry " + Num(entry) + At(at) + " has " + field + " " + Num(got) +
                 ", the frame of page " + Num(index_[entry].pgno) + " gives " + Num(want));
}

Status Decoder::ReadIndex() {
  const uint64_t start = offset_;
  for (size_t i = 0; i < index_.size(); i++) {
    const PageIndexEntry& e = index_[i];
    WALSHIP_RETURN_IF_ERROR(ReadIndexVarint(e.pgno, "page number", i));
    WALSHIP_RETURN_IF_ERROR(ReadIndexVarint(e.offset, "offset", i));
    WALSHIP_RETURN_IF_ERROR(ReadIndexVarint(e.size, "size", i));
  }
  WALSHIP_RETURN_IF_ERROR(ReadIndexVarint(0, "page number", index_.size()));
  const uint64_t size_at = offset_;
  uint8_t size_buf[kIndexSizeFieldSize];
  WALSHIP_RETURN_IF_ERROR(ReadExact(size_buf, "page index size"));
  crc_ = Crc64Update(crc_, size_buf);
  uint64_t size = GetBE64(size_buf);
  if (size != size_at - start) {
    return Corrupt("page index size field" + At(size_at) + " says " + Num(size) +
                   " bytes, the index has " + Num(size_at - start));
  }
  return Status::OK();
}

Result<Trailer> Decoder::ReadTrailer() {
  const uint64_t at = offset_;
  uint8_t buf[kTrailerSize];
  WALSHIP_RETURN_IF_ERROR(ReadExact(buf, "trailer"));
  crc_ = Crc64Update(crc_, std::span<const uint8_t>(buf, 8));
  Trailer trailer = ParseTrailer(buf);
  uint64_t computed = kChecksumFlag | crc_;
  if (trailer.file_checksum != computed) {
    return Corrupt("file checksum mismatch: trailer" + At(at) + " holds " +
                   Hex16(trailer.file_checksum) + ", contents hash to " + Hex16(computed));
  }
  WALSHIP_RETURN_IF_ERROR(CheckPostApply(trailer, at));
  return trailer;
}

Status Decoder::CheckPostApply(const Trailer& trailer, uint64_t at) const {
  if (Status s = trailer.Validate(header_); !s.ok()) {
    return Corrupt("invalid trailer" + At(at) + ": " + s.message());
  }
  if (header_.NoChecksum()) return Status::OK();
  uint64_t post = trailer.post_apply_checksum;
  if (header_.commit == 0 && post != kChecksumFlag) {
    return Corrupt("post-apply checksum " + Hex16(post) + At(at) + " of an empty database is not " +
                   Hex16(kChecksumFlag));
  }
  if (header_.IsSnapshot() && post != pages_checksum_) {
    return Corrupt("snapshot post-apply checksum " + Hex16(post) + At(at) +
                   " differs from its pages' checksum " + Hex16(pages_checksum_));
  }
  return Status::OK();
}

Status Decoder::ExpectEnd() {
  if (buf_pos_ == buf_len_) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, Fill());
    if (!more) return Status::OK();
  }
  return Corrupt("unexpected data after the trailer" + At(offset_));
}

Status Verify(Reader* r, Header* header_out, Trailer* trailer_out) {
  Decoder dec(r);
  WALSHIP_ASSIGN_OR_RETURN(Header header, dec.DecodeHeader());
  WALSHIP_ASSIGN_OR_RETURN(Trailer trailer, dec.Finish());
  if (header_out != nullptr) *header_out = header;
  if (trailer_out != nullptr) *trailer_out = trailer;
  return Status::OK();
}

}  // namespace walship::ltx
