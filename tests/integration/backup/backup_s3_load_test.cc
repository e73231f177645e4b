// Continuous, encrypted backup to a real s3rver under a write load, with the
// server stopped for a while in the middle; every restore is compared with
// the checksums recorded during the load.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <thread>

#include "backup/s3_target.h"
#include "backup_util.h"
#include "harness/walship_process.h"
#include "http/client.h"

namespace walship::testing {
namespace {

using std::chrono::milliseconds;

const std::string kKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const std::string kWrongKey(64, 'f');

TEST(BackupS3, ContinuousEncryptedArchiveSurvivesAnOutageAndRestoresAnyPoint) {
  S3rver server;
  ASSERT_TRUE(server.Start());
  auto target = backup::S3Target::Open(server.Options("cluster1"));
  ASSERT_TRUE(target.ok()) << target.status().ToString();
  ASSERT_TRUE((*target)->CreateBucket().ok());

  WalshipOptions o;
  o.extra_config = server.BackupYaml("cluster1", "  delay: 200ms\n  encryption-key: " + kKey + "\n");
  WalshipProcess node(o);
  ASSERT_TRUE(node.Start());

  std::map<uint64_t, Recorded> rec;
  ASSERT_TRUE(RunLoad(node.mount_dir(), "app.db", 1, milliseconds(0), &rec));
  ASSERT_TRUE(WaitArchived(target->get(), "app.db", rec.rbegin()->first));
  const uint64_t first = rec.rbegin()->first + 1;

  ASSERT_TRUE(RunLoad(node.mount_dir(), "app.db", 60, milliseconds(5), &rec, 1));
  server.Stop();  // writes go on; the archiver retries
  ASSERT_TRUE(RunLoad(node.mount_dir(), "app.db", 60, milliseconds(5), &rec, 61));
  // Until the archiver itself has seen failures (past the S3 client's own
  // retries, about 3 s) and has to resume.
  http::Client client("http://127.0.0.1:" + std::to_string(node.http_port()), std::chrono::seconds(5));
  auto backup_errors = [&]() -> uint64_t {
    auto metrics = client.Get("/metrics");
    if (!metrics.ok()) return 0;
    std::smatch errors;
    static const std::regex kErrors(R"(\nwalship_backup_errors_total ([0-9]+)\n)");
    return std::regex_search(metrics->body, errors, kErrors) ? std::stoull(errors[1]) : 0;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (backup_errors() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(100));
  }
  ASSERT_GT(backup_errors(), 0u) << "the outage was never counted in walship_backup_errors_total";
  ASSERT_TRUE(server.Start());
  ASSERT_TRUE(RunLoad(node.mount_dir(), "app.db", 60, milliseconds(5), &rec, 121));
  const uint64_t last = rec.rbegin()->first;
  ASSERT_TRUE(WaitArchived(target->get(), "app.db", last, std::chrono::seconds(90)));

  // No object in the archive is readable without the key.
  auto objects = (*target)->List("app.db/");
  ASSERT_TRUE(objects.ok());
  for (const auto& obj : *objects) {
    auto data = (*target)->Get(obj.key);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->find("SQLite format 3"), std::string::npos) << obj.key;
  }

  const std::vector<std::string> config = {"--name", "app.db", "--config", node.config_path()};
  const std::string out = node.dir() + "/restored.db";
  std::mt19937 rng(20240501);
  std::uniform_int_distribution<uint64_t> pick(first, last);
  for (int i = 0; i < 5; i++) {
    const uint64_t txid = pick(rng);
    auto args = config;
    args.insert(args.end(), {"--txid", std::to_string(txid)});
    ASSERT_TRUE(RestoreAndCheck(args, out, rec[txid].pos.checksum)) << "txid " << txid;
  }
  for (int i = 0; i < 5; i++) {
    const uint64_t txid = pick(rng);
    auto args = config;
    args.insert(args.end(), {"--timestamp", Rfc3339(rec[txid].after_ms)});
    ASSERT_TRUE(RestoreAndCheck(args, out, rec[txid].pos.checksum))
        << "txid " << txid << " at " << Rfc3339(rec[txid].after_ms);
  }
  auto latest = config;
  latest.push_back("--latest");
  ASSERT_TRUE(RestoreAndCheck(latest, out, rec[last].pos.checksum));

  // The same archive through --backup and the AWS environment variables.
  const EnvVars env = {{"AWS_ACCESS_KEY_ID", kS3Key},
                       {"AWS_SECRET_ACCESS_KEY", kS3Key},
                       {"AWS_ENDPOINT_URL_S3", server.endpoint()},
                       {"WALSHIP_BACKUP_KEY", kKey}};
  const std::string url = "s3://" + std::string(kS3Bucket) + "/cluster1";
  ASSERT_TRUE(RestoreAndCheck({"--name", "app.db", "--latest", "--backup", url}, out,
                              rec[last].pos.checksum, env));
  EnvVars wrong = env;
  wrong.back().second = kWrongKey;
  ::unlink(out.c_str());
  CliResult r = RunWalshipCli({"restore", "--name", "app.db", "--latest", "--backup", url, out}, wrong);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.output.find("wrong encryption key"), std::string::npos) << r.output;
  EXPECT_EQ(ReadFileOrEmpty(out), "");
}

}  // namespace
}  // namespace walship::testing
