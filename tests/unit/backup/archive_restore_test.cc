// The archiver and restore together, on a real Store driven like the FUSE
// layer drives it (rollback-journal commits), archiving to a FileTarget.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <thread>

#include "backup/archiver.h"
#include "backup/bundle.h"
#include "backup/file_target.h"
#include "backup/layout.h"
#include "backup/restore.h"
#include "ltx/checksum.h"
#include "sqlite/journal.h"
#include "store/retention.h"
#include "store/store.h"

namespace walship::backup {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A journal's first sector once SQLite's transaction is under way (magic
// written): walship lets database pages be written only then.
std::vector<uint8_t> HotJournalHeader() {
  std::vector<uint8_t> header(512, 0);
  std::copy(std::begin(sqlite::kJournalMagic), std::end(sqlite::kJournalMagic), header.begin());
  return header;
}

class ArchiveRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "walship-ar-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    OpenStore(store::kSealTxids);
  }
  // Reopens the store so each transaction gets a file of its own (the LTX
  // log is sealed after each).
  void SealEveryTransaction() { OpenStore(1); }
  void OpenStore(size_t seal_txids) {
    store_.reset();
    store::StoreOptions o;
    o.data_dir = dir_ + "/data";
    o.seal_txids = seal_txids;
    o.compress = compress_;
    store_ = std::make_unique<store::Store>(o);
    ASSERT_TRUE(store_->Open().ok());
    db_ = store_->Find("x.db");
    if (db_) return;
    auto db = store_->Create("x.db");
    ASSERT_TRUE(db.ok());
    db_ = *db;
  }
  void TearDown() override {
    if (archiver_) archiver_->Stop();
    archiver_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  std::string ArchiveDir() const { return dir_ + "/archive"; }

  void StartArchiver(const std::string& key = "", ArchiverOptions o = {}) {
    o.encryption_key = key;
    auto a = Archiver::Create(store_.get(), std::make_unique<FileTarget>(ArchiveDir()), o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    archiver_ = std::move(*a);
  }

  // One transaction: the database becomes a SQLite file with `rows` rows,
  // written as SQLite writes a rollback-journal commit.
  void Commit(int rows) {
    const std::string src = dir_ + "/src.db";
    sqlite3* s = nullptr;
    sqlite3_open(src.c_str(), &s);
    sqlite3_exec(s, "CREATE TABLE IF NOT EXISTS t(x); DELETE FROM t;", nullptr, nullptr, nullptr);
    for (int i = 0; i < rows; i++) {
      sqlite3_exec(s, ("INSERT INTO t VALUES(" + row_value_ + ")").c_str(), nullptr, nullptr,
                   nullptr);
    }
    sqlite3_close(s);
    std::string bytes = ReadAll(src);
    auto span = std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
    ASSERT_TRUE(db_->Create(store::FileKind::kJournal).ok());
    ASSERT_TRUE(db_->Write(store::FileKind::kJournal, 0, HotJournalHeader()).ok());
    ASSERT_TRUE(db_->Write(store::FileKind::kDatabase, 0, span).ok());
    ASSERT_TRUE(db_->Truncate(store::FileKind::kDatabase, bytes.size()).ok());
    ASSERT_TRUE(db_->Remove(store::FileKind::kJournal).ok());
    checksums_[db_->pos().txid] = db_->pos().checksum;
    times_[db_->pos().txid] = Clock::Real()->NowUnixMs();
    std::this_thread::sleep_for(std::chrono::milliseconds(3));
  }

  Result<RestoreResult> RestoreAt(RestorePoint point, const std::string& key = "") {
    auto codec = ObjectCodec::Create(key);
    RestoreOptions o;
    o.db = "x.db";
    o.point = point;
    o.output_path = dir_ + "/restored.db";
    o.overwrite = true;
    FileTarget target(ArchiveDir());
    return Restore(&target, *codec, o);
  }
  static RestorePoint AtTxid(uint64_t txid) { return {RestorePoint::Kind::kTxid, txid, 0}; }

  // Restores at `txid` and checks the result against the primary's checksum
  // and the file's own bytes.
  void ExpectRestoresTo(uint64_t txid) {
    auto r = RestoreAt(AtTxid(txid));
    ASSERT_TRUE(r.ok()) << "txid " << txid << ": " << r.status().ToString();
    EXPECT_EQ(r->txid, txid);
    EXPECT_EQ(r->checksum, checksums_[txid]) << "txid " << txid;
    sqlite3* s = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/restored.db").c_str(), &s), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(s, "PRAGMA integrity_check", -1, &st, nullptr);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "ok");
    sqlite3_finalize(st);
    sqlite3_close(s);
  }

  std::string dir_;
  bool compress_ = true;                       // data.compress
  std::string row_value_ = "randomblob(300)";  // what Commit inserts
  std::unique_ptr<store::Store> store_;
  store::Db* db_ = nullptr;
  std::unique_ptr<Archiver> archiver_;
  std::map<uint64_t, uint64_t> checksums_;
  std::map<uint64_t, int64_t> times_;
};

TEST_F(ArchiveRestoreTest, RestoresEveryArchivedTxidThroughAllLevels) {
  StartArchiver();
  for (int i = 1; i <= 3; i++) Commit(i * 3);
  archiver_->RunOnce();  // first snapshot at TXID 3
  for (int i = 4; i <= 5; i++) Commit(i * 3);
  archiver_->RunOnce();  // L0 4-5
  for (int i = 6; i <= 8; i++) Commit(40 - i);
  archiver_->RunOnce();  // L0 6-8, then L1 4-8
  EXPECT_EQ(archiver_->ArchivedTxid("x.db"), 8u);
  FileTarget target(ArchiveDir());
  auto objects = ListDbObjects(&target, "x.db");
  ASSERT_TRUE(objects.ok());
  std::vector<std::string> keys;
  for (auto& o : *objects) keys.push_back(o.key);
  EXPECT_EQ(keys, (std::vector<std::string>{SnapshotKey("x.db", 3), LevelKey("x.db", 0, 4, 5),
                                            LevelKey("x.db", 0, 6, 8), LevelKey("x.db", 1, 4, 8)}));
  for (uint64_t txid = 3; txid <= 8; txid++) ExpectRestoresTo(txid);
  auto latest = RestoreAt({});
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->txid, 8u);
  EXPECT_EQ(latest->objects, 2u);  // the snapshot and L1
}

using SteadyTime = std::chrono::steady_clock::time_point;

// docs/backup.md: the archiver's own loop compacts L0 into L1, L1 into L2
// and L2 into L3, each level on its own interval (30 s, 5 min, 1 h; short
// here), and a restore from what it compacted is correct.
TEST_F(ArchiveRestoreTest, TheLoopCompactsEachLevelOnItsInterval) {
  ArchiverOptions o;
  o.delay = std::chrono::milliseconds(20);
  const std::chrono::milliseconds intervals[] = {std::chrono::milliseconds(200),
                                                 std::chrono::milliseconds(600),
                                                 std::chrono::milliseconds(1500)};
  o.level_intervals.assign(std::begin(intervals), std::end(intervals));
  Commit(3);
  const SteadyTime created = std::chrono::steady_clock::now();
  StartArchiver("", o);
  archiver_->Start();
  FileTarget target(ArchiveDir());
  std::map<int, SteadyTime> first_seen;
  const SteadyTime deadline = created + std::chrono::seconds(10);
  for (int i = 0; first_seen.size() < 3 && std::chrono::steady_clock::now() < deadline; i++) {
    Commit(1 + i % 20);
    // Each commit its own L0 batch: wait until it is archived.
    while (archiver_->ArchivedTxid("x.db") < db_->pos().txid &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a deadline
    }
    auto objects = ListDbObjects(&target, "x.db");
    ASSERT_TRUE(objects.ok());
    for (const ArchivedObject& obj : *objects) {
      if (obj.level >= 1 && obj.level <= 3 && !first_seen.count(obj.level)) {
        first_seen[obj.level] = std::chrono::steady_clock::now();
      }
    }
  }
  ASSERT_EQ(first_seen.size(), 3u) << "not every level was compacted within 10 s";
  for (int level = 1; level <= 3; level++) {
    EXPECT_GE(first_seen[level] - created, intervals[level - 1]) << "L" << level << " too early";
  }
  EXPECT_LE(first_seen[1], first_seen[2]);
  EXPECT_LE(first_seen[2], first_seen[3]);
  archiver_->Stop();
  const uint64_t last = db_->pos().txid;
  auto objects = ListDbObjects(&target, "x.db");
  ASSERT_TRUE(objects.ok());
  uint64_t l3_max = 0;
  for (const ArchivedObject& obj : *objects) {
    if (obj.level == 3) l3_max = std::max(l3_max, obj.max_txid);
  }
  ASSERT_GT(l3_max, 1u);
  for (uint64_t txid = 1; txid <= last; txid++) ExpectRestoresTo(txid);
  auto at_l3 = RestoreAt(AtTxid(l3_max));
  ASSERT_TRUE(at_l3.ok()) << at_l3.status().ToString();
  EXPECT_LE(at_l3->objects, 2u) << "the restore at the L3 object's end did not use it";
}

// docs/configuration.md, data.compress: with false, the L0 objects hold a
// page per page written, but the compacted ones are compressed.
TEST_F(ArchiveRestoreTest, CompactedObjectsAreCompressedWithDataCompressFalse) {
  compress_ = false;
  OpenStore(store::kSealTxids);
  row_value_ = "zeroblob(300)";  // pages LZ4 shrinks many times over
  StartArchiver();
  Commit(60);
  archiver_->RunOnce();  // the snapshot
  Commit(61);
  archiver_->RunOnce();
  Commit(62);
  archiver_->RunOnce();  // the second L0, then L1
  FileTarget target(ArchiveDir());
  auto objects = ListDbObjects(&target, "x.db");
  ASSERT_TRUE(objects.ok());
  auto codec = ObjectCodec::Create("");
  ASSERT_TRUE(codec.ok());
  size_t largest_l0 = 0, l1 = 0;
  for (const ArchivedObject& obj : *objects) {
    if (obj.level != 0 && obj.level != 1) continue;
    auto object = target.Get(obj.key);
    ASSERT_TRUE(object.ok());
    auto payload = codec->Open(obj.key, *object);
    ASSERT_TRUE(payload.ok());
    auto files = DecodeBundle(*payload);
    ASSERT_TRUE(files.ok());
    size_t bytes = 0;
    for (std::string_view f : *files) bytes += f.size();
    if (obj.level == 0) largest_l0 = std::max(largest_l0, bytes);
    if (obj.level == 1) l1 = bytes;
  }
  ASSERT_GT(l1, 0u) << "no L1 object";
  EXPECT_GE(largest_l0, 4u * 4096) << "the L0 objects were compressed: data.compress ignored?";
  EXPECT_LT(l1 * 3, largest_l0) << "the L1 object is not compressed";
  ExpectRestoresTo(db_->pos().txid);
}

// The L0 objects the archiver wrote, in key order: (min, max) TXIDs.
std::vector<std::pair<uint64_t, uint64_t>> L0Objects(const std::string& dir) {
  FileTarget target(dir);
  auto objects = ListDbObjects(&target, "x.db");
  EXPECT_TRUE(objects.ok());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (objects.ok()) {
    for (const ArchivedObject& o : *objects) {
      if (o.level == 0) out.push_back({o.min_txid, o.max_txid});
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// docs/backup.md: one L0 object holds at most max_batch_files transactions
// and max_batch_bytes (a transaction larger than that goes alone); what is
// left goes in the next.
TEST_F(ArchiveRestoreTest, AnL0ObjectHoldsAtMostTheBatchLimits) {
  ArchiverOptions o;
  o.max_batch_files = 2;
  o.level_intervals = {std::chrono::hours(1)};  // no compaction in this test
  StartArchiver("", o);
  Commit(3);
  archiver_->RunOnce();  // the first snapshot, at TXID 1
  for (int i = 1; i <= 5; i++) Commit(3 + i);
  for (int i = 0; i < 10 && archiver_->ArchivedTxid("x.db") < 6; i++) archiver_->RunOnce();
  EXPECT_EQ(L0Objects(ArchiveDir()),
            (std::vector<std::pair<uint64_t, uint64_t>>{{2, 3}, {4, 5}, {6, 6}}));
  ExpectRestoresTo(6);

  archiver_->Stop();
  o.max_batch_files = 4096;
  o.max_batch_bytes = 1;  // every transaction alone
  StartArchiver("", o);
  for (int i = 1; i <= 3; i++) Commit(20 + i);
  for (int i = 0; i < 10 && archiver_->ArchivedTxid("x.db") < 9; i++) archiver_->RunOnce();
  EXPECT_EQ(L0Objects(ArchiveDir()), (std::vector<std::pair<uint64_t, uint64_t>>{
                                         {2, 3}, {4, 5}, {6, 6}, {7, 7}, {8, 8}, {9, 9}}));
  ExpectRestoresTo(9);
}

TEST_F(ArchiveRestoreTest, RestoresByTimestamp) {
  StartArchiver();
  Commit(2);
  archiver_->RunOnce();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int i = 2; i <= 6; i++) Commit(i * 5);
  archiver_->RunOnce();
  for (uint64_t txid = 2; txid <= 6; txid++) {
    auto r = RestoreAt({RestorePoint::Kind::kTimestamp, 0, times_[txid]});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->txid, txid);
    EXPECT_EQ(r->checksum, checksums_[txid]);
  }
  auto before = RestoreAt({RestorePoint::Kind::kTimestamp, 0, times_[1] - 60000});
  EXPECT_TRUE(before.status().IsNotFound()) << before.status().ToString();
}

TEST_F(ArchiveRestoreTest, CorruptObjectIsNamedWithItsTxidRange) {
  StartArchiver();
  Commit(3);
  archiver_->RunOnce();
  Commit(5);
  Commit(7);
  archiver_->RunOnce();
  const std::string path = ArchiveDir() + "/" + LevelKey("x.db", 0, 2, 3);
  std::string bytes = ReadAll(path);
  ASSERT_GT(bytes.size(), 200u);
  bytes[bytes.size() / 2] ^= 0x55;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  auto r = RestoreAt(AtTxid(3));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsCorruption()) << r.status().ToString();
  EXPECT_NE(r.status().message().find(LevelKey("x.db", 0, 2, 3) + " (TXID 2-3)"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ + "/restored.db.tmp"));
}

TEST_F(ArchiveRestoreTest, MissingObjectNamesTheGap) {
  StartArchiver();
  Commit(3);
  archiver_->RunOnce();
  Commit(5);
  archiver_->RunOnce();
  Commit(7);
  archiver_->RunOnce();
  fs::remove_all(ArchiveDir() + "/x.db/L1");
  fs::remove(ArchiveDir() + "/" + LevelKey("x.db", 0, 2, 2));
  auto r = RestoreAt(AtTxid(3));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("TXIDs 2-2 are missing"), std::string::npos)
      << r.status().message();
}

TEST_F(ArchiveRestoreTest, EncryptedArchiveNeedsTheRightKey) {
  const std::string key(64, 'c'), wrong(64, 'd');
  StartArchiver(key);
  Commit(3);
  archiver_->RunOnce();
  Commit(9);
  archiver_->RunOnce();
  auto ok = RestoreAt(AtTxid(2), key);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->checksum, checksums_[2]);
  fs::remove(dir_ + "/restored.db");
  auto bad = RestoreAt(AtTxid(2), wrong);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("wrong encryption key"), std::string::npos);
  auto none = RestoreAt(AtTxid(2), "");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("is encrypted"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ + "/restored.db"));
}

TEST_F(ArchiveRestoreTest, RetentionKeepsUnarchivedLtxFiles) {
  SealEveryTransaction();
  StartArchiver();
  Commit(3);
  archiver_->RunOnce();
  Commit(5);
  Commit(6);
  // Nothing archived beyond TXID 1: with a zero retention period, only the
  // archived file may go.
  store::Retention retention(store_.get(), std::chrono::milliseconds(0), std::chrono::hours(1));
  retention.SetArchiveFloor([this](const std::string& db) { return archiver_->ArchivedTxid(db); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(retention.RunOnce(), 1u);
  EXPECT_EQ(db_->ListLtxFiles().size(), 2u);
  archiver_->RunOnce();
  EXPECT_EQ(retention.RunOnce(), 1u);  // the newest file always stays
  ExpectRestoresTo(3);
}

TEST_F(ArchiveRestoreTest, RefusesToOverwriteAnExistingFile) {
  StartArchiver();
  Commit(3);
  archiver_->RunOnce();
  std::ofstream(dir_ + "/exists.db") << "x";
  auto codec = ObjectCodec::Create("");
  RestoreOptions o;
  o.db = "x.db";
  o.output_path = dir_ + "/exists.db";
  FileTarget target(ArchiveDir());
  auto r = Restore(&target, *codec, o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("already exists"), std::string::npos);
}

TEST_F(ArchiveRestoreTest, ArchiveRetentionKeepsWhatTheWindowNeeds) {
  ArchiverOptions o;
  o.snapshot_interval = std::chrono::milliseconds(1);  // a snapshot on every pass
  o.retention = std::chrono::hours(1);
  StartArchiver("", o);
  Commit(3);
  archiver_->RunOnce();  // snapshot at 1
  Commit(5);
  Commit(7);
  archiver_->RunOnce();  // L0 2-3, snapshot at 3
  // Everything so far was written two hours ago.
  const auto old = fs::file_time_type::clock::now() - std::chrono::hours(2);
  for (auto& e : fs::recursive_directory_iterator(ArchiveDir())) {
    if (e.is_regular_file()) fs::last_write_time(e.path(), old);
  }
  Commit(9);
  archiver_->RunOnce();  // L0 4-4, snapshot at 4, L1 2-4; retention
  FileTarget target(ArchiveDir());
  auto objects = ListDbObjects(&target, "x.db");
  ASSERT_TRUE(objects.ok());
  std::vector<std::string> keys;
  for (auto& obj : *objects) keys.push_back(obj.key);
  EXPECT_EQ(keys, (std::vector<std::string>{SnapshotKey("x.db", 3), SnapshotKey("x.db", 4),
                                            LevelKey("x.db", 0, 4, 4), LevelKey("x.db", 1, 2, 4)}));
  ExpectRestoresTo(3);
  ExpectRestoresTo(4);
  EXPECT_TRUE(RestoreAt(AtTxid(2)).status().IsNotFound());
  EXPECT_EQ(archiver_->stats().deletions, 2u);  // snapshot 1 and L0 2-3
}

TEST_F(ArchiveRestoreTest, RefusesToArchiveIntoAnotherHistory) {
  StartArchiver();
  Commit(3);
  archiver_->RunOnce();
  Commit(4);
  archiver_->RunOnce();  // snapshot 1, L0 2-2
  archiver_->Stop();
  // Another database of the same name, with other contents, same archive.
  db_ = nullptr;
  store::StoreOptions o;
  o.data_dir = dir_ + "/data2";
  auto other = std::make_unique<store::Store>(o);
  ASSERT_TRUE(other->Open().ok());
  db_ = *other->Create("x.db");
  Commit(20);
  Commit(30);
  Commit(40);
  auto a = Archiver::Create(other.get(), std::make_unique<FileTarget>(ArchiveDir()), {});
  ASSERT_TRUE(a.ok());
  (*a)->RunOnce();
  auto positions = (*a)->Positions();
  ASSERT_EQ(positions.size(), 1u);
  EXPECT_NE(positions[0].last_error.find("different history"), std::string::npos)
      << positions[0].last_error;
  EXPECT_EQ((*a)->ArchivedTxid("x.db"), 0u);
  FileTarget target(ArchiveDir());
  EXPECT_EQ(ListDbObjects(&target, "x.db")->size(), 2u);  // untouched
  a->reset();
  other.reset();
}

}  // namespace
}  // namespace walship::backup
