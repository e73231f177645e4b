#include "store/ltx_index.h"

#include <spdlog/spdlog.h>

#include "ltx/format.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

Status LtxIndex::Load(env::Env* env, const std::string& dir) {
  files_.clear();
  WALSHIP_ASSIGN_OR_RETURN(auto names, env->ListDir(dir));
  for (const std::string& name : names) {
    LtxFileInfo file;
    if (!ltx::ParseFileName(name, &file.min_txid, &file.max_txid)) continue;
    file.path = env::JoinPath(dir, name);
    auto checksum = ReadLtxPostChecksum(env, file.path);
    if (!checksum.ok()) {
      spdlog::warn("LTX file {} is unreadable and left out of the chain: {}", file.path,
                   checksum.status().ToString());
      continue;
    }
    file.post_checksum = *checksum;
    Add(std::move(file));
  }
  return Status::OK();
}

void LtxIndex::Add(LtxFileInfo file) {
  const uint64_t key = file.max_txid;
  files_[key] = std::move(file);
}

void LtxIndex::Remove(uint64_t max_txid) { files_.erase(max_txid); }

std::vector<LtxFileInfo> LtxIndex::All() const {
  std::vector<LtxFileInfo> out;
  out.reserve(files_.size());
  for (const auto& [max_txid, file] : files_) out.push_back(file);
  return out;
}

std::vector<LtxFileInfo> LtxIndex::After(uint64_t txid, size_t limit) const {
  std::vector<LtxFileInfo> out;
  for (auto it = files_.upper_bound(txid); it != files_.end() && out.size() < limit; ++it) {
    out.push_back(it->second);
  }
  return out;
}

std::optional<LtxFileInfo> LtxIndex::EndingAt(uint64_t txid) const {
  auto it = files_.find(txid);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

}  // namespace walship::store
