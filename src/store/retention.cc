#include "store/retention.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include "base/thread_name.h"

namespace walship::store {

Retention::Retention(Store* store, std::chrono::milliseconds retention,
                     std::chrono::milliseconds interval)
    : store_(store), retention_(retention), interval_(interval) {}

Retention::~Retention() { Stop(); }

void Retention::Start() {
  thread_ = std::jthread([this](std::stop_token stop) {
    NameThisThread("ws-retention");
    std::mutex mu;
    std::condition_variable_any cv;
    while (!stop.stop_requested()) {
      std::unique_lock lock(mu);
      if (cv.wait_for(lock, stop, interval_, [] { return false; })) break;
      if (stop.stop_requested()) break;
      RunOnce();
    }
  });
}

void Retention::Stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

size_t Retention::RunOnce() {
  size_t deleted = 0;
  for (Db* db : store_->List()) deleted += EnforceOn(db);
  return deleted;
}

size_t Retention::EnforceOn(Db* db) {
  const std::vector<LtxFileInfo> files = db->ListLtxFiles();
  if (files.size() < 2) return 0;
  const auto cutoff = std::chrono::system_clock::now() - retention_;
  const uint64_t floor = floor_ ? floor_(db->name()) : UINT64_MAX;
  size_t deleted = 0;
  for (size_t i = 0; i + 1 < files.size(); i++) {  // never the newest
    const LtxFileInfo& f = files[i];
    if (f.max_txid > floor) break;  // not archived yet
    struct stat st;
    if (::stat(f.path.c_str(), &st) != 0) continue;
    auto mtime = std::chrono::system_clock::from_time_t(st.st_mtim.tv_sec);
    if (mtime >= cutoff) break;  // files are in TXID order, so in time order too
    if (db->RemoveLtxFile(f.max_txid).ok()) deleted++;
  }
  if (deleted) {
    spdlog::debug("retention: {}: deleted {} LTX files older than {} ms", db->name(), deleted,
                  retention_.count());
  }
  return deleted;
}

}  // namespace walship::store
