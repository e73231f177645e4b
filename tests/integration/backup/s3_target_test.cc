// S3Target against a real s3rver: object round trips, nested listing,
// multipart uploads, and the retry policy (4xx never, network errors yes).
#include "backup/s3_target.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "backup_util.h"
#include "harness/status_assert.h"

namespace walship::testing {
namespace {

using backup::S3Target;
using backup::S3Tuning;

class S3TargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.Start());
    auto t = S3Target::Open(server_.Options("pfx"), Fast());
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    target_ = std::move(*t);
    ASSERT_TRUE(target_->CreateBucket().ok());
  }
  static S3Tuning Fast() {
    S3Tuning t;
    t.max_attempts = 3;
    t.initial_backoff = std::chrono::milliseconds(50);
    t.multipart_threshold = 6 << 20;
    t.part_size = 5 << 20;
    return t;
  }
  S3rver server_;
  std::unique_ptr<S3Target> target_;
};

TEST_F(S3TargetTest, PutGetListDeleteWithNestedKeys) {
  ASSERT_TRUE(target_->Put("a.db/L0/0000000000000001-0000000000000002.ltx", "one").ok());
  ASSERT_TRUE(target_->Put("a.db/snapshots/0000000000000002.ltx", "two").ok());
  ASSERT_TRUE(target_->Put("b.db/L0/0000000000000001-0000000000000001.ltx", "three").ok());
  auto got = target_->Get("a.db/snapshots/0000000000000002.ltx");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "two");
  auto list = target_->List("a.db/");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  std::vector<std::string> keys;
  for (const auto& o : *list) keys.push_back(o.key);
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"a.db/L0/0000000000000001-0000000000000002.ltx",
                                            "a.db/snapshots/0000000000000002.ltx"}));
  EXPECT_GT((*list)[0].modified_ms, 0);
  ASSERT_TRUE(target_->Delete("a.db/snapshots/0000000000000002.ltx").ok());
  EXPECT_TRUE(target_->Get("a.db/snapshots/0000000000000002.ltx").status().IsNotFound());
  EXPECT_EQ(target_->List("a.db/")->size(), 1u);
}

TEST_F(S3TargetTest, ListsPastOneThousandKeys) {
  for (int i = 0; i < 1005; i++) ASSERT_TRUE(target_->Put("many/" + std::to_string(i), "x").ok());
  auto list = target_->List("many/");
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ(list->size(), 1005u);
}

TEST_F(S3TargetTest, LargeObjectsGoUpInParts) {
  std::string big(11 << 20, '\0');
  for (size_t i = 0; i < big.size(); i++) big[i] = char(i * 131 % 251);
  const uint64_t before = target_->requests_sent();
  ASSERT_TRUE(target_->Put("big/snapshot", big).ok());
  EXPECT_EQ(target_->requests_sent() - before, 5u);  // initiate, 3 parts, complete
  auto got = target_->Get("big/snapshot");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(*got == big);
}

TEST_F(S3TargetTest, ClientErrorsAreNotRetried) {
  auto options = server_.Options("pfx");
  options.access_key_id = "NOSUCHKEY";  // s3rver checks the key id, not SigV4 itself
  auto bad = S3Target::Open(options, Fast());
  ASSERT_TRUE(bad.ok());
  Status st = (*bad)->Put("k", "v");
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
  EXPECT_FALSE(st.IsRetryable());
  EXPECT_NE(st.message().find("403"), std::string::npos) << st.message();
  EXPECT_EQ((*bad)->requests_sent(), 1u);
  const uint64_t before = target_->requests_sent();
  EXPECT_TRUE(target_->Get("missing").status().IsNotFound());
  EXPECT_EQ(target_->requests_sent() - before, 1u);
}

TEST_F(S3TargetTest, NetworkErrorsAreRetriedThenReportedRetryable) {
  server_.Stop();
  const uint64_t before = target_->requests_sent();
  Status st = target_->Put("k", "v");
  EXPECT_TRUE(st.IsRetryable()) << st.ToString();
  EXPECT_EQ(target_->requests_sent() - before, 3u);
  ASSERT_TRUE(server_.Start());
  EXPECT_TRUE(target_->Put("k", "v").ok());
}

}  // namespace
}  // namespace walship::testing
