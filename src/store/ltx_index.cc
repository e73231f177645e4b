#include "store/ltx_index.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "ltx/format.h"
#include "store/ltx_file_writer.h"

namespace walship::store {

Status LtxIndex::Load(env::Env* env, const std::string& dir, const std::string& aside_dir,
                      const std::string& verified_path) {
  files_.clear();
  WALSHIP_ASSIGN_OR_RETURN(auto names, env->ListDir(dir));
  const auto start = std::chrono::steady_clock::now();
  for (const std::string& name : names) {
    LtxFileInfo file;
    if (!ltx::ParseFileName(name, &file.min_txid, &file.max_txid)) continue;
    file.path = env::JoinPath(dir, name);
    if (file.path == verified_path) {
      WALSHIP_ASSIGN_OR_RETURN(file.post_checksum, ReadLtxPostChecksum(env, file.path));
      Add(std::move(file));
      continue;
    }
    ltx::Header header{};
    ltx::Trailer trailer{};
    Status st = VerifyLtxFile(env, file.path, &header, &trailer);
    if (st.ok() && (header.min_txid != file.min_txid || header.max_txid != file.max_txid)) {
      st = Status::Corruption(file.path + ": holds txids " + std::to_string(header.min_txid) +
                              ".." + std::to_string(header.max_txid) + ", not what its name says");
    }
    if (!st.ok()) {
      WALSHIP_RETURN_IF_ERROR(SetAside(env, file.path, aside_dir, name, st));
      continue;
    }
    file.post_checksum = trailer.post_apply_checksum;
    Add(std::move(file));
    if (files_.size() % 10000 == 0) {
      spdlog::info("verifying LTX files in {}: {} so far", dir, files_.size());
    }
  }
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (!files_.empty()) {
    spdlog::info("verified {} LTX files in {}: {} ms", files_.size(), dir, ms.count());
  }
  return Status::OK();
}

Status LtxIndex::SetAside(env::Env* env, const std::string& path, const std::string& aside_dir,
                          const std::string& name, const Status& why) {
  WALSHIP_RETURN_IF_ERROR(env->MkdirAll(aside_dir));
  const std::string to = env::JoinPath(aside_dir, name);
  WALSHIP_RETURN_IF_ERROR(env->Rename(path, to));
  spdlog::error("LTX file {} failed verification and was moved to {}: {}; the chain has a gap "
                "there, so a replica that needs it gets a snapshot", path, to, why.ToString());
  return Status::OK();
}

void LtxIndex::Add(LtxFileInfo file) {
  const uint64_t key = file.max_txid;
  files_[key] = std::move(file);
}

void LtxIndex::Remove(uint64_t max_txid) { files_.erase(max_txid); }

void LtxIndex::AddRecent(LtxFileInfo transaction) {
  recent_bytes_ += transaction.bytes->size();
  const uint64_t key = transaction.max_txid;
  if (auto old = recent_.find(key); old != recent_.end()) recent_bytes_ -= old->second.bytes->size();
  recent_[key] = std::move(transaction);
}

void LtxIndex::RemoveRecentAfter(uint64_t txid) {
  for (auto it = recent_.upper_bound(txid); it != recent_.end(); it = recent_.erase(it)) {
    recent_bytes_ -= it->second.bytes->size();
  }
}

void LtxIndex::TrimRecent(uint64_t sealed_through, uint64_t budget) {
  while (!recent_.empty() && recent_bytes_ > budget && recent_.begin()->first <= sealed_through) {
    recent_bytes_ -= recent_.begin()->second.bytes->size();
    recent_.erase(recent_.begin());
  }
}

void LtxIndex::Clear() {
  files_.clear();
  recent_.clear();
  recent_bytes_ = 0;
}

std::vector<LtxFileInfo> LtxIndex::All() const {
  std::vector<LtxFileInfo> out;
  out.reserve(files_.size());
  for (const auto& [max_txid, file] : files_) out.push_back(file);
  return out;
}

std::vector<LtxFileInfo> LtxIndex::After(uint64_t txid, size_t limit) const {
  std::vector<LtxFileInfo> out;
  while (out.size() < limit) {
    if (auto it = recent_.find(txid + 1); it != recent_.end()) {
      out.push_back(it->second);
    } else if (auto file = files_.upper_bound(txid); file != files_.end()) {
      out.push_back(file->second);
    } else {
      break;
    }
    txid = out.back().max_txid;
  }
  return out;
}

std::vector<const LtxFileInfo*> LtxIndex::RecentRun(uint64_t txid) const {
  std::vector<const LtxFileInfo*> out;
  auto it = recent_.find(txid + 1);
  if (it == recent_.end()) return out;
  out.reserve(std::distance(it, recent_.end()));
  for (; it != recent_.end() && it->first == txid + 1; ++it, ++txid) out.push_back(&it->second);
  return out;
}

std::vector<Position> LtxIndex::Newest(size_t limit) const {
  std::map<uint64_t, uint64_t> newest;  // TXID to checksum
  auto take = [&](const std::map<uint64_t, LtxFileInfo>& from) {
    size_t n = 0;
    for (auto it = from.rbegin(); it != from.rend() && n < limit; ++it, ++n) {
      newest[it->first] = it->second.post_checksum;
    }
  };
  take(recent_);
  take(files_);
  std::vector<Position> out;
  for (auto it = newest.rbegin(); it != newest.rend() && out.size() < limit; ++it) {
    out.push_back({it->first, it->second});
  }
  return out;
}

std::optional<LtxFileInfo> LtxIndex::EndingAt(uint64_t txid) const {
  if (auto it = recent_.find(txid); it != recent_.end()) return it->second;
  return FileEndingAt(txid);
}

std::optional<LtxFileInfo> LtxIndex::FileEndingAt(uint64_t txid) const {
  auto it = files_.find(txid);
  if (it == files_.end()) return std::nullopt;
  return it->second;
}

}  // namespace walship::store
