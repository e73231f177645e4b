#include "repl/apply_queue.h"

#include <spdlog/spdlog.h>

#include <chrono>

#include "base/crash_point.h"
#include "base/thread_name.h"

namespace walship::repl {
namespace {

// Test hook: WALSHIP_TEST_APPLY_DELAY_MS=<n> makes this replica wait n ms
// before applying each batch of received files, so tests can prove that
// readers which need a TXID (the proxy's cookie, a strong read) wait for it
// instead of passing because loopback replication is faster than the read.
void TestApplyDelay() {
  static const long delay_ms = TestHookNumber("WALSHIP_TEST_APPLY_DELAY_MS");
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

}  // namespace

ApplyQueue::ApplyQueue(store::MountAccess* mount, OtherHandler other,
                       std::function<void()> on_failure)
    : mount_(mount), other_(std::move(other)), on_failure_(std::move(on_failure)) {
  thread_ = std::thread([this] {
    NameThisThread("ws-apply");
    Run();
  });
}

ApplyQueue::~ApplyQueue() { Abort(); }

Status ApplyQueue::Stage(Received item) {
  staged_bytes_ += item.ltx.HeldBytes();
  staged_.push_back(std::move(item));
  const bool full = staged_.size() >= kMaxStagedFiles || staged_bytes_ >= kMaxStagedBytes;
  return full ? Submit() : Status::OK();
}

Status ApplyQueue::Submit() {
  if (staged_.empty()) return Status::OK();
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] {
    return !failed_.ok() || aborted_ || queued_bytes_ <= kMaxQueuedBytes;
  });
  if (!failed_.ok()) return failed_;
  if (aborted_) return Status::Aborted("replica: applying stopped");
  for (Received& item : staged_) items_.push_back(std::move(item));
  queued_bytes_ += staged_bytes_;
  pushed_ += staged_.size();
  staged_.clear();
  staged_bytes_ = 0;
  cv_.notify_all();
  return Status::OK();
}

Status ApplyQueue::Drain() {
  WALSHIP_RETURN_IF_ERROR(Submit());
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !failed_.ok() || aborted_ || applied_ == pushed_; });
  if (!failed_.ok()) return failed_;
  if (aborted_) return Status::Aborted("replica: applying stopped");
  return Status::OK();
}

Status ApplyQueue::Finish() {
  if (Status st = Submit(); !st.ok()) {
    Abort();
    return st;
  }
  {
    std::lock_guard lock(mu_);
    finishing_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  return failed_;
}

void ApplyQueue::Abort() {
  {
    std::lock_guard lock(mu_);
    aborted_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ApplyQueue::Run() {
  while (true) {
    std::vector<Received> items;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return aborted_ || finishing_ || !items_.empty(); });
      if (aborted_ || items_.empty()) return;  // items_ is empty only when finishing
      items.assign(std::make_move_iterator(items_.begin()), std::make_move_iterator(items_.end()));
      items_.clear();
      queued_bytes_ = 0;
    }
    cv_.notify_all();  // room for the receiver again
    Status st = ApplyInOrder(items);
    if (st.ok()) {
      {
        std::lock_guard lock(mu_);
        applied_ += items.size();
      }
      cv_.notify_all();
    }
    if (!st.ok()) {
      {
        std::lock_guard lock(mu_);
        failed_ = st;
      }
      cv_.notify_all();
      if (on_failure_) on_failure_();
      return;
    }
  }
}

Status ApplyQueue::ApplyInOrder(std::vector<Received>& items) {
  for (size_t i = 0; i < items.size();) {
    if (items[i].kind != Received::Kind::kLtx) {
      WALSHIP_RETURN_IF_ERROR(other_(items[i]));
      i++;
      continue;
    }
    // The LTX files of one database that follow each other; a snapshot
    // starts a batch of its own.
    std::vector<store::ReceivedLtx> batch;
    store::Db* db = items[i].db;
    for (; i < items.size() && items[i].kind == Received::Kind::kLtx && items[i].db == db &&
           (batch.empty() || !items[i].ltx.header.IsSnapshot()) && batch.size() < kMaxBatchFiles;
         i++) {
      batch.push_back(std::move(items[i].ltx));
    }
    if (batch.front().header.IsSnapshot()) {
      spdlog::info("replica: applying snapshot of {} at txid {} ({} pages)", db->name(),
                   batch.front().header.max_txid, batch.front().header.commit);
    }
    TestApplyDelay();
    {
      std::lock_guard lock(mu_);
      if (aborted_) return Status::OK();
    }
    WALSHIP_RETURN_IF_ERROR(db->ApplyBatch(batch, mount_));
  }
  return Status::OK();
}

}  // namespace walship::repl
