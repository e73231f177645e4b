#include "fuse/fuse_test_util.h"

#include <sys/stat.h>

#include <cstdio>

namespace walship::testing {

uint64_t SetUpTxids(JournalMode mode) { return mode == JournalMode::kWal ? 2 : 1; }

::testing::AssertionResult SetUpDb(Sql& sql, JournalMode mode) {
  auto got = sql.QueryString(std::string("PRAGMA journal_mode=") + ModeName(mode));
  if (!got.ok()) return ::testing::AssertionFailure() << got.status().ToString();
  if (*got != ModeName(mode)) {
    return ::testing::AssertionFailure()
           << "journal_mode is " << *got << ", wanted " << ModeName(mode);
  }
  return sql.Exec(
      "CREATE TABLE t(id INTEGER PRIMARY KEY, writer INTEGER NOT NULL, seq INTEGER NOT NULL, "
      "payload BLOB, UNIQUE(writer, seq))");
}

::testing::AssertionResult InsertRow(Sql& sql, int64_t writer, int64_t seq, int payload_bytes) {
  return sql.Exec("INSERT INTO t(writer, seq, payload) VALUES(" + std::to_string(writer) + ", " +
                  std::to_string(seq) + ", randomblob(" + std::to_string(payload_bytes) + "))");
}

int WriterChild(const std::string& path, const WriterSpec& spec) {
  Sql sql(path, spec.busy_timeout_ms);
  if (!sql.ok()) return 2;
  if (!spec.setup_sql.empty() && !sql.Exec(spec.setup_sql)) return 2;
  for (int64_t seq = 0; seq < spec.rows; seq++) {
    struct stat st;
    if (!spec.liveness_path.empty() && ::stat(spec.liveness_path.c_str(), &st) != 0) return 1;
    if (auto r = InsertRow(sql, spec.writer, seq, spec.payload_bytes); !r) {
      std::fprintf(stderr, "writer %lld: %s\n", static_cast<long long>(spec.writer), r.message());
      return 1;
    }
    if (spec.acks && !spec.acks->Send(uint64_t(seq))) return 3;
  }
  return 0;
}

int64_t CountRows(Sql& sql, const std::string& where) {
  auto n = sql.QueryInt("SELECT count(*) FROM t WHERE " + where);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

int64_t CountTxids(const WalshipProcess& walship, const std::string& db) {
  auto chain = VerifyLtxChain(walship.data_dir(), db);
  EXPECT_TRUE(chain.ok()) << chain.status().ToString();
  return chain.ok() ? int64_t(chain->transactions) : -1;
}

Pos MountTest::CurrentPos() const {
  auto pos = Position();
  EXPECT_TRUE(pos.ok()) << pos.status().ToString();
  return pos.ok() ? *pos : Pos{};
}

void MountTest::SetUp() { ASSERT_TRUE(walship_.Start()); }

void MountTest::TearDown() {
  if (walship_.running()) {
    EXPECT_TRUE(walship_.Stop());
  }
}

}  // namespace walship::testing
