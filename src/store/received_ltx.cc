#include "store/received_ltx.h"

#include "base/coding.h"
#include "ltx/decoder.h"
#include "ltx/io.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

namespace {

// Decodes the whole file as ltx::Verify does, keeping the pages in `out`
// while they fit.
Status DecodeKeeping(ltx::Reader* reader, ReceivedLtx* out) {
  ltx::Decoder decoder(reader);
  WALSHIP_ASSIGN_OR_RETURN(out->header, decoder.DecodeHeader());
  out->pages_kept = true;
  uint32_t pgno = 0;
  std::span<const uint8_t> page;
  while (true) {
    WALSHIP_ASSIGN_OR_RETURN(bool more, decoder.DecodePage(&pgno, &page));
    if (!more) break;
    if (!out->pages_kept) continue;
    if (out->page_bytes.size() + page.size() > ReceivedLtx::kKeptPagesLimit) {
      out->pages_kept = false;
      out->pages = {};
      out->page_bytes = {};
      continue;
    }
    out->pages.push_back({pgno, decoder.last_page_checksum()});
    out->page_bytes.append(reinterpret_cast<const char*>(page.data()), page.size());
  }
  WALSHIP_ASSIGN_OR_RETURN(out->trailer, decoder.Finish());
  return Status::OK();
}

}  // namespace

std::span<const uint8_t> ReceivedLtx::PageBytes(size_t i) const {
  const size_t page_size = header.page_size;
  return AsBytes(std::string_view(page_bytes).substr(i * page_size, page_size));
}

Result<ReceivedLtx> ReceivedLtxFromBytes(std::string bytes, const std::string& what,
                                         KeepPages keep) {
  ReceivedLtx out;
  ltx::SpanReader reader(bytes);
  if (keep == KeepPages::kYes) {
    WALSHIP_RETURN_IF_ERROR(DecodeKeeping(&reader, &out).WithContext(what));
  } else {
    WALSHIP_RETURN_IF_ERROR(ltx::Verify(&reader, &out.header, &out.trailer).WithContext(what));
  }
  out.file_size = bytes.size();
  out.bytes = std::move(bytes);
  return out;
}

Result<ReceivedLtx> ReceivedLtxFromFile(env::Env* env, std::string tmp_path) {
  ReceivedLtx out;
  WALSHIP_RETURN_IF_ERROR(VerifyLtxFile(env, tmp_path, &out.header, &out.trailer));
  WALSHIP_ASSIGN_OR_RETURN(auto file, env->Open(tmp_path, env::OpenMode::kRead));
  WALSHIP_ASSIGN_OR_RETURN(out.file_size, file->Size());
  out.tmp_path = std::move(tmp_path);
  return out;
}

}  // namespace walship::store
