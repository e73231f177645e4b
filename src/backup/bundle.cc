#include "backup/bundle.h"

#include "base/coding.h"

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

}  // namespace walship::backup
