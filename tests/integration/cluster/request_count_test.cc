// The hot path makes no FUSE request that native SQLite would not make a
// system call for (DESIGN.md §2.1), counted by walship itself
// (walship_fuse_requests_total{op} in /metrics): a warm point SELECT makes
// none at all, on the primary and on a replica, in WAL and rollback modes
// (locks are the kernel's, pages and names are cached); an insert in WAL mode
// makes only WRITE requests. Counts, not timings.
#include <map>
#include <regex>
#include <sstream>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

using Counts = std::map<std::string, uint64_t>;

Result<Counts> FuseRequests(const std::string& url) {
  auto body = HttpGet(url, "/metrics");
  if (!body.ok()) return body.status();
  static const std::regex kLine(R"re(^walship_fuse_requests_total\{op="([a-z]+)"\} ([0-9]+)$)re");
  Counts counts;
  std::istringstream lines(*body);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kLine)) counts[m[1]] = std::stoull(m[2]);
  }
  if (counts.empty()) return Status::NotFound("no walship_fuse_requests_total in /metrics");
  return counts;
}

// Requests made between `before` and `after`, the ops with none left out.
Counts Delta(const Counts& before, const Counts& after) {
  Counts out;
  for (const auto& [op, n] : after) {
    const uint64_t was = before.count(op) ? before.at(op) : 0;
    if (n != was) out[op] = n - was;
  }
  return out;
}

std::string Describe(const Counts& counts) {
  std::string out;
  for (const auto& [op, n] : counts) out += op + "=" + std::to_string(n) + " ";
  return out.empty() ? "none" : out;
}

// `n` point SELECTs, each its own read transaction.
::testing::AssertionResult PointSelects(Sql& sql, int n) {
  for (int i = 0; i < n; i++) {
    auto v = sql.QueryInt("SELECT seq FROM t WHERE id = " + std::to_string(1 + i % 20));
    if (!v.ok()) return ::testing::AssertionFailure() << v.status().ToString();
  }
  return ::testing::AssertionSuccess();
}

class RequestCountTest : public ::testing::TestWithParam<JournalMode> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start());
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, GetParam()));
    ASSERT_TRUE(InsertRows(sql, 0, 20));
    ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30)));
  }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  // Runs warm SELECTs on node i's mount and returns the requests they made.
  Counts RequestsOfWarmSelects(size_t i) {
    Sql sql(cluster_.node(i).Path(kDb));
    EXPECT_TRUE(sql.ok()) << sql.error();
    EXPECT_TRUE(PointSelects(sql, 50));  // warm: pages, names and attributes cached
    auto before = FuseRequests(cluster_.Url(i));
    EXPECT_TRUE(before.ok()) << before.status().ToString();
    EXPECT_TRUE(PointSelects(sql, 200));
    auto after = FuseRequests(cluster_.Url(i));
    EXPECT_TRUE(after.ok()) << after.status().ToString();
    if (!before.ok() || !after.ok()) return {{"error", 1}};
    return Delta(*before, *after);
  }

  Cluster cluster_{Nodes(2)};
};

TEST_P(RequestCountTest, WarmSelectsMakeNoRequestOnThePrimary) {
  Counts made = RequestsOfWarmSelects(0);
  EXPECT_TRUE(made.empty()) << "200 SELECTs made " << Describe(made);
}

TEST_P(RequestCountTest, WarmSelectsMakeNoRequestOnAReplica) {
  Counts made = RequestsOfWarmSelects(1);
  EXPECT_TRUE(made.empty()) << "200 SELECTs made " << Describe(made);
}

// Rollback-journal modes keep their syncs and journal files (DESIGN.md §2.1).
// In WAL mode, with FUSE passthrough (the static lease, a kernel that offers
// it) an insert makes no request at all; without it, only WRITE requests.
class WalRequestCountTest : public ::testing::TestWithParam<bool> {
 protected:
  static ClusterOptions Options() {
    ClusterOptions options = Nodes(2);
    if (!GetParam()) options.primary_env = {{"WALSHIP_TEST_NO_PASSTHROUGH", "1"}};
    return options;
  }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }
  Cluster cluster_{Options()};
};

TEST_P(WalRequestCountTest, InsertsMakeOnlyWritesOrNone) {
  const bool passthrough = GetParam();
  ASSERT_TRUE(cluster_.Start());
  ASSERT_EQ(cluster_.primary().PassthroughOn(), passthrough) << cluster_.primary().Log();
  Sql sql(cluster_.primary().Path(kDb));
  ASSERT_TRUE(sql.ok()) << sql.error();
  ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
  ASSERT_TRUE(sql.Exec("PRAGMA synchronous=NORMAL"));
  ASSERT_TRUE(InsertRows(sql, 100, 5));  // warm
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30)));
  auto pos_before = ReadPos(cluster_.primary().mount_dir(), kDb);
  ASSERT_TRUE(pos_before.ok()) << pos_before.status().ToString();
  auto before = FuseRequests(cluster_.Url(0));
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  constexpr int kInserts = 100;
  ASSERT_TRUE(InsertRows(sql, 200, kInserts));
  auto after = FuseRequests(cluster_.Url(0));
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  Counts made = Delta(*before, *after);
  const uint64_t writes = made.count("write") ? made.at("write") : 0;
  made.erase("write");
  EXPECT_TRUE(made.empty()) << kInserts << " inserts made, besides writes: " << Describe(made);
  if (passthrough) {
    EXPECT_EQ(writes, 0u) << "the WAL's frames went through walship";
  } else {
    // A frame header and a page the kernel cuts at a 4 KiB offset: about
    // three per frame, and an insert writes one or two frames.
    EXPECT_GE(writes, uint64_t(2 * kInserts));
    EXPECT_LE(writes, uint64_t(7 * kInserts));
  }
  // Each insert is one TXID, on the primary and on the replica.
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30)));
  auto pos = ReadPos(cluster_.primary().mount_dir(), kDb);
  ASSERT_TRUE(pos.ok()) << pos.status().ToString();
  EXPECT_EQ(pos->txid, pos_before->txid + kInserts);
}

INSTANTIATE_TEST_SUITE_P(JournalModes, RequestCountTest,
                         ::testing::Values(JournalMode::kDelete, JournalMode::kWal), ParamName);
INSTANTIATE_TEST_SUITE_P(Paths, WalRequestCountTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "passthrough" : "requests";
                         });

}  // namespace
}  // namespace walship::testing::cluster
