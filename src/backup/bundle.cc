#include "backup/bundle.h"

#include <map>

#include "base/coding.h"
#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/io.h"

namespace walship::backup {

std::string EncodeBundle(const std::vector<std::string>& ltx_files) {
  size_t total = 0;
  for (const auto& f : ltx_files) total += 8 + f.size();
  std::string out;
  out.reserve(total);
  for (const auto& f : ltx_files) {
    uint64_t n = f.size();
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
    out += f;
  }
  return out;
}

Result<std::vector<std::string_view>> DecodeBundle(std::string_view payload) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < payload.size()) {
    if (payload.size() - pos < 8) {
      return Status::Corruption("bundle: truncated length field at offset " + std::to_string(pos));
    }
    uint64_t n = 0;
    for (int i = 0; i < 8; i++) n = n << 8 | static_cast<uint8_t>(payload[pos + i]);
    pos += 8;
    if (n > payload.size() - pos) {
      return Status::Corruption("bundle: entry " + std::to_string(out.size()) + " claims " +
                                std::to_string(n) + " bytes, only " +
                                std::to_string(payload.size() - pos) + " remain");
    }
    out.push_back(payload.substr(pos, n));
    pos += n;
  }
  if (out.empty()) return Status::Corruption("bundle: no LTX file in the object");
  return out;
}

Result<LtxSummary> SummarizeLtx(std::string_view file) {
  if (file.size() < ltx::kHeaderSize + ltx::kTrailerSize) {
    return Status::Corruption("LTX file of " + std::to_string(file.size()) + " bytes is truncated");
  }
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(file.data()), file.size());
  LtxSummary s;
  WALSHIP_ASSIGN_OR_RETURN(s.header, ltx::ParseHeader(bytes));
  if (Status st = s.header.Validate(); !st.ok()) return Status::Corruption(st.message());
  s.trailer = ltx::ParseTrailer(bytes.subspan(file.size() - ltx::kTrailerSize).first<ltx::kTrailerSize>());
  return s;
}

Result<std::string> MergeLtx(const std::vector<std::string_view>& files) {
  if (files.empty()) return Status::InvalidArgument("merge: no files");
  std::map<uint32_t, std::string> pages;
  ltx::Header first{}, last{};
  ltx::Trailer last_trailer{};
  for (size_t i = 0; i < files.size(); i++) {
    ltx::SpanReader reader(files[i]);
    ltx::Decoder dec(&reader);
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
    std::string page;
    for (;;) {
      auto more = dec.DecodePage(&pgno, &page);
      if (!more.ok()) return more.status().WithContext("merge: file " + std::to_string(i));
      if (!*more) break;
      pages[pgno] = page;
    }
    auto trailer = dec.Finish();
    if (!trailer.ok()) return trailer.status().WithContext("merge: file " + std::to_string(i));
    last = *header;
    last_trailer = *trailer;
    pages.erase(pages.upper_bound(last.commit), pages.end());
  }
  ltx::Header out{};
  out.flags = (first.NoChecksum() || last.NoChecksum()) ? ltx::kHeaderFlagNoChecksum : 0;
  out.page_size = last.page_size;
  out.commit = last.commit;
  out.min_txid = first.min_txid;
  out.max_txid = last.max_txid;
  out.timestamp_ms = last.timestamp_ms;
  out.pre_apply_checksum = out.flags ? 0 : first.pre_apply_checksum;
  out.node_id = last.node_id;
  std::string merged;
  ltx::StringWriter writer(&merged);
  ltx::Encoder enc(&writer);
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

}  // namespace walship::backup
