#include "store/db.h"

#include <gtest/gtest.h>

#include "base/coding.h"
#include "env/fault_env.h"
#include "ltx/checksum.h"
#include "test_util.h"

namespace walship::store {
namespace {

using testing::Exec;
using testing::ReadAll;
using testing::TempDir;

// The bytes of a real database with `rows` rows, made by SQLite elsewhere.
std::vector<uint8_t> RealDatabase(const TempDir& dir, int rows) {
  sqlite3* db = nullptr;
  sqlite3_open((dir / "src.db").c_str(), &db);
  Exec(db, "CREATE TABLE IF NOT EXISTS t(x); DELETE FROM t;");
  for (int i = 0; i < rows; i++) Exec(db, "INSERT INTO t VALUES(randomblob(300))");
  sqlite3_close(db);
  return ReadAll(dir / "src.db");
}

// Replays a rollback-journal transaction as SQLite does it through the mount:
// journal created, database pages written, journal deleted (the commit point).
Status CommitRollback(Db* db, const std::vector<uint8_t>& bytes) {
  WALSHIP_RETURN_IF_ERROR(db->Create(FileKind::kJournal));
  WALSHIP_RETURN_IF_ERROR(db->Write(FileKind::kJournal, 0, std::vector<uint8_t>(512, 0)));
  WALSHIP_RETURN_IF_ERROR(db->Write(FileKind::kDatabase, 0, bytes));
  WALSHIP_RETURN_IF_ERROR(db->Truncate(FileKind::kDatabase, bytes.size()));
  return db->Remove(FileKind::kJournal);
}

uint64_t FileChecksum(const std::string& path) {
  auto file = env::Env::Posix()->Open(path, env::OpenMode::kRead);
  uint64_t size = *(*file)->Size();
  return *ltx::DatabaseChecksum(file->get(), 4096, uint32_t(size / 4096));
}

DbOptions Options(const TempDir& dir, env::Env* env = env::Env::Posix()) {
  DbOptions o;
  o.name = "x.db";
  o.dir = dir / "dbs/x.db";
  o.env = env;
  return o;
}

TEST(Db, RollbackCommitBecomesNextTxidWithFileChecksum) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
  EXPECT_EQ(db.pos().txid, 1u);
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 40)).ok());
  EXPECT_EQ(db.pos().txid, 2u);
  EXPECT_EQ(db.pos().checksum, FileChecksum(dir / "dbs/x.db/database"));
  EXPECT_TRUE(env::Env::Posix()->Exists(dir / "dbs/x.db/ltx/0000000000000002-0000000000000002.ltx"));
}

TEST(Db, UnchangedPagesSpendNoTxid) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  auto bytes = RealDatabase(dir, 5);
  ASSERT_TRUE(CommitRollback(&db, bytes).ok());
  ASSERT_TRUE(CommitRollback(&db, bytes).ok());  // what a replayed hot journal looks like
  EXPECT_EQ(db.pos().txid, 1u);
}

TEST(Db, ReopenRecoversSamePosition) {
  TempDir dir;
  Position before;
  {
    Db db(Options(dir));
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 7)).ok());
    before = db.pos();
  }
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  EXPECT_EQ(db.pos(), before);
}

TEST(Db, FailedLtxStopsWritesUntilRestart) {
  TempDir dir;
  env::FaultEnv faults(env::Env::Posix());
  {
    Db db(Options(dir, &faults));
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 2)).ok());
    faults.FailFrom(env::FaultOp::kRename, ".ltx");
    Status st = CommitRollback(&db, RealDatabase(dir, 30));
    EXPECT_EQ(st.err(), ENOSPC) << st.ToString();
    faults.Heal();
    Status later = db.Write(FileKind::kDatabase, 0, std::vector<uint8_t>(4096, 1));
    EXPECT_FALSE(later.ok());
    EXPECT_NE(later.message().find("stopped accepting writes"), std::string::npos);
    EXPECT_EQ(db.pos().txid, 1u);
  }
  // The journal survived (the commit never passed through): recovery sees a
  // database whose pages no LTX explains and records them, losing nothing.
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  EXPECT_EQ(db.pos().checksum, FileChecksum(dir / "dbs/x.db/database"));
  EXPECT_EQ(db.pos().txid, 2u);
}

}  // namespace
}  // namespace walship::store

namespace walship::store {
namespace {

TEST(Db, ReplicaCompletesAnApplyInterruptedByACrash) {
  TempDir dir;
  DbOptions primary_options = Options(dir);
  Db primary(primary_options);
  ASSERT_TRUE(primary.Open().ok());
  ASSERT_TRUE(CommitRollback(&primary, RealDatabase(dir, 4)).ok());
  ASSERT_TRUE(CommitRollback(&primary, RealDatabase(dir, 9)).ok());

  DbOptions replica_options = Options(dir);
  replica_options.dir = dir / "replica/x.db";
  std::string ltx_dir = replica_options.dir + "/ltx/";
  {
    Db replica(replica_options);
    ASSERT_TRUE(replica.Open().ok());
    ASSERT_TRUE(replica.SetReplica(true, nullptr).ok());
    auto files = primary.ListLtxFiles();
    ASSERT_TRUE(files.ok());
    ASSERT_EQ(files->size(), 2u);
    std::filesystem::copy_file((*files)[0].path, ltx_dir + "0000000000000001-0000000000000001.ltx");
    ASSERT_TRUE(replica.ApplyLtx(ltx_dir + "0000000000000001-0000000000000001.ltx", nullptr).ok());
    // The second file arrives and is made durable; the process dies before applying it.
    std::filesystem::copy_file((*files)[1].path, ltx_dir + "0000000000000002-0000000000000002.ltx");
  }
  Db replica(replica_options);
  ASSERT_TRUE(replica.Open().ok());
  EXPECT_EQ(replica.pos(), primary.pos());
  EXPECT_EQ(FileChecksum(replica_options.dir + "/database"), primary.pos().checksum);
}

TEST(Db, ApplyRejectsAFileThatDoesNotContinueThePosition) {
  TempDir dir;
  Db primary(Options(dir));
  ASSERT_TRUE(primary.Open().ok());
  ASSERT_TRUE(CommitRollback(&primary, RealDatabase(dir, 4)).ok());
  ASSERT_TRUE(CommitRollback(&primary, RealDatabase(dir, 9)).ok());
  DbOptions replica_options = Options(dir);
  replica_options.dir = dir / "replica/x.db";
  Db replica(replica_options);
  ASSERT_TRUE(replica.Open().ok());
  auto files = primary.ListLtxFiles();
  Status st = replica.ApplyLtx((*files)[1].path, nullptr);  // txid 2 onto an empty replica
  EXPECT_EQ(st.code(), Status::Code::kPosMismatch) << st.ToString();
  EXPECT_EQ(replica.pos().txid, 0u);
}

TEST(Db, ReplicaRefusesWritesAndShowsRollbackHeader) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
  ASSERT_TRUE(db.SetReplica(true, nullptr).ok());
  Status st = db.Write(FileKind::kDatabase, 0, std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(st.code(), Status::Code::kReadOnly);
  std::vector<uint8_t> header(100);
  ASSERT_TRUE(db.Read(FileKind::kDatabase, 0, header).ok());
  EXPECT_EQ(header[18], 1);
  EXPECT_EQ(header[19], 1);
  EXPECT_EQ(GetBE32(&header[24]), uint32_t(db.pos().txid));
  EXPECT_NE(GetBE32(&header[92]), GetBE32(&header[24]));
}

}  // namespace
}  // namespace walship::store
