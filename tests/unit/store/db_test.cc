#include "store/db.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "base/coding.h"
#include "env/fault_env.h"
#include "ltx/checksum.h"
#include "store/ltx_file_writer.h"
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
  WALSHIP_RETURN_IF_ERROR(db->Write(FileKind::kJournal, 0, testing::HotJournalHeader()));
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

// Where the entries of an LTX log file end, and how many there are: big-endian
// u64 lengths, each followed by that many bytes, up to a zero length (the end
// mark) or the end of the file.
struct LogEnd {
  uint64_t offset = 0;
  size_t entries = 0;
};
LogEnd FindLogEnd(const std::string& path) {
  auto log = env::Env::Posix()->ReadFile(path);
  LogEnd end;
  if (!log.ok()) return end;
  while (log->size() - end.offset >= 8) {
    const uint64_t length = GetBE64(reinterpret_cast<const uint8_t*>(log->data() + end.offset));
    if (length == 0) break;
    end.offset += 8 + length;
    end.entries++;
  }
  return end;
}
size_t LogEntries(const std::string& path) { return FindLogEnd(path).entries; }

TEST(Db, RollbackCommitBecomesNextTxidWithFileChecksum) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
  EXPECT_EQ(db.pos().txid, 1u);
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 40)).ok());
  EXPECT_EQ(db.pos().txid, 2u);
  EXPECT_EQ(db.pos().checksum, FileChecksum(dir / "dbs/x.db/database"));
}

// data.compress: false stores pages uncompressed (as LZ4 literals), with the
// same transactions and checksums.
TEST(Db, WithoutCompressionTheSameCommitsTakeMoreBytes) {
  TempDir images;
  const auto first = RealDatabase(images, 3), second = RealDatabase(images, 40);
  std::vector<std::pair<Position, uint64_t>> runs;  // position, LTX bytes
  for (bool compress : {true, false}) {
    TempDir dir;
    DbOptions options = Options(dir);
    options.compress = compress;
    Db db(options);
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(CommitRollback(&db, first).ok());
    ASSERT_TRUE(CommitRollback(&db, second).ok());
    uint64_t bytes = 0;
    for (const LtxFileInfo& f : db.LtxFilesAfter(0, SIZE_MAX)) {
      ASSERT_TRUE(ReceivedLtxFromBytes(*f.bytes, "txid").ok());
      bytes += f.bytes->size();
    }
    runs.push_back({db.pos(), bytes});
  }
  EXPECT_EQ(runs[0].first, runs[1].first);
  EXPECT_GT(runs[1].second, 2 * runs[0].second);
}

// The LTX of each commit is appended to the LTX log and held in memory: no
// file is created per commit. Reopening seals the log into one file.
// Outside a transaction only a checkpoint writes the database file: bytes of a
// committed WAL frame of that page — any committed version, since a checkpoint
// may copy one that a commit it has not seen yet outdated — and a cut to a
// committed size. Anything else is refused and changes nothing.
TEST(Db, OnlyCommittedFramesMayBeWrittenOutsideATransaction) {
  TempDir dir;
  sqlite3* src = nullptr;
  sqlite3_open((dir / "w.db").c_str(), &src);
  Exec(src, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x);");
  for (int i = 0; i < 3; i++) Exec(src, "INSERT INTO t VALUES(randomblob(100))");
  const std::vector<uint8_t> wal = ReadAll(dir / "w.db-wal");
  sqlite3_close(src);
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(db.Create(FileKind::kWal).ok());
  ASSERT_TRUE(db.Write(FileKind::kWal, 0, wal).ok());
  ASSERT_GE(db.pos().txid, 4u);
  const Position pos = db.pos();
  // Every version of page 2 in the WAL, oldest first.
  constexpr size_t kFrame = 4096 + 24;
  std::vector<std::vector<uint8_t>> versions;
  for (size_t at = 32; at + kFrame <= wal.size(); at += kFrame) {
    const uint32_t pgno = uint32_t(wal[at]) << 24 | uint32_t(wal[at + 1]) << 16 |
                          uint32_t(wal[at + 2]) << 8 | wal[at + 3];
    if (pgno == 2) versions.emplace_back(wal.begin() + at + 24, wal.begin() + at + kFrame);
  }
  ASSERT_GE(versions.size(), 3u);
  ASSERT_NE(versions.front(), versions.back());
  EXPECT_TRUE(db.Write(FileKind::kDatabase, 4096, versions.front()).ok());
  EXPECT_TRUE(db.Write(FileKind::kDatabase, 4096, versions.back()).ok());
  std::vector<uint8_t> stray = versions.back();
  stray[100] ^= 0xff;
  Status st = db.Write(FileKind::kDatabase, 4096, stray);
  EXPECT_NE(st.message().find("refusing a write of 4096 bytes at offset 4096"), std::string::npos)
      << st.ToString();
  st = db.Truncate(FileKind::kDatabase, 0);
  EXPECT_NE(st.message().find("refusing truncating it to 0 bytes"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(db.pos(), pos);
  EXPECT_EQ(ReadAll(dir / "dbs/x.db/database").size(), 8192u);
}

// A file in the mount that holds no SQLite database records nothing and
// fails nothing: a script SQLite's test suite writes next to its databases,
// and a database whose creating transaction was rolled back (left empty).
TEST(Db, AFileThatIsNoDatabaseRecordsNothing) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  const std::string script = "puts {hello}\n";
  ASSERT_TRUE(db.Write(FileKind::kDatabase, 0, {reinterpret_cast<const uint8_t*>(script.data()),
                                                script.size()}).ok());
  EXPECT_TRUE(db.Sync(FileKind::kDatabase).ok());
  EXPECT_TRUE(db.Close(FileKind::kDatabase).ok());
  EXPECT_EQ(db.pos().txid, 0u);
  ASSERT_TRUE(db.Truncate(FileKind::kDatabase, 0).ok());
  // A creation rolled back: the journal goes, the database stays empty.
  ASSERT_TRUE(db.Create(FileKind::kJournal).ok());
  ASSERT_TRUE(db.Write(FileKind::kJournal, 0, testing::HotJournalHeader()).ok());
  EXPECT_TRUE(db.Remove(FileKind::kJournal).ok());
  EXPECT_EQ(db.pos().txid, 0u);
  EXPECT_TRUE(db.LtxFilesAfter(0, 10).empty());
  // It becomes a database like any other once SQLite writes one.
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
  EXPECT_EQ(db.pos().txid, 1u);
}

TEST(Db, CommitsGoToTheLogNotToAFileEach) {
  TempDir dir;
  const std::string ltx_dir = dir / "dbs/x.db/ltx";
  Position before;
  {
    Db db(Options(dir));
    ASSERT_TRUE(db.Open().ok());
    for (int rows : {3, 40, 80}) ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, rows)).ok());
    EXPECT_TRUE(env::Env::Posix()->ListDir(ltx_dir)->empty());
    EXPECT_TRUE(db.ListLtxFiles().empty());
    const std::vector<LtxFileInfo> chain = db.LtxFilesAfter(0, 10);
    ASSERT_EQ(chain.size(), 3u);
    for (size_t i = 0; i < chain.size(); i++) {
      EXPECT_EQ(chain[i].min_txid, i + 1);
      EXPECT_EQ(chain[i].max_txid, i + 1);
      ASSERT_TRUE(chain[i].bytes);
      EXPECT_TRUE(ReceivedLtxFromBytes(*chain[i].bytes, "txid").ok());
    }
    EXPECT_EQ(*db.ChecksumAt(2), chain[1].post_checksum);
    before = db.pos();
  }
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  EXPECT_EQ(db.pos(), before);
  EXPECT_EQ(*env::Env::Posix()->ListDir(ltx_dir),
            std::vector<std::string>{"0000000000000001-0000000000000003.ltx"});
  EXPECT_EQ(LogEntries(dir / "dbs/x.db/ltx.log"), 0u);
  // Recent transactions stay in memory after sealing: a replica a little
  // behind still gets each on its own.
  EXPECT_EQ(db.LtxFilesAfter(1, 10).front().max_txid, 2u);
}

TEST(Db, AFullLogIsSealedIntoOneMultiTxidFile) {
  TempDir dir;
  DbOptions options = Options(dir);
  options.seal_txids = 2;
  Db db(options);
  ASSERT_TRUE(db.Open().ok());
  for (int rows : {3, 40, 80, 90, 100}) ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, rows)).ok());
  const std::vector<LtxFileInfo> files = db.ListLtxFiles();
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].min_txid, 1u);
  EXPECT_EQ(files[0].max_txid, 2u);
  EXPECT_EQ(files[1].min_txid, 3u);
  EXPECT_EQ(files[1].max_txid, 4u);
  ltx::Header header{};
  ltx::Trailer trailer{};
  ASSERT_TRUE(VerifyLtxFile(env::Env::Posix(), files[1].path, &header, &trailer).ok());
  EXPECT_EQ(header.pre_apply_checksum, *db.ChecksumAt(2));
  EXPECT_EQ(trailer.post_apply_checksum, *db.ChecksumAt(4));
  // A replica applying the sealed files alone reaches the same database.
  DbOptions replica_options = Options(dir);
  replica_options.dir = dir / "replica/x.db";
  replica_options.node_id = 2;
  Db replica(replica_options);
  ASSERT_TRUE(replica.Open().ok());
  ASSERT_TRUE(replica.SetReplica(true, nullptr).ok());
  std::vector<ReceivedLtx> batch;
  for (const LtxFileInfo& f : files) {
    batch.push_back(*ReceivedLtxFromBytes(*env::Env::Posix()->ReadFile(f.path), f.path));
  }
  batch.push_back(*ReceivedLtxFromBytes(*db.LtxFilesAfter(4, 1).front().bytes, "txid 5"));
  ASSERT_TRUE(replica.ApplyBatch(batch, nullptr).ok());
  EXPECT_EQ(replica.pos(), db.pos());
  EXPECT_EQ(FileChecksum(replica_options.dir + "/database"), db.pos().checksum);
}

// A replica applies the pages it kept when it verified a file exactly as it
// applies a file it decodes again (too large to keep, or read from disk).
TEST(Db, KeptPagesApplyAsTheFileDoes) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  for (int rows : {3, 40, 80, 20, 100})
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, rows)).ok());
  for (KeepPages keep : {KeepPages::kYes, KeepPages::kNo}) {
    DbOptions replica_options = Options(dir);
    replica_options.dir = dir / ("replica" + std::to_string(int(keep)) + "/x.db");
    replica_options.node_id = 2;
    Db replica(replica_options);
    ASSERT_TRUE(replica.Open().ok());
    ASSERT_TRUE(replica.SetReplica(true, nullptr).ok());
    std::vector<ReceivedLtx> batch;
    for (const LtxFileInfo& f : db.LtxFilesAfter(0, 10)) {
      ASSERT_TRUE(f.bytes) << "txid " << f.max_txid << " is not in memory";
      Result<ReceivedLtx> received = ReceivedLtxFromBytes(*f.bytes, "ltx", keep);
      ASSERT_TRUE(received.ok()) << received.status().ToString();
      EXPECT_EQ(received->pages_kept, keep == KeepPages::kYes);
      batch.push_back(std::move(*received));
    }
    ASSERT_EQ(batch.size(), 5u);
    ASSERT_TRUE(replica.ApplyBatch(batch, nullptr).ok());
    EXPECT_EQ(replica.pos(), db.pos());
    EXPECT_EQ(FileChecksum(replica_options.dir + "/database"), db.pos().checksum);
    EXPECT_EQ(ReadAll(replica_options.dir + "/database"), ReadAll(dir / "dbs/x.db/database"));
  }
}

// A transaction larger than what is held in memory gets a file of its own,
// after the log before it is sealed, so the files stay in TXID order.
TEST(Db, ALargeTransactionGetsItsOwnFileAfterTheLogIsSealed) {
  TempDir dir;
  Position before;
  {
    Db db(Options(dir));
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 40)).ok());
    sqlite3* big = nullptr;
    sqlite3_open((dir / "big.db").c_str(), &big);
    Exec(big, "CREATE TABLE t(x); WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
              "WHERE i < 12000) INSERT INTO t SELECT randomblob(1000) FROM c;");
    sqlite3_close(big);
    const std::vector<uint8_t> bytes = ReadAll(dir / "big.db");
    ASSERT_GT(bytes.size(), ReceivedLtx::kInMemoryLimit);
    ASSERT_TRUE(CommitRollback(&db, bytes).ok());
    const std::vector<LtxFileInfo> files = db.ListLtxFiles();
    ASSERT_EQ(files.size(), 2u);
    EXPECT_EQ(files[0].max_txid, 2u);
    EXPECT_EQ(files[1].min_txid, 3u);
    EXPECT_EQ(files[1].max_txid, 3u);
    EXPECT_EQ(db.LtxFilesAfter(2, 10).size(), 1u);
    EXPECT_FALSE(db.LtxFilesAfter(2, 10).front().bytes) << "held in memory";
    EXPECT_EQ(LogEntries(dir / "dbs/x.db/ltx.log"), 0u);
    EXPECT_EQ(db.pos().checksum, FileChecksum(dir / "dbs/x.db/database"));
    before = db.pos();
  }
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  EXPECT_EQ(db.pos(), before);
}

// A commit point that is a sync (every rollback-mode commit) makes the log
// durable before the commit returns: a log that cannot be synced fails it.
TEST(Db, ADurableCommitSyncsTheLog) {
  TempDir dir;
  env::FaultEnv faults(env::Env::Posix());
  Db db(Options(dir, &faults));
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
  faults.FailFrom(env::FaultOp::kSync, "ltx.log");
  EXPECT_FALSE(CommitRollback(&db, RealDatabase(dir, 40)).ok());
}

// What a crash leaves in the log: whole entries, then part of one.
TEST(Db, ATornLogTailIsCutOffAndTheWholeEntriesStand) {
  TempDir dir;
  Position after_two;
  {
    Db db(Options(dir));
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
    ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 40)).ok());
    after_two = db.pos();
  }
  const std::string log = dir / "dbs/x.db/ltx.log";
  const std::string whole = *env::Env::Posix()->ReadFile(log);
  ASSERT_GT(whole.size(), 200u);
  // Half of a copy of the first entry, as if the next append was cut short.
  std::string torn = whole + whole.substr(0, whole.size() / 4);
  ASSERT_TRUE(env::Env::Posix()
                  ->WriteFileAtomic(log, {reinterpret_cast<const uint8_t*>(torn.data()),
                                          torn.size()}, false)
                  .ok());
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  EXPECT_EQ(db.pos(), after_two);
  EXPECT_EQ(db.ListLtxFiles().size(), 1u);
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
    faults.FailFrom(env::FaultOp::kWrite, "ltx.log");
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

void WriteFile(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(env::Env::Posix()
                  ->WriteFileAtomic(path, {reinterpret_cast<const uint8_t*>(bytes.data()),
                                           bytes.size()}, false)
                  .ok());
}

// Applies one LTX as a replica receives it: a batch of one.
Status ApplyBytes(Db* replica, const std::string& bytes) {
  auto received = ReceivedLtxFromBytes(bytes, "ltx");
  if (!received.ok()) return received.status();
  std::vector<ReceivedLtx> batch;
  batch.push_back(std::move(*received));
  return replica->ApplyBatch(batch, nullptr);
}

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
    const std::vector<LtxFileInfo> files = primary.LtxFilesAfter(0, 10);
    ASSERT_EQ(files.size(), 2u);
    ASSERT_TRUE(ApplyBytes(&replica, *files[0].bytes).ok());
    // The second file arrives and is made durable; the process dies before applying it.
    WriteFile(ltx_dir + "0000000000000002-0000000000000002.ltx", *files[1].bytes);
  }
  Db replica(replica_options);
  ASSERT_TRUE(replica.Open().ok());
  EXPECT_EQ(replica.pos(), primary.pos());
  EXPECT_EQ(FileChecksum(replica_options.dir + "/database"), primary.pos().checksum);
}

// A primary with `n` rollback commits, and the database bytes after each. The
// last commit changes one byte of page 2, so replaying it alone repairs
// nothing the commits before it wrote.
struct History {
  std::vector<std::vector<uint8_t>> states;  // states[i]: after txid i + 1
  std::vector<LtxFileInfo> files;
  Position pos;
};

History MakeHistory(const TempDir& dir, int n) {
  Db primary(Options(dir));
  EXPECT_TRUE(primary.Open().ok());
  History h;
  for (int i = 0; i < n - 1; i++) {
    h.states.push_back(RealDatabase(dir, 40 + 30 * i));
    EXPECT_TRUE(CommitRollback(&primary, h.states.back()).ok());
  }
  h.states.push_back(h.states.back());
  std::vector<uint8_t> page2(h.states.back().begin() + 4096, h.states.back().begin() + 8192);
  page2[100] ^= 0xff;
  std::copy(page2.begin(), page2.end(), h.states.back().begin() + 4096);
  EXPECT_TRUE(primary.Create(FileKind::kJournal).ok());
  EXPECT_TRUE(primary.Write(FileKind::kJournal, 0, testing::HotJournalHeader()).ok());
  EXPECT_TRUE(primary.Write(FileKind::kDatabase, 4096, page2).ok());
  EXPECT_TRUE(primary.Remove(FileKind::kJournal).ok());
  h.files = primary.LtxFilesAfter(0, SIZE_MAX);  // each commit, from memory
  h.pos = primary.pos();
  EXPECT_EQ(h.files.size(), size_t(n));
  return h;
}

DbOptions ReplicaOptions(const TempDir& dir) {
  DbOptions o = Options(dir);
  o.dir = dir / "replica/x.db";
  o.node_id = 2;  // the files come from another node
  return o;
}

std::vector<ReceivedLtx> Received(const History& h, size_t from, size_t to) {
  std::vector<ReceivedLtx> out;
  for (size_t i = from; i < to; i++) {
    out.push_back(*ReceivedLtxFromBytes(*h.files[i].bytes, "txid " + std::to_string(i + 1)));
  }
  return out;
}

// Applies txids from+1..to of `h` as one batch.
Status ApplyRun(Db* replica, const History& h, size_t from, size_t to) {
  auto batch = Received(h, from, to);
  return replica->ApplyBatch(batch, nullptr);
}

// Appends an entry to the replica's LTX log as the format says: a
// big-endian u64 length, then the LTX file, then the end mark (a zero length).
void AppendToLog(const DbOptions& replica, const std::string& ltx) {
  const std::string path = replica.dir + "/ltx.log";
  std::string entry(8, '\0');
  PutBE64(reinterpret_cast<uint8_t*>(entry.data()), ltx.size());
  entry += ltx + std::string(8, '\0');
  auto file = env::Env::Posix()->Open(path, env::OpenMode::kCreate);
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)
                  ->WriteAt(FindLogEnd(path).offset,
                            {reinterpret_cast<const uint8_t*>(entry.data()), entry.size()})
                  .ok());
}

// What a crash leaves of a batch being applied: its files durable in the
// LTX log (but `skip`), and the database file holding the state before it
// with `torn` written over its first bytes (part of the batch's pages).
void CrashMidBatch(const DbOptions& replica, const History& h, size_t from, size_t to,
                   const std::vector<uint8_t>& torn, size_t skip = SIZE_MAX) {
  for (size_t i = from; i < to; i++) {
    if (i != skip) AppendToLog(replica, *h.files[i].bytes);
  }
  auto file = env::Env::Posix()->Open(replica.dir + "/database", env::OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->WriteAt(0, torn).ok());
}

// A replica that applied txids 1 and 2 as one batch, then stopped.
void ApplyTheFirstTwo(const DbOptions& options, const History& h) {
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  auto first = Received(h, 0, 2);
  ASSERT_TRUE(replica.ApplyBatch(first, nullptr).ok());
}

std::vector<uint8_t> FirstHalf(const std::vector<uint8_t>& bytes) {
  return {bytes.begin(), bytes.begin() + bytes.size() / 2};
}

TEST(Db, ReplicaAppliesABatchWithOneMarkerOfWhereItsDatabaseWasSynced) {
  TempDir dir;
  History h = MakeHistory(dir, 5);
  Db replica(ReplicaOptions(dir));
  ASSERT_TRUE(replica.Open().ok());
  std::vector<uint64_t> told;
  replica.SetCommitListener([&](const std::string&, const ltx::Header& header, uint64_t) {
    told.push_back(header.max_txid);
  });
  auto batch = Received(h, 0, 5);
  ASSERT_TRUE(replica.ApplyBatch(batch, nullptr).ok());
  EXPECT_EQ(replica.pos(), h.pos);
  EXPECT_EQ(FileChecksum(ReplicaOptions(dir).dir + "/database"), h.pos.checksum);
  EXPECT_EQ(told, (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(*env::Env::Posix()->ReadFile(ReplicaOptions(dir).dir + "/applied"),
            h.pos.PosFileText());
  // Txid 1 (a snapshot: it starts the chain) is a file in ltx/; every
  // later one a recent transaction, kept in the LTX log, not a file.
  EXPECT_EQ(replica.LtxFilesAfter(0, SIZE_MAX).size(), 5u);
  EXPECT_EQ(replica.ListLtxFiles().size(), 1u);
  std::string log = *env::Env::Posix()->ReadFile(ReplicaOptions(dir).dir + "/ltx.log");
  for (size_t i = 1; i < h.files.size(); i++) {
    EXPECT_NE(log.find(*h.files[i].bytes), std::string::npos) << "txid " << i + 1;
  }
}

TEST(Db, ReplicaSealsItsLogLikeAPrimary) {
  TempDir dir;
  History h = MakeHistory(dir, 5);
  DbOptions options = ReplicaOptions(dir);
  options.seal_txids = 3;
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  ASSERT_TRUE(ApplyRun(&replica, h, 0, 5).ok());
  const std::vector<LtxFileInfo> files = replica.ListLtxFiles();
  ASSERT_EQ(files.size(), 2u);  // the snapshot that starts the chain, and the log sealed
  EXPECT_EQ(files[1].min_txid, 2u);
  EXPECT_EQ(files[1].max_txid, 5u);
  EXPECT_EQ(files[1].post_checksum, h.pos.checksum);
  EXPECT_EQ(LogEntries(options.dir + "/ltx.log"), 0u);
  // Each TXID keeps its own checksum in memory: a replica resuming from any
  // of them (after a failover to this node) continues without a snapshot.
  for (const LtxFileInfo& f : h.files) EXPECT_EQ(*replica.ChecksumAt(f.max_txid), f.post_checksum);
  const std::vector<Position> newest = replica.NewestPositions(3);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0], h.pos);
  EXPECT_EQ(newest[2].txid, 3u);
}

class StepClock final : public Clock {
 public:
  int64_t NowUnixMs() const override { return Clock::Real()->NowUnixMs(); }
  std::chrono::steady_clock::time_point Monotonic() const override { return now; }
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
};

Position AppliedMarker(const DbOptions& options) {
  auto text = env::Env::Posix()->ReadFile(options.dir + "/applied");
  return text.ok() ? *Position::ParsePosFileText(*text) : Position{};
}

TEST(Db, ReplicaSyncsItsDatabaseFileAtMostOnceASecond) {
  TempDir dir;
  History h = MakeHistory(dir, 5);
  StepClock clock;
  DbOptions options = ReplicaOptions(dir);
  options.clock = &clock;
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  // A snapshot's batch is synced at once: it replaces the whole chain.
  ASSERT_TRUE(ApplyRun(&replica, h, 0, 2).ok());
  const Position synced = replica.pos();
  EXPECT_EQ(AppliedMarker(options), synced);
  // Within the second the database file is not synced: the log holds the
  // batch, and `applied` still names the last sync.
  clock.now += std::chrono::milliseconds(999);
  ASSERT_TRUE(ApplyRun(&replica, h, 2, 3).ok());
  EXPECT_EQ(replica.pos().txid, 3u);
  EXPECT_EQ(AppliedMarker(options), synced);
  clock.now += std::chrono::milliseconds(1);
  ASSERT_TRUE(ApplyRun(&replica, h, 3, 4).ok());
  EXPECT_EQ(AppliedMarker(options).txid, 4u);
  // Promotion makes the file durable: a primary's recovery replays only its
  // own transactions.
  ASSERT_TRUE(ApplyRun(&replica, h, 4, 5).ok());
  ASSERT_TRUE(replica.SetReplica(true, nullptr).ok());
  ASSERT_TRUE(replica.SetReplica(false, nullptr).ok());
  EXPECT_EQ(AppliedMarker(options), h.pos);
}

TEST(Db, ReplicaSyncsItsDatabaseFileBeforeSealingItsLog) {
  TempDir dir;
  History h = MakeHistory(dir, 5);
  StepClock clock;
  DbOptions options = ReplicaOptions(dir);
  options.clock = &clock;
  options.seal_txids = 3;
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  ASSERT_TRUE(ApplyRun(&replica, h, 0, 1).ok());
  for (size_t i = 1; i < 5; i++) {
    ASSERT_TRUE(ApplyRun(&replica, h, i, i + 1).ok());
  }
  // Txids 2..4 filled the log: the database was synced at 4, then sealed.
  ASSERT_EQ(replica.ListLtxFiles().size(), 2u);
  EXPECT_EQ(replica.ListLtxFiles().back().max_txid, 4u);
  EXPECT_EQ(AppliedMarker(options).txid, 4u);
}

TEST(Db, ABatchIsAppliedUpToTheFirstFileThatDoesNotContinue) {
  TempDir dir;
  History h = MakeHistory(dir, 4);
  Db replica(ReplicaOptions(dir));
  ASSERT_TRUE(replica.Open().ok());
  std::vector<ReceivedLtx> batch = Received(h, 0, 2);
  batch.push_back(Received(h, 3, 4).front());  // txid 4 after 2
  Status st = replica.ApplyBatch(batch, nullptr);
  EXPECT_EQ(st.code(), Status::Code::kPosMismatch) << st.ToString();
  EXPECT_EQ(replica.pos().txid, 2u);
  EXPECT_EQ(FileChecksum(ReplicaOptions(dir).dir + "/database"), replica.pos().checksum);
  EXPECT_EQ(replica.LtxFilesAfter(0, SIZE_MAX).size(), 2u);
}

// A replica on a FaultEnv that has applied the first of three transactions.
struct FaultyReplica {
  explicit FaultyReplica(const TempDir& dir)
      : h(MakeHistory(dir, 3)), options(ReplicaOptions(dir)) {
    options.env = &faults;
    replica = std::make_unique<Db>(options);
    EXPECT_TRUE(replica->Open().ok());
    EXPECT_TRUE(ApplyRun(replica.get(), h, 0, 1).ok());
  }
  History h;
  env::FaultEnv faults{env::Env::Posix()};
  DbOptions options;
  std::unique_ptr<Db> replica;
};

TEST(Db, ABatchWhoseFilesCannotBeMadeDurableWritesNoPage) {
  TempDir dir;
  FaultyReplica f(dir);
  const History& h = f.h;
  const DbOptions& options = f.options;
  Db& replica = *f.replica;
  env::FaultEnv& faults = f.faults;
  const Position before = replica.pos();
  faults.FailFrom(env::FaultOp::kSync, "/ltx.log");
  auto rest = Received(h, 1, 3);
  Status st = replica.ApplyBatch(rest, nullptr);
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_EQ(replica.pos(), before);
  EXPECT_EQ(FileChecksum(options.dir + "/database"), before.checksum);
  // Nothing of the failed run stays, in memory or in the log (txid 1, a
  // snapshot, is a file), so a restart cannot take it for applied history.
  EXPECT_EQ(replica.LtxFilesAfter(0, SIZE_MAX).size(), 1u);
  EXPECT_EQ(LogEntries(options.dir + "/ltx.log"), 0u);
  // Once the disk recovers, the run applies.
  faults.Heal();
  ASSERT_TRUE(ApplyRun(&replica, h, 1, 3).ok());
  EXPECT_EQ(replica.pos(), h.pos);
}

TEST(Db, ABatchWhosePagesCannotBeWrittenReportsWhatTheFileHolds) {
  TempDir dir;
  FaultyReplica f(dir);
  Db& replica = *f.replica;
  const Position before = replica.pos();
  f.faults.FailFrom(env::FaultOp::kWrite, "/database", /*after=*/1);  // one page lands
  Status st = ApplyRun(&replica, f.h, 1, 3);
  EXPECT_EQ(st.code(), Status::Code::kIOError) << st.ToString();
  EXPECT_NE(st.message().find("writing the database file"), std::string::npos) << st.message();
  // The position is the file's: not the batch's end, so the primary sends a snapshot.
  EXPECT_EQ(replica.pos().checksum, FileChecksum(f.options.dir + "/database"));
  EXPECT_NE(replica.pos().checksum, f.h.pos.checksum);
  EXPECT_NE(replica.pos().checksum, before.checksum);
}

TEST(Db, ReplicaCrashedMidBatchReplaysTheBatchFromItsMarker) {
  TempDir dir;
  History h = MakeHistory(dir, 5);
  const DbOptions options = ReplicaOptions(dir);
  ApplyTheFirstTwo(options, h);
  // Batch 3..5 was durable in ltx/; part of txid 4's pages reached the file.
  CrashMidBatch(options, h, 2, 5, FirstHalf(h.states[3]));
  ASSERT_NE(FileChecksum(options.dir + "/database"), h.pos.checksum);
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  EXPECT_EQ(replica.pos(), h.pos);
  EXPECT_EQ(FileChecksum(options.dir + "/database"), h.pos.checksum);
}

TEST(Db, ReplicaWithoutAMarkerReplaysTheWholeChain) {
  TempDir dir;
  History h = MakeHistory(dir, 4);
  const DbOptions options = ReplicaOptions(dir);
  ApplyTheFirstTwo(options, h);
  CrashMidBatch(options, h, 2, 4, FirstHalf(h.states[3]));
  ASSERT_EQ(std::remove((options.dir + "/applied").c_str()), 0);
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  EXPECT_EQ(replica.pos(), h.pos);
  EXPECT_EQ(FileChecksum(options.dir + "/database"), h.pos.checksum);
}

TEST(Db, ReplicaIgnoresLogEntriesPastAHole) {
  TempDir dir;
  History h = MakeHistory(dir, 5);
  const DbOptions options = ReplicaOptions(dir);
  ApplyTheFirstTwo(options, h);
  // Entries 3 and 5 are in the log, 4 is not; txid 3's pages were partly
  // written.
  CrashMidBatch(options, h, 2, 5, FirstHalf(h.states[2]), /*skip=*/3);
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  EXPECT_EQ(replica.pos().txid, 3u);
  EXPECT_EQ(FileChecksum(options.dir + "/database"), replica.pos().checksum);
  const std::vector<LtxFileInfo> files = replica.ListLtxFiles();
  ASSERT_EQ(files.size(), 2u);  // txid 1, and the log sealed at start-up
  EXPECT_EQ(files[1].max_txid, 3u);
  EXPECT_FALSE(replica.ChecksumAt(5).ok());
}

TEST(Db, ReplicaDropsFilesPastAHoleThatNeverBecameDurable) {
  // Transactions too large for memory are files of their own, and replay
  // reads them too. Txid 2 was sealed into a file before 3 was kept.
  TempDir dir;
  History h = MakeHistory(dir, 5);
  const DbOptions options = ReplicaOptions(dir);
  ApplyTheFirstTwo(options, h);
  ASSERT_EQ(std::remove((options.dir + "/ltx.log").c_str()), 0);
  for (size_t i : {1, 2, 4}) {
    WriteFile(options.dir + "/ltx/" + ltx::FileName(i + 1, i + 1), *h.files[i].bytes);
  }
  auto file = env::Env::Posix()->Open(options.dir + "/database", env::OpenMode::kReadWrite);
  ASSERT_TRUE((*file)->WriteAt(0, FirstHalf(h.states[2])).ok());
  Db replica(options);
  ASSERT_TRUE(replica.Open().ok());
  EXPECT_EQ(replica.pos().txid, 3u);
  EXPECT_EQ(FileChecksum(options.dir + "/database"), replica.pos().checksum);
  EXPECT_FALSE(std::filesystem::exists(options.dir + "/ltx/" + ltx::FileName(5, 5)));
  EXPECT_FALSE(replica.ChecksumAt(5).ok());
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
  const std::vector<LtxFileInfo> files = primary.LtxFilesAfter(0, 10);
  Status st = ApplyBytes(&replica, *files[1].bytes);  // txid 2 onto an empty replica
  EXPECT_EQ(st.code(), Status::Code::kPosMismatch) << st.ToString();
  EXPECT_EQ(replica.pos().txid, 0u);
}

TEST(Db, ReplicaRefusesWritesAndShowsThePrimarysPageOne) {
  TempDir dir;
  Db db(Options(dir));
  ASSERT_TRUE(db.Open().ok());
  ASSERT_TRUE(CommitRollback(&db, RealDatabase(dir, 3)).ok());
  ASSERT_TRUE(db.SetReplica(true, nullptr).ok());
  Status st = db.Write(FileKind::kDatabase, 0, std::vector<uint8_t>(4096, 0));
  EXPECT_EQ(st.code(), Status::Code::kReadOnly);
  std::vector<uint8_t> header(100);
  ASSERT_TRUE(db.Read(FileKind::kDatabase, 0, header).ok());
  std::vector<uint8_t> on_disk(100);
  ASSERT_TRUE(env::Env::Posix()
                  ->Open(dir / "dbs/x.db/database", env::OpenMode::kRead)
                  .value()
                  ->ReadAt(0, on_disk)
                  .ok());
  EXPECT_EQ(header, on_disk);
  EXPECT_EQ(header[18], 1);  // a rollback-journal database: no -wal or -shm for its readers
  EXPECT_FALSE(db.Exists(FileKind::kWal));
  EXPECT_FALSE(db.Exists(FileKind::kShm));
}

// A WAL SQLite writes directly (FUSE passthrough), from a real SQLite: the
// bytes after `first` inserts and after all of them (the first a prefix of
// the second: no checkpoint in between).
struct DirectWal {
  std::vector<uint8_t> first, all;
  std::vector<uint8_t> first_shm, all_shm;  // the -shm (wal-index) at each point
};
DirectWal RealWal(const TempDir& dir, int first, int more) {
  sqlite3* src = nullptr;
  sqlite3_open((dir / "w.db").c_str(), &src);
  Exec(src, "PRAGMA journal_mode=wal; PRAGMA wal_autocheckpoint=0; CREATE TABLE t(x);");
  for (int i = 0; i < first; i++) Exec(src, "INSERT INTO t VALUES(randomblob(100))");
  DirectWal wal;
  wal.first = ReadAll(dir / "w.db-wal");
  wal.first_shm = ReadAll(dir / "w.db-shm");
  for (int i = 0; i < more; i++) Exec(src, "INSERT INTO t VALUES(randomblob(100))");
  wal.all = ReadAll(dir / "w.db-wal");
  wal.all_shm = ReadAll(dir / "w.db-shm");
  sqlite3_close(src);
  return wal;
}

void WriteDirectly(int fd, const std::vector<uint8_t>& bytes) {
  ASSERT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), ssize_t(bytes.size()));
}

int64_t CountRowsOf(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(("file:" + path + "?immutable=1").c_str(), &db,
                  SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
  sqlite3_stmt* stmt = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    n = sqlite3_column_int64(stmt, 0);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return n;
}

// A Db whose WAL SQLite writes directly (FUSE passthrough), under a write
// fence: the test writes the WAL's bytes through `fd` as the kernel would.
class DirectWalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    wal_ = RealWal(dir_, 2, 3);
    DbOptions options = Options(dir_);
    options.fence = &fence_;
    db_ = std::make_unique<Db>(options);
    ASSERT_TRUE(db_->Open().ok());
    ASSERT_TRUE(db_->Create(FileKind::kWal).ok());
    Result<int> opened = db_->OpenDataFile(FileKind::kWal);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    fd_ = *opened;
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }
  // The -shm (wal-index) as SQLite left it at some point of `wal_`.
  void WriteShm(const std::vector<uint8_t>& shm) {
    std::ofstream(dir_ / "dbs/x.db/shm", std::ios::binary)
        .write(reinterpret_cast<const char*>(shm.data()), shm.size());
  }

  TempDir dir_;
  DirectWal wal_;
  WriteFence fence_;
  std::unique_ptr<Db> db_;
  int fd_ = -1;
};

// With passthrough walship reads a commit back some time after it was made:
// one read back after the fence closed may have come after the lease could
// expire, so it stays in the WAL, unrecorded, until the fence opens again.
TEST_F(DirectWalTest, ACommitReadBackAfterTheFenceClosedWaitsForItToOpen) {
  WriteDirectly(fd_, wal_.first);
  ASSERT_TRUE(db_->CaptureWal().ok());
  const Position before = db_->pos();
  EXPECT_EQ(before.txid, 3u);  // CREATE TABLE and two inserts

  fence_.Close();
  WriteDirectly(fd_, wal_.all);
  Status st = db_->CaptureWal();
  EXPECT_TRUE(st.IsLeaseExpired()) << st.ToString();
  EXPECT_EQ(db_->CommittedPos(), before);

  fence_.OpenForever();  // a refused commit is no failure: recording goes on
  ASSERT_TRUE(db_->CaptureWal().ok());
  EXPECT_EQ(db_->pos().txid, 6u);
}

// A primary stepping down with such commits leaves them out of its database
// file (no replica has them) and keeps the WAL aside, whole.
TEST_F(DirectWalTest, SteppingDownSetsUnrecordedCommitsAside) {
  WriteDirectly(fd_, wal_.first);
  ASSERT_TRUE(db_->CaptureWal().ok());
  fence_.Close();
  WriteDirectly(fd_, wal_.all);
  ASSERT_TRUE(db_->SetReplica(true, nullptr).ok());
  EXPECT_EQ(db_->pos().txid, 3u);
  EXPECT_EQ(CountRowsOf(dir_ / "dbs/x.db/database"), 2);
  std::vector<std::filesystem::path> aside;
  for (const auto& e : std::filesystem::directory_iterator(dir_ / "dbs/x.db/diverged")) {
    aside.push_back(e.path());
  }
  ASSERT_EQ(aside.size(), 1u);
  EXPECT_EQ(aside[0].filename().string().rfind("wal.", 0), 0u) << aside[0];
  EXPECT_EQ(ReadAll(aside[0].string()), wal_.all);
}

// SQLite syncs a commit's frames before it publishes them (synchronous=FULL,
// or the first frames after a restart); a sync the fence refuses fails the
// commit, so its frames, though they verify, must never be recorded.
TEST_F(DirectWalTest, ACommitWhoseSyncTheFenceRefusedIsNeverRecorded) {
  WriteDirectly(fd_, wal_.first);
  ASSERT_TRUE(db_->CaptureWal().ok());
  WriteShm(wal_.first_shm);
  fence_.Close();
  WriteDirectly(fd_, wal_.all);  // three more commits, none published in the -shm
  Status st = db_->Sync(FileKind::kWal);
  EXPECT_TRUE(st.IsLeaseExpired()) << st.ToString();
  fence_.OpenForever();
  ASSERT_TRUE(db_->CaptureWal().ok());
  EXPECT_EQ(db_->pos().txid, 3u) << "a commit SQLite never published was recorded";
}

// The same when the transaction restarted the WAL (new salts in its header,
// which SQLite syncs): the -shm still describes the old generation.
TEST_F(DirectWalTest, AFirstCommitAfterARestartWhoseSyncWasRefusedIsNeverRecorded) {
  WriteDirectly(fd_, wal_.all);
  ASSERT_TRUE(db_->CaptureWal().ok());
  ASSERT_EQ(db_->pos().txid, 6u);
  WriteShm(wal_.all_shm);
  // Another generation of the same database: new salts, frames from byte 32.
  TempDir other;
  const DirectWal restarted = RealWal(other, 1, 0);
  fence_.Close();
  WriteDirectly(fd_, restarted.all);
  EXPECT_TRUE(db_->Sync(FileKind::kWal).IsLeaseExpired());
  fence_.OpenForever();
  (void)db_->CaptureWal();
  EXPECT_EQ(db_->pos().txid, 6u) << "a commit SQLite never published was recorded";
}

// Commits SQLite did publish (synchronous=NORMAL makes no sync) are only
// held back by a refused sync (a checkpoint's), and recorded once the fence
// opens again.
TEST_F(DirectWalTest, PublishedCommitsSurviveARefusedSync) {
  WriteDirectly(fd_, wal_.first);
  ASSERT_TRUE(db_->CaptureWal().ok());
  WriteShm(wal_.all_shm);
  fence_.Close();
  WriteDirectly(fd_, wal_.all);
  EXPECT_TRUE(db_->Sync(FileKind::kWal).IsLeaseExpired());
  fence_.OpenForever();
  ASSERT_TRUE(db_->CaptureWal().ok());
  EXPECT_EQ(db_->pos().txid, 6u);
}

// Stepping down with every commit recorded sets nothing aside.
TEST_F(DirectWalTest, SteppingDownWithEveryCommitRecordedSetsNothingAside) {
  WriteDirectly(fd_, wal_.all);
  ASSERT_TRUE(db_->CaptureWal().ok());
  fence_.Close();
  ASSERT_TRUE(db_->SetReplica(true, nullptr).ok());
  EXPECT_EQ(CountRowsOf(dir_ / "dbs/x.db/database"), 5);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "dbs/x.db/diverged"));
}

// SQLite's sync of a WAL (before a checkpoint, or after each commit with
// synchronous=FULL) may find many commits the tailer has not recorded yet:
// their LTX entries become durable together, with one sync of the log, not
// one each (a checkpoint stalled for hundreds of milliseconds that way).
TEST(Db, AWalSyncMakesTheCommitsItFindsDurableWithOneSync) {
  TempDir dir;
  env::FaultEnv env(env::Env::Posix());
  const DirectWal wal = RealWal(dir, 2, 3);
  Position synced;
  {
    Db db(Options(dir, &env));
    ASSERT_TRUE(db.Open().ok());
    ASSERT_TRUE(db.Create(FileKind::kWal).ok());
    Result<int> fd = db.OpenDataFile(FileKind::kWal);
    ASSERT_TRUE(fd.ok()) << fd.status().ToString();
    WriteDirectly(*fd, wal.all);  // six commits, none recorded yet
    ::close(*fd);
    const int syncs_before = env.Count(env::FaultOp::kSync, LtxLog::kFileName);
    ASSERT_TRUE(db.Sync(FileKind::kWal).ok());
    synced = db.pos();
    EXPECT_EQ(synced.txid, 6u);
    EXPECT_EQ(env.Count(env::FaultOp::kSync, LtxLog::kFileName) - syncs_before, 1);
  }
  Db reopened(Options(dir));
  ASSERT_TRUE(reopened.Open().ok());
  EXPECT_EQ(reopened.pos(), synced);
}

}  // namespace
}  // namespace walship::store
