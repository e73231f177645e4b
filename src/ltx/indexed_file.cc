#include "ltx/indexed_file.h"

#include <lz4.h>

#include "base/coding.h"

namespace walship::ltx {
namespace {

Status Corrupt(const std::string& msg) { return Status::Corruption("ltx: " + msg); }

}  // namespace

Result<IndexedFile> IndexedFile::Open(std::string_view bytes) {
  IndexedFile f(bytes);
  // A header, the end of the page block, an empty index and the trailer.
  const size_t smallest = kHeaderSize + kPageHeaderSize + 1 + kIndexSizeFieldSize + kTrailerSize;
  if (bytes.size() < smallest) {
    return Corrupt("a file of " + std::to_string(bytes.size()) + " bytes is too short");
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  WALSHIP_ASSIGN_OR_RETURN(f.header_, ParseHeader({data, kHeaderSize}));
  f.trailer_ = ParseTrailer(std::span<const uint8_t, kTrailerSize>(
      data + bytes.size() - kTrailerSize, kTrailerSize));
  WALSHIP_RETURN_IF_ERROR(f.ReadIndex());
  return f;
}

Status IndexedFile::ReadIndex() {
  const auto* data = reinterpret_cast<const uint8_t*>(bytes_.data());
  const size_t size_at = bytes_.size() - kTrailerSize - kIndexSizeFieldSize;
  const uint64_t index_size = GetBE64(data + size_at);
  if (index_size == 0 || index_size > size_at - kHeaderSize - kPageHeaderSize) {
    return Corrupt("page index size " + std::to_string(index_size) + " does not fit the file");
  }
  const size_t index_at = size_at - size_t(index_size);
  const std::span<const uint8_t> in(data + index_at, size_t(index_size));
  size_t at = 0;
  auto next = [&](uint64_t* v) {
    const size_t n = GetUvarint(in.subspan(at), v);
    at += n;
    return n != 0;
  };
  while (true) {
    uint64_t pgno = 0, offset = 0, size = 0;
    if (!next(&pgno)) return Corrupt("malformed page index at offset " + std::to_string(index_at));
    if (pgno == 0) break;
    if (!next(&offset) || !next(&size)) {
      return Corrupt("malformed page index at offset " + std::to_string(index_at));
    }
    const bool fits = offset >= kHeaderSize && size > kFrameHeaderSize &&
                      offset + size <= index_at - kPageHeaderSize;
    if (pgno > UINT32_MAX || !fits) {
      return Corrupt("page index entry for page " + std::to_string(pgno) +
                     " points outside the page block");
    }
    index_.push_back({uint32_t(pgno), offset, size});
  }
  if (at != in.size()) return Corrupt("page index longer than its entries");
  return Status::OK();
}

Status IndexedFile::ReadPage(const PageIndexEntry& entry, std::span<uint8_t> out) const {
  const auto* frame = reinterpret_cast<const uint8_t*>(bytes_.data()) + entry.offset;
  const uint32_t size = GetBE32(frame + kPageHeaderSize);
  int n = -1;
  if (GetBE32(frame) == entry.pgno && kFrameHeaderSize + size == entry.size) {
    n = LZ4_decompress_safe(reinterpret_cast<const char*>(frame + kFrameHeaderSize),
                            reinterpret_cast<char*>(out.data()), int(size), int(out.size()));
  }
  if (n != int(header_.page_size) || out.size() != header_.page_size) {
    return Corrupt("page " + std::to_string(entry.pgno) + " at offset " +
                   std::to_string(entry.offset) + " does not decode to one page");
  }
  return Status::OK();
}

}  // namespace walship::ltx
