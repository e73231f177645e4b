// Readers on a replica never see a transaction half-applied (issue 11: apply
// takes SQLite's own locks through the mount). Transfers on the primary move
// an amount between two rows on pages far apart, so every committed state has
// the same total; readers on the replica sum the rows in their own read
// transactions while the transfers arrive, a few milliseconds apart. Each
// read transaction sums the two halves of the table in two statements and,
// between them, waits (30 ms at most) for the replica's -pos to move: an
// apply that does not wait for readers to leave lands there. The replica
// pauses after each page it applies (WALSHIP_TEST_APPLY_PAGE_DELAY_US), so a
// reader let in during an apply reads one page before and one after. And the
// test keeps dropping the kernel's cached pages of the replica's database
// file, so reads reach the file being written.
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

constexpr int kAccounts = 400;
constexpr int64_t kBalance = 1000;

// WAL mode: readers on the replica use its -shm, and apply holds their read
// locks. Rollback modes: apply holds the database file's EXCLUSIVE lock.
class ApplyIsolation : public ::testing::TestWithParam<JournalMode> {};

TEST_P(ApplyIsolation, ReadersSeeOnlyWholeTransactions) {
  ClusterOptions options = Nodes(2);
  options.replica_env = {{"WALSHIP_TEST_APPLY_PAGE_DELAY_US", "2000"}};
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start());
  Sql primary(cluster.primary().Path(kDb));
  ASSERT_TRUE(primary.ok()) << primary.error();
  ASSERT_TRUE(primary.Exec(
      std::string("PRAGMA journal_mode=") + ModeName(GetParam()) +
      "; CREATE TABLE accounts(id INTEGER PRIMARY KEY, balance INTEGER, "
      "pad BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < " +
      std::to_string(kAccounts) + ") INSERT INTO accounts SELECT i, " + std::to_string(kBalance) +
      ", randomblob(900) FROM n"));
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(30)));

  std::atomic<bool> done{false};
  std::thread cache_dropper([&] {
    const int fd = ::open(cluster.node(1).Path(kDb).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    while (!done) {
      (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ::close(fd);
  });
  std::atomic<int64_t> reads{0}, torn{0};
  std::string reader_error;
  std::thread reader([&] {
    Sql sql(cluster.node(1).Path(kDb), 30000);
    const std::string half = std::to_string(kAccounts / 2);
    const std::string mount = cluster.node(1).mount_dir();
    auto txid_now = [&] {
      Result<Pos> pos = ReadPos(mount, kDb);
      return pos.ok() ? pos->txid : 0;
    };
    while (!done) {
      const uint64_t before = txid_now();
      if (auto began = sql.Exec("BEGIN"); !began) {
        reader_error = began.message();
        return;
      }
      auto low = sql.QueryInt("SELECT sum(balance) FROM accounts WHERE id <= " + half);
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::milliseconds(30);
      while (std::chrono::steady_clock::now() < give_up && txid_now() == before) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll interval
      }
      auto high = sql.QueryInt("SELECT sum(balance) FROM accounts WHERE id > " + half);
      if (!low.ok() || !high.ok()) {
        reader_error = (low.ok() ? high : low).status().ToString();
        return;
      }
      if (auto ended = sql.Exec("COMMIT"); !ended) {
        reader_error = ended.message();
        return;
      }
      reads++;
      if (*low + *high != kAccounts * kBalance) torn++;
    }
  });
  for (int i = 0; i < 60; i++) {
    const int from = 1 + i % (kAccounts / 2), to = from + kAccounts / 2;
    ASSERT_TRUE(primary.Exec("BEGIN; UPDATE accounts SET balance = balance - 7 WHERE id = " +
                             std::to_string(from) +
                             "; UPDATE accounts SET balance = balance + 7 WHERE id = " +
                             std::to_string(to) + "; COMMIT"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // one apply each, mostly
  }
  ASSERT_TRUE(WaitConverged(cluster, kDb, seconds(60)));
  done = true;
  reader.join();
  cache_dropper.join();
  EXPECT_EQ(reader_error, "") << "a reader failed (busy or corrupt) while transactions arrived";
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(torn.load(), 0) << "of " << reads.load() << " sums, " << torn.load()
                            << " saw part of a transfer";
  EXPECT_TRUE(cluster.StopAll());
}

INSTANTIATE_TEST_SUITE_P(JournalModes, ApplyIsolation,
                         ::testing::Values(JournalMode::kWal, JournalMode::kDelete), ParamName);

}  // namespace
}  // namespace walship::testing::cluster
