#include "store/received_ltx.h"

#include "ltx/decoder.h"
#include "ltx/io.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

Result<ReceivedLtx> ReceivedLtxFromBytes(std::string bytes, const std::string& what) {
  ReceivedLtx out;
  ltx::SpanReader reader(bytes);
  WALSHIP_RETURN_IF_ERROR(ltx::Verify(&reader, &out.header, &out.trailer).WithContext(what));
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
