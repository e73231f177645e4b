#include "security_util.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

namespace walship::testing::security {

::testing::AssertionResult StartWithAppDb(cluster::Cluster& cluster, Pos* pos) {
  if (auto r = cluster.Start(); !r) return r;
  Sql sql(cluster.primary().Path(cluster::kDb));
  if (!sql.ok()) return ::testing::AssertionFailure() << sql.error();
  if (auto r = cluster::SetUpDb(sql, JournalMode::kWal); !r) return r;
  if (auto r = cluster::InsertRows(sql, 0, 10); !r) return r;
  return cluster::WaitConverged(cluster, cluster::kDb, std::chrono::seconds(30), pos);
}

std::vector<std::string> ListDbs(const std::string& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(data_dir + "/dbs", ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

::testing::AssertionResult IsOneLineJsonError(const std::string& body) {
  if (body.empty() || body.find('\n') != body.size() - 1) {
    return ::testing::AssertionFailure() << "not one line: " << body;
  }
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object() || !json.contains("error")) {
    return ::testing::AssertionFailure() << "not a JSON error: " << body;
  }
  return ::testing::AssertionSuccess();
}

}  // namespace walship::testing::security
