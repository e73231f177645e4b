// Continuous backup to a directory (backup.type file) from a real walship
// mount, restored with `walship restore`.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "backup/file_target.h"
#include "backup/layout.h"
#include "backup_util.h"
#include "harness/walship_process.h"
#include "http/client.h"

namespace walship::testing {
namespace {

using std::chrono::milliseconds;

class BackupFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WalshipOptions o;
    o.extra_config = "backup:\n  type: file\n  path: " + archive_dir() + "\n  delay: 100ms\n";
    node_ = std::make_unique<WalshipProcess>(o);
    ASSERT_TRUE(node_->Start());
  }
  std::string archive_dir() const { return scratch_ / "archive"; }

  TempDir scratch_{"walship-backup-file"};
  std::unique_ptr<WalshipProcess> node_;
};

TEST_F(BackupFileTest, ArchivesContinuouslyAndRestoresAnyTxid) {
  std::map<uint64_t, Recorded> rec;
  ASSERT_TRUE(RunLoad(node_->mount_dir(), "app.db", 1, milliseconds(0), &rec));
  backup::FileTarget target(archive_dir());
  ASSERT_TRUE(WaitArchived(&target, "app.db", rec.rbegin()->first));
  const uint64_t first = rec.rbegin()->first;
  ASSERT_TRUE(RunLoad(node_->mount_dir(), "app.db", 80, milliseconds(2), &rec, 1));
  const uint64_t last = rec.rbegin()->first;
  ASSERT_TRUE(WaitArchived(&target, "app.db", last, std::chrono::seconds(20)));

  // The node reports the archive position and counts uploads.
  http::Client client("http://127.0.0.1:" + std::to_string(node_->http_port()),
                      std::chrono::seconds(5));
  // The object is visible a moment before the archiver records it.
  uint64_t reported = 0;
  std::string body;
  for (int i = 0; i < 50 && reported != last; i++) {
    auto info = client.Get("/info");
    ASSERT_TRUE(info.ok());
    body = info->body;
    auto json = nlohmann::json::parse(body);
    reported = json["databases"][0]["backup"]["archivedTXID"].get<uint64_t>();
    if (reported != last) std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_EQ(reported, last) << body;
  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("walship_backup_uploads_total "), std::string::npos);
  EXPECT_NE(metrics->body.find("walship_backup_archived_txid{db=\"app.db\"} " + std::to_string(last)),
            std::string::npos)
      << metrics->body;
  CliResult status = RunWalshipCli({"status", "--url", "http://127.0.0.1:" + std::to_string(node_->http_port())});
  EXPECT_NE(status.output.find("BACKUP DB"), std::string::npos) << status.output;

  std::mt19937 rng(12345);
  std::uniform_int_distribution<uint64_t> pick(first, last);
  const std::string out = scratch_ / "restored.db";
  for (int i = 0; i < 5; i++) {
    const uint64_t txid = pick(rng);
    ASSERT_TRUE(RestoreAndCheck({"--name", "app.db", "--txid", std::to_string(txid), "--config",
                                 node_->config_path()},
                                out, rec[txid].pos.checksum))
        << "txid " << txid;
  }
  // On a terminal, the restore shows where it is.
  CliResult shown = RunWalshipCliOnTerminal(
      {"restore", "--name", "app.db", "--latest", "--backup", archive_dir(), scratch_ / "shown.db"});
  EXPECT_TRUE(shown.ok()) << shown.output;
  EXPECT_NE(shown.output.find("restore app.db (TXID "), std::string::npos) << shown.output;
  EXPECT_NE(shown.output.find("MB/s"), std::string::npos) << shown.output;
  ASSERT_TRUE(RestoreAndCheck({"--name", "app.db", "--latest", "--backup", "file://" + archive_dir()},
                              out, rec[last].pos.checksum));
}

TEST_F(BackupFileTest, CorruptObjectIsNamedByRestore) {
  std::map<uint64_t, Recorded> rec;
  ASSERT_TRUE(RunLoad(node_->mount_dir(), "c.db", 1, milliseconds(0), &rec));
  backup::FileTarget target(archive_dir());
  ASSERT_TRUE(WaitArchived(&target, "c.db", rec.rbegin()->first));
  for (int batch = 0; batch < 3; batch++) {
    ASSERT_TRUE(RunLoad(node_->mount_dir(), "c.db", 5, milliseconds(0), &rec, 1 + batch * 5));
    ASSERT_TRUE(WaitArchived(&target, "c.db", rec.rbegin()->first));
  }
  auto objects = backup::ListDbObjects(&target, "c.db");
  ASSERT_TRUE(objects.ok());
  const backup::ArchivedObject* victim = nullptr;
  for (const auto& o : *objects) {
    if (o.level == 0 && !victim) victim = &o;
  }
  ASSERT_NE(victim, nullptr);
  const std::string path = archive_dir() + "/" + victim->key;
  std::string bytes = ReadFileOrEmpty(path);
  ASSERT_GT(bytes.size(), 100u);
  bytes[bytes.size() - 20] ^= 0x5a;
  ASSERT_TRUE(WriteFile(path, bytes));
  CliResult r = RunWalshipCli({"restore", "--name", "c.db", "--txid", std::to_string(victim->max_txid),
                               "--config", node_->config_path(), scratch_ / "bad.db"});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.output.find(victim->Describe()), std::string::npos) << r.output;
  EXPECT_EQ(ReadFileOrEmpty(scratch_ / "bad.db"), "");
}

TEST_F(BackupFileTest, CleanStopArchivesEverything) {
  std::map<uint64_t, Recorded> rec;
  ASSERT_TRUE(RunLoad(node_->mount_dir(), "s.db", 30, milliseconds(0), &rec));
  ASSERT_TRUE(node_->Stop());
  backup::FileTarget target(archive_dir());
  ASSERT_TRUE(WaitArchived(&target, "s.db", rec.rbegin()->first, milliseconds(100)));
  ASSERT_TRUE(RestoreAndCheck({"--name", "s.db", "--latest", "--backup", archive_dir()},
                              scratch_ / "s.db", rec.rbegin()->second.pos.checksum));
}

// Deleting a database sets its archive aside whole (NAME/deleted/<ms>/), so
// the database created again under the name archives and restores as a new
// one; a restart in between (the archiver never saw the deletion) too.
TEST_F(BackupFileTest, ADeletedDatabaseIsSetAsideAndItsNameStartsANewArchive) {
  std::map<uint64_t, Recorded> old_rec;
  ASSERT_TRUE(RunLoad(node_->mount_dir(), "d.db", 20, milliseconds(0), &old_rec));
  backup::FileTarget target(archive_dir());
  ASSERT_TRUE(WaitArchived(&target, "d.db", old_rec.rbegin()->first));
  // The number of deletions set aside under d.db/deleted/.
  auto set_aside = [&] {
    std::error_code ec;
    size_t n = 0;
    for (auto it = std::filesystem::directory_iterator(archive_dir() + "/d.db/deleted", ec);
         !ec && it != std::filesystem::directory_iterator(); ++it) {
      n++;
    }
    return n;
  };
  size_t deletions = 0;
  for (bool restart : {false, true}) {
    SCOPED_TRACE(restart ? "deleted while the archiver was stopped" : "deleted while archiving");
    if (restart) ASSERT_TRUE(node_->Stop());
    if (restart) {
      // Delete while the node runs without its backup section, then start
      // it again with it.
      const std::string config = ReadFileOrEmpty(node_->config_path());
      ASSERT_NE(config.find("backup:"), std::string::npos);
      node_->WriteConfig(config.substr(0, config.find("backup:")));
      ASSERT_TRUE(node_->Start());
      ASSERT_EQ(::unlink(node_->Path("d.db").c_str()), 0) << std::strerror(errno);
      std::map<uint64_t, Recorded> offline;
      ASSERT_TRUE(RunLoad(node_->mount_dir(), "d.db", 3, milliseconds(0), &offline));
      ASSERT_TRUE(node_->Stop());
      node_->WriteConfig(config);
      ASSERT_TRUE(node_->Start());
    } else {
      ASSERT_EQ(::unlink(node_->Path("d.db").c_str()), 0) << std::strerror(errno);
    }
    std::map<uint64_t, Recorded> rec;
    ASSERT_TRUE(RunLoad(node_->mount_dir(), "d.db", 4, milliseconds(0), &rec, 100));
    // Until the old archive is set aside, its objects would pass for the new.
    deletions++;
    for (int i = 0; i < 200 && set_aside() < deletions; i++) {
      std::this_thread::sleep_for(milliseconds(50));
    }
    ASSERT_EQ(set_aside(), deletions) << "one directory per deletion under d.db/deleted/";
    if (!restart) ASSERT_LT(rec.rbegin()->first, old_rec.rbegin()->first);
    ASSERT_TRUE(WaitArchived(&target, "d.db", rec.rbegin()->first));
    ASSERT_TRUE(RestoreAndCheck({"--name", "d.db", "--latest", "--backup", archive_dir()},
                                scratch_ / "d.db", rec.rbegin()->second.pos.checksum));
    old_rec = rec;
  }
}

// A deleted database that is not created again is set aside as well, so the
// archive holds no live objects under its name.
TEST_F(BackupFileTest, ADeletedDatabaseNotCreatedAgainIsSetAsideToo) {
  std::map<uint64_t, Recorded> rec;
  ASSERT_TRUE(RunLoad(node_->mount_dir(), "e.db", 10, milliseconds(0), &rec));
  backup::FileTarget target(archive_dir());
  ASSERT_TRUE(WaitArchived(&target, "e.db", rec.rbegin()->first));
  ASSERT_EQ(::unlink(node_->Path("e.db").c_str()), 0) << std::strerror(errno);
  size_t live = 1;
  for (int i = 0; i < 200 && live > 0; i++) {
    auto objects = backup::ListDbObjects(&target, "e.db");
    ASSERT_TRUE(objects.ok()) << objects.status().ToString();
    live = objects->size();
    if (live > 0) std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_EQ(live, 0u) << "the deleted database's archive is still live";
  EXPECT_TRUE(std::filesystem::is_directory(archive_dir() + "/e.db/deleted"));
  CliResult r = RunWalshipCli({"restore", "--name", "e.db", "--latest", "--backup", archive_dir(),
                               scratch_ / "e.db"});
  EXPECT_FALSE(r.ok()) << "a deleted database was restored: " << r.output;
}

}  // namespace
}  // namespace walship::testing
