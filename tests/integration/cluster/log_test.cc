// `log.format: json` (label cluster): every line walship writes is one JSON
// object, even for messages holding quotes (a replica's refused stream).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "cluster/cluster_util.h"

namespace walship::testing::cluster {
namespace {

TEST(JsonLogTest, EveryLineIsAJsonObject) {
  ClusterOptions options = Nodes(3);
  options.every_node_yaml = "log:\n  format: json\n";
  Cluster cluster(options);
  ASSERT_TRUE(cluster.Start());
  {
    Sql sql(cluster.primary().Path(kDb));
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(InsertRows(sql, 1, 3));
  }
  ASSERT_TRUE(WaitConverged(cluster, kDb));
  // A message with quotes and a newline in it: node2, told that node3 (a
  // replica) is the primary, logs node3's JSON error answer.
  WalshipProcess& misled = cluster.node(1);
  ASSERT_TRUE(misled.Stop());
  std::string config = ReadBytes(misled.config_path());
  config.replace(config.find(cluster.Url(0)), cluster.Url(0).size(), cluster.Url(2));
  misled.WriteConfig(config);
  ASSERT_TRUE(misled.Start());
  EXPECT_TRUE(WaitForLog(misled, R"(\"error\")")) << "no escaped JSON error in the log";
  ASSERT_TRUE(cluster.StopAll());
  for (size_t i = 0; i < cluster.size(); i++) {
    std::istringstream lines(cluster.node(i).Log());
    int parsed = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty() || line.rfind("=== test harness", 0) == 0) continue;
      auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
      ASSERT_TRUE(j.is_object()) << "node" << i + 1 << " wrote a line that is not JSON: " << line;
      EXPECT_TRUE(j.contains("time") && j.contains("level") && j.contains("msg")) << line;
      parsed++;
    }
    EXPECT_GT(parsed, 3) << "node" << i + 1;
  }
}

}  // namespace
}  // namespace walship::testing::cluster
