#include "backup_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <ctime>
#include <thread>

#include "backup/layout.h"
#include "harness/net.h"

namespace walship::testing {

using std::chrono::milliseconds;

S3rver::S3rver() : port_(FreePort()) {}

S3rver::~S3rver() { Stop(); }

::testing::AssertionResult S3rver::Start() {
  if (::access(WALSHIP_S3RVER, X_OK) != 0) {
    return ::testing::AssertionFailure()
           << "s3rver not found at " WALSHIP_S3RVER "; run ./scripts/setup.sh";
  }
  const std::string data = dir_ / "data";
  ::mkdir(data.c_str(), 0755);
  child_ = Child::Exec({WALSHIP_S3RVER, "--directory", data, "--address", "127.0.0.1", "--port",
                        std::to_string(port_), "--silent"},
                       "", dir_ / "s3rver.log");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (CanConnect(port_)) return ::testing::AssertionSuccess();
    if (child_.Wait(milliseconds(50))) {
      return ::testing::AssertionFailure()
             << "s3rver exited: " << ReadFileOrEmpty(dir_ / "s3rver.log");
    }
  }
  return ::testing::AssertionFailure() << "s3rver did not listen on port " << port_;
}

void S3rver::Stop() {
  if (!child_.running()) return;
  child_.Signal(SIGTERM);
  if (!child_.Wait(std::chrono::seconds(5))) child_.Kill();
}

std::string S3rver::BackupYaml(const std::string& prefix, const std::string& extra) const {
  return "backup:\n  type: s3\n  url: s3://" + std::string(kS3Bucket) + "/" + prefix +
         "\n  endpoint: " + endpoint() + "\n  access-key-id: " + kS3Key +
         "\n  secret-access-key: " + kS3Key + "\n" + extra;
}

backup::TargetOptions S3rver::Options(const std::string& prefix) const {
  backup::TargetOptions o;
  o.type = "s3";
  o.url = "s3://" + std::string(kS3Bucket) + "/" + prefix;
  o.endpoint = endpoint();
  o.access_key_id = kS3Key;
  o.secret_access_key = kS3Key;
  return o;
}

std::string Rfc3339(int64_t unix_ms) {
  time_t secs = unix_ms / 1000;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(unix_ms % 1000));
  return buf;
}

int64_t NowMs() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

::testing::AssertionResult RunLoad(const std::string& mount_dir, const std::string& db, int n,
                                   milliseconds pause, std::map<uint64_t, Recorded>* out,
                                   int start) {
  Sql sql(mount_dir + "/" + db);
  if (!sql.ok()) return ::testing::AssertionFailure() << "open: " << sql.error();
  if (auto r = sql.Exec("PRAGMA journal_mode=wal; CREATE TABLE IF NOT EXISTS t(id INTEGER "
                        "PRIMARY KEY, v BLOB)");
      !r) {
    return r;
  }
  for (int i = start; i < start + n; i++) {
    // Inserts, updates and deletes, so pages change, appear and disappear.
    std::string stmt =
        "INSERT INTO t(v) VALUES(randomblob(" + std::to_string(100 + (i * 37) % 3000) + "))";
    if (i % 7 == 3)
      stmt = "UPDATE t SET v = randomblob(200) WHERE id % 5 = " + std::to_string(i % 5);
    if (i % 11 == 5) stmt = "DELETE FROM t WHERE id % 9 = " + std::to_string(i % 9);
    if (auto r = sql.Exec(stmt); !r) return r;
    auto pos = ReadPos(mount_dir, db);
    if (!pos.ok()) return ::testing::AssertionFailure() << pos.status().ToString();
    (*out)[pos->txid] = Recorded{*pos, NowMs()};
    if (pause.count() > 0) std::this_thread::sleep_for(pause);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult WaitArchived(backup::ArchiveTarget* target, const std::string& db,
                                        uint64_t txid, milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  uint64_t reached = 0;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    auto objects = backup::ListDbObjects(target, db);
    if (objects.ok()) {
      reached = 0;
      for (const auto& o : *objects) {
        if (o.level == 0 || o.snapshot()) reached = std::max(reached, o.max_txid);
      }
      if (reached >= txid) return ::testing::AssertionSuccess();
    } else {
      last_error = objects.status().ToString();
    }
    std::this_thread::sleep_for(milliseconds(100));
  }
  return ::testing::AssertionFailure() << "archive of " << db << " reached TXID " << reached
                                       << ", not " << txid << " " << last_error;
}

::testing::AssertionResult RestoreAndCheck(const std::vector<std::string>& args,
                                           const std::string& output, uint64_t want,
                                           const EnvVars& env) {
  ::unlink(output.c_str());
  std::vector<std::string> argv = {"restore"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(output);
  CliResult r = RunWalshipCli(argv, env);
  if (!r.ok()) {
    return ::testing::AssertionFailure()
           << "walship restore failed (" << DescribeWaitStatus(r.wait_status) << "): " << r.output;
  }
  if (r.output.find("MB/s") != std::string::npos) {
    return ::testing::AssertionFailure() << "progress shown, not on a terminal: " << r.output;
  }
  auto sum = DatabaseFileChecksum(output);
  if (!sum.ok()) return ::testing::AssertionFailure() << sum.status().ToString();
  if (sum->checksum != want) {
    return ::testing::AssertionFailure() << std::hex << "restored checksum " << sum->checksum
                                         << ", want " << want << "; " << r.output;
  }
  Sql sql(output);
  auto check = sql.QueryString("PRAGMA integrity_check");
  if (!check.ok() || *check != "ok") {
    return ::testing::AssertionFailure()
           << "integrity_check: " << (check.ok() ? *check : check.status().ToString());
  }
  sql.Close();
  ::unlink((output + "-wal").c_str());
  ::unlink((output + "-shm").c_str());
  return ::testing::AssertionSuccess();
}

}  // namespace walship::testing
