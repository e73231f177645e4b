// ApplyQueue: staged items wait for Submit, then go to the applying thread
// together and in order.
#include "repl/apply_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace walship::repl {
namespace {

using namespace std::chrono_literals;

// Records the order in which the applying thread handles kDiverged items
// (their common_txid tells them apart).
class Recorder {
 public:
  Status Handle(const Received& item) {
    std::lock_guard lock(mu_);
    seen_.push_back(item.common_txid);
    return Status::OK();
  }
  std::vector<uint64_t> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  std::vector<uint64_t> seen_;
};

Received Marker(uint64_t n) { return {.kind = Received::Kind::kDiverged, .common_txid = n}; }

TEST(ApplyQueue, StagedItemsWaitForSubmitThenApplyInOrder) {
  Recorder recorder;
  ApplyQueue queue(
      nullptr, [&](const Received& item) { return recorder.Handle(item); }, nullptr);
  for (uint64_t n = 1; n <= 3; n++) ASSERT_TRUE(queue.Stage(Marker(n)).ok());
  std::this_thread::sleep_for(50ms);  // time enough for a wrongly woken thread
  EXPECT_TRUE(recorder.seen().empty());
  ASSERT_TRUE(queue.Submit().ok());
  ASSERT_TRUE(queue.Stage(Marker(4)).ok());
  ASSERT_TRUE(queue.Drain().ok());  // submits the fourth too
  EXPECT_EQ(recorder.seen(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(queue.Finish().ok());
}

TEST(ApplyQueue, StagingManyItemsSubmitsThemWithoutBeingAsked) {
  Recorder recorder;
  ApplyQueue queue(
      nullptr, [&](const Received& item) { return recorder.Handle(item); }, nullptr);
  for (uint64_t n = 1; n <= ApplyQueue::kMaxStagedFiles; n++) {
    ASSERT_TRUE(queue.Stage(Marker(n)).ok());
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (recorder.seen().size() < ApplyQueue::kMaxStagedFiles &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(recorder.seen().size(), ApplyQueue::kMaxStagedFiles);
  queue.Abort();
}

TEST(ApplyQueue, FinishAppliesWhatIsStillStaged) {
  Recorder recorder;
  ApplyQueue queue(
      nullptr, [&](const Received& item) { return recorder.Handle(item); }, nullptr);
  ASSERT_TRUE(queue.Stage(Marker(7)).ok());
  EXPECT_TRUE(queue.Finish().ok());
  EXPECT_EQ(recorder.seen(), (std::vector<uint64_t>{7}));
}

}  // namespace
}  // namespace walship::repl
