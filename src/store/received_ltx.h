// ReceivedLtx: one verified LTX file a replica received from its primary,
// waiting to be applied (Db::ApplyBatch). A file up to kInMemoryLimit bytes
// is held in memory, so it is written to ltx/ once and decoded from memory;
// a larger one (a snapshot) was streamed into a temporary file in the
// database's ltx/ directory and is renamed into place. A replica keeps the
// pages of a small file as it verified them (KeepPages::kYes), so applying it
// does not decode it again.
//
// Thread-safety: a plain value; one thread uses it at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "ltx/format.h"

namespace walship::store {

struct ReceivedLtx {
  static constexpr size_t kInMemoryLimit = 8 << 20;
  // Decoded pages are kept up to this many bytes a file; a larger file's
  // pages are decoded again when it is applied.
  static constexpr size_t kKeptPagesLimit = 1 << 20;

  struct Page {
    uint32_t pgno;
    uint64_t checksum;  // ltx::PageChecksum of the page
  };

  ltx::Header header{};
  ltx::Trailer trailer{};
  std::string bytes;     // the whole file, when it is held in memory
  std::string tmp_path;  // else: where it was received (not synced)
  uint64_t file_size = 0;
  // When pages_kept: every page of the file in order, page i at
  // page_bytes[i * page size].
  bool pages_kept = false;
  std::vector<Page> pages;
  std::string page_bytes;

  std::span<const uint8_t> PageBytes(size_t i) const;
  // Memory held: the file and the kept pages.
  size_t HeldBytes() const { return bytes.size() + page_bytes.size(); }
};

enum class KeepPages { kNo, kYes };

// Verifies `bytes` as a whole LTX file (as ltx::Verify); `what` names it in
// errors. With KeepPages::kYes the pages are kept if they fit.
Result<ReceivedLtx> ReceivedLtxFromBytes(std::string bytes, const std::string& what,
                                         KeepPages keep = KeepPages::kNo);
// Verifies the LTX file at `tmp_path`.
Result<ReceivedLtx> ReceivedLtxFromFile(env::Env* env, std::string tmp_path);

}  // namespace walship::store
