// Helpers shared by the ltx tests: deterministic page contents, whole-file
// encoding through the real Encoder, and RawFile, a second, independent
// assembler of LTX bytes that does no checking, so tests can build files that
// are valid except for one chosen defect. Single-threaded test code.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "ltx/checksum.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/format.h"
#include "ltx/io.h"

namespace walship::ltx::testing {

inline std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A page whose bytes depend on (pgno, seed). Compressible pages are mostly a
// repeated byte; others are pseudo-random, which LZ4 cannot shrink.
std::string MakePage(uint32_t page_size, uint32_t pgno, uint32_t seed, bool compressible);

// A header that validates: a snapshot when min_txid is 1.
Header MakeHeader(uint32_t page_size, uint32_t commit, uint64_t min_txid, uint64_t max_txid);

// Encodes `pages` (pgno -> bytes) with the Encoder. For a snapshot (or when
// post_apply is 0 and checksums are tracked) the post-apply checksum is the
// encoder's own pages_checksum(). Fails the test on any error.
std::string EncodeFile(const Header& header, const std::map<uint32_t, std::string>& pages,
                       uint64_t post_apply = 0);

// Decodes a whole file, returning its pages; the Status of the first error.
struct Decoded {
  Header header;
  Trailer trailer;
  std::map<uint32_t, std::string> pages;
  std::vector<PageIndexEntry> index;
};
Result<Decoded> DecodeFile(const std::string& file);

// An LTX file assembled frame by frame with no checks. Frames hold whatever
// pgno, flags and payload the test chooses; the index and the checksums are
// computed honestly from them unless a test overrides a field afterwards.
class RawFile {
 public:
  explicit RawFile(const Header& header) : header_(header) {}
  // A correct frame: the page compressed as the Encoder does.
  void AddPage(uint32_t pgno, const std::string& page);
  // A frame with an arbitrary payload; `decompressed` is what the file
  // checksum covers (the caller decides what the decoder will see).
  void AddFrame(uint32_t pgno, uint16_t flags, const std::string& payload,
                const std::string& decompressed);
  // The database checksum of the pages added with AddPage.
  uint64_t pages_checksum() const { return pages_checksum_; }
  // The complete file, trailer included.
  std::string Build(uint64_t post_apply) const;

 private:
  Header header_;
  std::string frames_;  // page frames as stored
  std::string hashed_;  // page frames as the file checksum counts them
  std::vector<PageIndexEntry> index_;
  uint64_t pages_checksum_ = kChecksumFlag;
};

// Reads from memory the way a file is read: copied through Read, never in
// place, so the Decoder takes its read-ahead path.
class CopyingReader final : public Reader {
 public:
  explicit CopyingReader(const std::string& data) : inner_(data) {}
  Result<size_t> Read(std::span<uint8_t> out) override { return inner_.Read(out); }

 private:
  SpanReader inner_;
};

// LZ4 block compression of arbitrary bytes, for hand-made frames.
std::string Lz4Compress(const std::string& data);

}  // namespace walship::ltx::testing
