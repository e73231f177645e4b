#include "ltx/merge.h"

#include <map>

#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/io.h"

namespace walship::ltx {

Result<std::string> Merge(const std::vector<std::string_view>& files, bool compress) {
  if (files.empty()) return Status::InvalidArgument("merge: no files");
  std::map<uint32_t, std::string> pages;
  Header first{}, last{};
  Trailer last_trailer{};
  for (size_t i = 0; i < files.size(); i++) {
    SpanReader reader(files[i]);
    Decoder dec(&reader);
    auto header = dec.DecodeHeader();
    if (!header.ok()) return header.status().WithContext("merge: file " + std::to_string(i));
    if (i == 0) {
      first = *header;
    } else {
      if (header->min_txid != last.max_txid + 1) {
        return Status::InvalidArgument("merge: file " + std::to_string(i) + " starts at TXID " +
                                       std::to_string(header->min_txid) + ", expected " +
                                       std::to_string(last.max_txid + 1));
      }
      if (!header->NoChecksum() && !last.NoChecksum() &&
          header->pre_apply_checksum != last_trailer.post_apply_checksum) {
        return Status::Corruption("merge: file " + std::to_string(i) +
                                  " does not continue the checksum of the file before it");
      }
    }
    // A page-size change rewrites every page; nothing before it survives.
    if (i > 0 && header->page_size != last.page_size) pages.clear();
    uint32_t pgno = 0;
    std::span<const uint8_t> page;
    for (;;) {
      auto more = dec.DecodePage(&pgno, &page);
      if (!more.ok()) return more.status().WithContext("merge: file " + std::to_string(i));
      if (!*more) break;
      pages[pgno].assign(reinterpret_cast<const char*>(page.data()), page.size());
    }
    auto trailer = dec.Finish();
    if (!trailer.ok()) return trailer.status().WithContext("merge: file " + std::to_string(i));
    last = *header;
    last_trailer = *trailer;
    pages.erase(pages.upper_bound(last.commit), pages.end());
  }
  Header out{};
  out.flags = (first.NoChecksum() || last.NoChecksum()) ? kHeaderFlagNoChecksum : 0;
  out.page_size = last.page_size;
  out.commit = last.commit;
  out.min_txid = first.min_txid;
  out.max_txid = last.max_txid;
  out.timestamp_ms = last.timestamp_ms;
  out.pre_apply_checksum = out.flags ? 0 : first.pre_apply_checksum;
  out.node_id = last.node_id;
  // Where the last transaction's frames ended in the WAL: a node that sealed
  // its newest transactions into this file recovers the WAL after them.
  out.wal_offset = last.wal_offset;
  out.wal_size = last.wal_size;
  out.wal_salt1 = last.wal_salt1;
  out.wal_salt2 = last.wal_salt2;
  std::string merged;
  StringWriter writer(&merged);
  Encoder enc(&writer, compress);
  WALSHIP_RETURN_IF_ERROR(enc.EncodeHeader(out).WithContext("merge"));
  for (const auto& [pgno, data] : pages) {
    WALSHIP_RETURN_IF_ERROR(
        enc.EncodePage(pgno, std::span(reinterpret_cast<const uint8_t*>(data.data()), data.size()))
            .WithContext("merge"));
  }
  WALSHIP_RETURN_IF_ERROR(
      enc.Finish(out.flags ? 0 : last_trailer.post_apply_checksum).WithContext("merge"));
  return merged;
}

}  // namespace walship::ltx
