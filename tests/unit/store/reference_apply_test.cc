// A replica applies LTX files that walship did not write: the reference
// implementation's snapshot and increment (tests/golden/ltx-reference/). The
// database file ends as the pages the reference encoded, at the position and
// checksum it computed.
#include <gtest/gtest.h>

#include "ltx/checksum.h"
#include "store/db.h"
#include "store/received_ltx.h"
#include "test_util.h"

#ifndef WALSHIP_REFERENCE_DIR
#error "WALSHIP_REFERENCE_DIR must name tests/golden/ltx-reference"
#endif

namespace walship::store {
namespace {

using testing::ReadAll;
using testing::TempDir;

std::string Reference(const std::string& name) {
  const std::string path = std::string(WALSHIP_REFERENCE_DIR) + "/" + name;
  auto bytes = env::Env::Posix()->ReadFile(path);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? *bytes : "";
}

Status Apply(Db* replica, const std::string& name) {
  WALSHIP_ASSIGN_OR_RETURN(ReceivedLtx received, ReceivedLtxFromBytes(Reference(name), name));
  std::vector<ReceivedLtx> batch;
  batch.push_back(std::move(received));
  return replica->ApplyBatch(batch, nullptr);
}

DbOptions Options(const TempDir& dir) {
  DbOptions options;
  options.name = "ref.db";
  options.dir = dir / "dbs/ref.db";
  options.env = env::Env::Posix();
  options.node_id = 2;
  return options;
}

std::vector<uint8_t> Page(int (*byte_at)(int)) {
  std::vector<uint8_t> page(4096);
  for (int i = 0; i < 4096; i++) page[i] = uint8_t(byte_at(i));
  return page;
}

TEST(ReferenceApply, AReplicaAppliesTheReferencesSnapshotAndIncrement) {
  TempDir dir;
  const DbOptions options = Options(dir);
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  ASSERT_TRUE(replica.SetReplica(true, nullptr).ok());

  ASSERT_TRUE(Apply(&replica, "snapshot-4096.ltx").ok());
  EXPECT_EQ(replica.pos().txid, 1u);
  EXPECT_EQ(replica.pos().checksum, 0xc9ebd33187d31b7eULL);
  Status st = Apply(&replica, "increment-4096.ltx");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(replica.pos().txid, 2u);
  EXPECT_EQ(replica.pos().checksum, 0xe79948ebb1dec9efULL);

  std::vector<uint8_t> want = Page([](int i) { return (i * 7 + 1) % 256; });
  for (const auto& page : {Page([](int i) { return (i * 13 + 5) % 256; }),
                           Page([](int i) { return 255 - i % 256; })}) {
    want.insert(want.end(), page.begin(), page.end());
  }
  EXPECT_EQ(ReadAll(options.dir + "/database"), want);
}

// The increment alone does not continue an empty database: refused, nothing applied.
TEST(ReferenceApply, TheIncrementAloneIsRefused) {
  TempDir dir;
  Db replica(Options(dir));
  ASSERT_TRUE(replica.Open().ok());
  ASSERT_TRUE(replica.SetReplica(true, nullptr).ok());
  EXPECT_FALSE(Apply(&replica, "increment-4096.ltx").ok());
  EXPECT_EQ(replica.pos().txid, 0u);
}

}  // namespace
}  // namespace walship::store
