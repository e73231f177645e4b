#include "ltx_test_util.h"

#include <gtest/gtest.h>
#include <lz4.h>

#include "base/coding.h"
#include "base/crc64.h"

namespace walship::ltx::testing {

std::string MakePage(uint32_t page_size, uint32_t pgno, uint32_t seed, bool compressible) {
  std::string page(page_size, '\0');
  uint64_t x = (uint64_t(pgno) << 32 | seed) * 0x9e3779b97f4a7c15ULL + 1;
  for (uint32_t i = 0; i < page_size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    page[i] = char(x >> 24);
  }
  if (compressible) {
    // Keep a short random head so different pages differ, fill the rest.
    std::fill(page.begin() + 16, page.end(), char('a' + (pgno + seed) % 26));
  }
  return page;
}

Header MakeHeader(uint32_t page_size, uint32_t commit, uint64_t min_txid, uint64_t max_txid) {
  Header h;
  h.page_size = page_size;
  h.commit = commit;
  h.min_txid = min_txid;
  h.max_txid = max_txid;
  h.timestamp_ms = 1700000000123;
  h.node_id = 0x1122334455667788ULL;
  if (min_txid != 1) h.pre_apply_checksum = kChecksumFlag | 0x0123456789abcdefULL;
  return h;
}

std::string EncodeFile(const Header& header, const std::map<uint32_t, std::string>& pages,
                       uint64_t post_apply) {
  std::string out;
  StringWriter w(&out);
  Encoder enc(&w);
  EXPECT_TRUE(enc.EncodeHeader(header).ok());
  for (const auto& [pgno, page] : pages) {
    Status s = enc.EncodePage(pgno, Bytes(page));
    EXPECT_TRUE(s.ok()) << s.ToString();
  }
  if (post_apply == 0 && !header.NoChecksum()) post_apply = enc.pages_checksum();
  Status s = enc.Finish(post_apply);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(enc.bytes_written(), out.size());
  return out;
}

Result<Decoded> DecodeFile(const std::string& file) {
  SpanReader r(file);
  Decoder dec(&r);
  Decoded d;
  WALSHIP_ASSIGN_OR_RETURN(d.header, dec.DecodeHeader());
  uint32_t pgno;
  std::span<const uint8_t> page;
  for (;;) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, dec.DecodePage(&pgno, &page));
    if (!more) break;
    d.pages[pgno].assign(reinterpret_cast<const char*>(page.data()), page.size());
  }
  WALSHIP_ASSIGN_OR_RETURN(d.trailer, dec.Finish());
  d.index = dec.page_index();
  return d;
}

std::string Lz4Compress(const std::string& data) {
  std::string out(size_t(LZ4_compressBound(int(data.size()))), '\0');
  int n = LZ4_compress_default(data.data(), out.data(), int(data.size()), int(out.size()));
  EXPECT_GT(n, 0);
  out.resize(size_t(n));
  return out;
}

void RawFile::AddPage(uint32_t pgno, const std::string& page) {
  AddFrame(pgno, kPageFlagSize, Lz4Compress(page), page);
  pages_checksum_ = ChecksumXor(pages_checksum_, PageChecksum(pgno, Bytes(page)));
}

void RawFile::AddFrame(uint32_t pgno, uint16_t flags, const std::string& payload,
                       const std::string& decompressed) {
  std::string head;
  AppendBE32(&head, pgno);
  AppendBE16(&head, flags);
  AppendBE32(&head, uint32_t(payload.size()));
  index_.push_back({pgno, kHeaderSize + frames_.size(), head.size() + payload.size()});
  frames_ += head + payload;
  hashed_ += head + decompressed;
}

std::string RawFile::Build(uint64_t post_apply) const {
  std::string header(kHeaderSize, '\0');
  PutHeader(header_, std::span<uint8_t, kHeaderSize>(reinterpret_cast<uint8_t*>(header.data()),
                                                     kHeaderSize));
  std::string tail(kPageHeaderSize, '\0');
  std::string index;
  for (const PageIndexEntry& e : index_) {
    AppendUvarint(&index, e.pgno);
    AppendUvarint(&index, e.offset);
    AppendUvarint(&index, e.size);
  }
  AppendUvarint(&index, 0);
  AppendBE64(&index, index.size());
  tail += index;
  AppendBE64(&tail, post_apply);
  uint64_t crc = Crc64(Bytes(header + hashed_ + tail));
  AppendBE64(&tail, kChecksumFlag | crc);
  return header + frames_ + tail;
}

}  // namespace walship::ltx::testing
