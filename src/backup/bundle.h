// The payload of an archived object (inside the envelope, envelope.h): one or
// more whole LTX files, each preceded by its length as a big-endian u64. An
// L0 object holds the consecutive transactions of one upload batch, so a
// restore can stop at any TXID inside it; compacted levels and snapshots hold
// exactly one LTX file.
// Compaction merges them with ltx::Merge.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "ltx/format.h"

namespace walship::backup {

std::string EncodeBundle(const std::vector<std::string>& ltx_files);
// Views into `payload` (which must outlive them). Corruption when a length
// runs past the end or the payload is empty.
Result<std::vector<std::string_view>> DecodeBundle(std::string_view payload);

// Header and trailer of one LTX file, checked only as far as their own rules
// go (the decoder checks the rest when the file is applied).
struct LtxSummary {
  ltx::Header header;
  ltx::Trailer trailer;
};
Result<LtxSummary> SummarizeLtx(std::string_view file);

}  // namespace walship::backup
