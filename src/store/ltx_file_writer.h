// LtxFileWriter: writes one LTX file crash-safely — encoded into NAME.tmp
// through a buffer, then (optionally fsynced) renamed to NAME — and
// VerifyLtxFile, which checks a whole file on disk.
//
// Thread-safety: one writer is used by one thread; VerifyLtxFile is
// thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/env.h"
#include "ltx/encoder.h"
#include "ltx/format.h"

namespace walship::store {

class LtxFileWriter {
 public:
  // `compress` as for ltx::Encoder.
  LtxFileWriter(env::Env* env, std::string path, bool compress);
  ~LtxFileWriter();  // abandons an unfinished file

  Status Begin(const ltx::Header& header);
  // REQUIRES: pages in ascending pgno order, each page_size bytes.
  Status AddPage(uint32_t pgno, std::span<const uint8_t> page);
  // The checksum of the page AddPage took last (the encoder hashes each page).
  uint64_t last_page_checksum() const;
  // Writes the trailer and renames the file into place; with `durable`, the
  // file and its directory are fsynced first.
  Status Finish(uint64_t post_apply_checksum, bool durable);
  // Removes the temporary file; the LTX is not written.
  void Abandon();
  uint64_t bytes_written() const { return bytes_written_; }

 private:
  class BufferedWriter;

  env::Env* env_;
  std::string path_;
  bool compress_;
  std::string tmp_path_;
  std::unique_ptr<env::File> file_;
  std::unique_ptr<BufferedWriter> writer_;
  std::unique_ptr<ltx::Encoder> encoder_;
  uint64_t bytes_written_ = 0;
  bool done_ = false;
};

// The post-apply checksum in the trailer of the LTX file at `path` (not
// verified: callers check the file before trusting it).
Result<uint64_t> ReadLtxPostChecksum(env::Env* env, const std::string& path);

// Makes the files at `paths`, written and renamed into `dir` without syncing,
// durable with their names: each file and then `dir` when there are a few,
// else one syncfs (fsyncing hundreds of files one by one costs far more; a
// syncfs also flushes whatever else is dirty on the file system, which costs
// more than a few fsyncs).
// Callers may stop listing files past kSyncEachUpTo + 1: more is a syncfs.
inline constexpr size_t kSyncEachUpTo = 8;
Status SyncNewFiles(env::Env* env, const std::string& dir, const std::vector<std::string>& paths);

// Reads and fully verifies the LTX file at `path` (see ltx::Verify).
Status VerifyLtxFile(env::Env* env, const std::string& path, ltx::Header* header,
                     ltx::Trailer* trailer);

}  // namespace walship::store
