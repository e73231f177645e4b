#include "ltx/merge.h"

#include <algorithm>
#include <map>

#include "ltx/decoder.h"
#include "ltx/encoder.h"
#include "ltx/indexed_file.h"
#include "ltx/io.h"

namespace walship::ltx {
namespace {

std::string FileText(size_t i) { return "merge: file " + std::to_string(i); }

// File `i` (header h) must start right after the file before it and continue
// its checksum.
Status CheckContinues(size_t i, const Header& h, const IndexedFile& before) {
  if (h.min_txid != before.header().max_txid + 1) {
    return Status::InvalidArgument(FileText(i) + " starts at TXID " + std::to_string(h.min_txid) +
                                   ", expected " + std::to_string(before.header().max_txid + 1));
  }
  if (!h.NoChecksum() && !before.header().NoChecksum() &&
      h.pre_apply_checksum != before.trailer().post_apply_checksum) {
    return Status::Corruption(FileText(i) +
                              " does not continue the checksum of the file before it");
  }
  return Status::OK();
}

Result<std::vector<IndexedFile>> OpenAll(const std::vector<std::string_view>& files,
                                         MergeInputs inputs) {
  std::vector<IndexedFile> out;
  out.reserve(files.size());
  for (size_t i = 0; i < files.size(); i++) {
    if (inputs == MergeInputs::kVerify) {
      SpanReader reader(files[i]);
      WALSHIP_RETURN_IF_ERROR(Verify(&reader).WithContext(FileText(i)));
    }
    Result<IndexedFile> f = IndexedFile::Open(files[i]);
    if (!f.ok()) return f.status().WithContext(FileText(i));
    if (i > 0) WALSHIP_RETURN_IF_ERROR(CheckContinues(i, f->header(), out.back()));
    out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace

Result<std::string> Merge(const std::vector<std::string_view>& files, bool compress,
                          MergeInputs inputs) {
  if (files.empty()) return Status::InvalidArgument("merge: no files");
  WALSHIP_ASSIGN_OR_RETURN(const std::vector<IndexedFile> run, OpenAll(files, inputs));
  const Header& first = run.front().header();
  const Header& last = run.back().header();
  // Newest file first: the first version of a page found is its last one; a
  // page past the smallest commit size from its file on was cut off; a file
  // before a change of page size contributes nothing (the change rewrites
  // every page). Only the pages that survive are decompressed.
  struct Source {
    const IndexedFile* file;
    const PageIndexEntry* entry;
  };
  std::map<uint32_t, Source> pages;
  uint32_t commit = UINT32_MAX;
  for (size_t i = run.size(); i-- > 0 && run[i].header().page_size == last.page_size;) {
    commit = std::min(commit, run[i].header().commit);
    for (const PageIndexEntry& e : run[i].index()) {
      if (e.pgno <= commit) pages.emplace(e.pgno, Source{&run[i], &e});  // keeps the newer
    }
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
  std::vector<uint8_t> page(out.page_size);
  for (const auto& [pgno, source] : pages) {
    WALSHIP_RETURN_IF_ERROR(source.file->ReadPage(*source.entry, page).WithContext("merge"));
    WALSHIP_RETURN_IF_ERROR(enc.EncodePage(pgno, page).WithContext("merge"));
  }
  WALSHIP_RETURN_IF_ERROR(
      enc.Finish(out.flags ? 0 : run.back().trailer().post_apply_checksum).WithContext("merge"));
  return merged;
}

}  // namespace walship::ltx
