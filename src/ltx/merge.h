// Merge folds a run of consecutive LTX files into one: TXIDs min..max, the
// last version of each page (pages past the last commit size dropped), the
// pre-apply checksum of the first, the post-apply checksum, commit size and
// WAL position of the last.
// Used to seal a database's newest transactions into one file (store) and to
// compact archived levels (backup; docs/backup.md, "Compaction").
//
// A pure function; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace walship::ltx {

// What Merge checks of its inputs before it trusts their page indexes.
enum class MergeInputs {
  kVerify,   // each file is decoded and verified completely (files from storage)
  kTrusted,  // files this process made, or verified when it received or read
             // them (a database's LTX log): headers, trailers and indexes
             // only, which is what makes a seal cheap (ltx/indexed_file.h)
};

// Each file must start right after the previous one and, unless a file
// tracks no checksums, its pre-apply checksum must equal the previous
// post-apply checksum. Corruption or InvalidArgument naming the file index at
// fault. Only the surviving version of each page is decompressed.
// `compress` as for Encoder.
Result<std::string> Merge(const std::vector<std::string_view>& files, bool compress = true,
                          MergeInputs inputs = MergeInputs::kVerify);

}  // namespace walship::ltx
