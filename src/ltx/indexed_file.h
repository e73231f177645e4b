// IndexedFile: random access to the pages of one LTX file held in memory,
// through the page index at its end. It reads the header, the trailer and
// the index, and decompresses a page only when asked; it does NOT verify the
// file checksum. It is for files this process made or already verified as a
// whole (Decoder): Merge uses it to decompress only the pages that survive
// a run, which for a run of small transactions is a few of every hundred.
//
// Thread-safety: immutable after Open; the bytes are borrowed and must
// outlive it.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ltx/format.h"

namespace walship::ltx {

class IndexedFile {
 public:
  // Corruption when the header, trailer or page index does not parse or
  // points outside the file.
  static Result<IndexedFile> Open(std::string_view bytes);

  const Header& header() const { return header_; }
  const Trailer& trailer() const { return trailer_; }
  // In page-number order, as the file stores its frames.
  const std::vector<PageIndexEntry>& index() const { return index_; }
  // Decompresses the page `entry` locates into `out` (page size bytes).
  Status ReadPage(const PageIndexEntry& entry, std::span<uint8_t> out) const;

 private:
  explicit IndexedFile(std::string_view bytes) : bytes_(bytes) {}
  Status ReadIndex();

  std::string_view bytes_;
  Header header_{};
  Trailer trailer_{};
  std::vector<PageIndexEntry> index_;
};

}  // namespace walship::ltx
