// ReceivedLtx: one verified LTX file a replica received from its primary,
// waiting to be applied (Db::ApplyBatch). A file up to kInMemoryLimit bytes
// is held in memory, so it is written to ltx/ once and decoded from memory;
// a larger one (a snapshot) was streamed into a temporary file in the
// database's ltx/ directory and is renamed into place.
//
// Thread-safety: a plain value; one thread uses it at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "env/env.h"
#include "ltx/format.h"

namespace walship::store {

struct ReceivedLtx {
  static constexpr size_t kInMemoryLimit = 8 << 20;

  ltx::Header header{};
  ltx::Trailer trailer{};
  std::string bytes;     // the whole file, when it is held in memory
  std::string tmp_path;  // else: where it was received (not synced)
  uint64_t file_size = 0;

};

// Verifies `bytes` as a whole LTX file (ltx::Verify); `what` names it in errors.
Result<ReceivedLtx> ReceivedLtxFromBytes(std::string bytes, const std::string& what);
// Verifies the LTX file at `tmp_path`.
Result<ReceivedLtx> ReceivedLtxFromFile(env::Env* env, std::string tmp_path);

}  // namespace walship::store
