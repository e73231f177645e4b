// The commands that talk to a running node over its API: import, export,
// status.
#include <algorithm>
#include <cstdio>
#include <optional>
#include <vector>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/node_info.h"
#include "cli/progress.h"
#include "env/env.h"
#include "http/client.h"
#include "http/url.h"
#include "store/sqlite_file.h"

namespace walship::cli {
namespace {

constexpr std::chrono::milliseconds kApiTimeout{std::chrono::minutes(10)};

int Fail(const std::string& what) {
  std::fprintf(stderr, "walship: %s\n", what.c_str());
  return 1;
}

// The "error" of a JSON error body, or the body itself.
std::string ErrorOf(const std::string& body) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_object() && json.contains("error") && json["error"].is_string()) {
    return json["error"].get<std::string>();
  }
  return body;
}

// Makes the downloaded file durable under its final name.
Status Publish(const std::string& tmp, const std::string& file) {
  env::Env* env = env::Env::Posix();
  {
    WALSHIP_ASSIGN_OR_RETURN(auto f, env->Open(tmp, env::OpenMode::kReadWrite));
    WALSHIP_RETURN_IF_ERROR(f->Sync());
  }
  WALSHIP_RETURN_IF_ERROR(env->Rename(tmp, file));
  return env->SyncDir(env::DirName(file));
}

}  // namespace

int RunImport(const CommandLine& cl) {
  if (!env::Env::Posix()->Exists(cl.file)) return Fail("import: no such file: " + cl.file);
  http::Client client(cl.url, kApiTimeout);
  client.SetCredentials(cl.credentials);
  std::string body;
  std::optional<TerminalProgress> progress(std::in_place, "import " + cl.name);
  client.SetTransferProgress([&](uint64_t done, uint64_t total) { progress->Update(done, total); });
  auto status = client.PostFile("/import?name=" + http::UrlEncode(cl.name), cl.file,
                                http::kOctetStream, &body);
  progress.reset();  // the upload is done; the line ends before any message
  if (!status.ok()) return Fail("import: " + status.status().message());
  if (*status != 200) return Fail(ErrorOf(body));
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object()) {
    std::printf("imported %s as txid %s (checksum %s)\n", cl.name.c_str(),
                json.value("txid", nlohmann::json(0)).dump().c_str(),
                json.value("checksum", std::string("?")).c_str());
  }
  return 0;
}

int RunExport(const CommandLine& cl) {
  http::Client client(cl.url, kApiTimeout);
  client.SetCredentials(cl.credentials);
  const std::string tmp = cl.file + ".tmp";
  std::string error;
  std::optional<TerminalProgress> progress(std::in_place, "export " + cl.name);
  client.SetTransferProgress([&](uint64_t done, uint64_t total) { progress->Update(done, total); });
  auto status = client.GetToFile("/export?name=" + http::UrlEncode(cl.name), tmp, &error);
  progress.reset();
  if (!status.ok()) {
    (void)env::Env::Posix()->Remove(tmp);
    return Fail("export: " + status.status().message());
  }
  if (*status != 200) {
    (void)env::Env::Posix()->Remove(tmp);
    return Fail(ErrorOf(error));
  }
  if (Status st = Publish(tmp, cl.file); !st.ok()) return Fail("export: " + st.message());
  std::printf("exported %s to %s\n", cl.name.c_str(), cl.file.c_str());
  return 0;
}

namespace {

Result<nlohmann::json> FetchInfo(const std::string& url, const http::Credentials& credentials) {
  return FetchNodeInfo(url, std::chrono::seconds(5), credentials);
}

// Every node the cluster knows of, as /info objects: the primary first (when
// reachable), then its connected replicas, then the asked node if it is
// neither. An unreachable node is {"url", "error"}.
std::vector<nlohmann::json> ClusterInfo(const nlohmann::json& asked,
                                        const http::Credentials& credentials) {
  std::vector<nlohmann::json> nodes;
  std::string primary_url = asked["url"];
  if (asked.value("role", "") != "primary") {
    primary_url = asked.contains("primary") ? asked["primary"].value("advertiseURL", "") : "";
  }
  std::vector<std::string> urls;
  if (!primary_url.empty()) {
    auto primary = primary_url == asked["url"] ? Result<nlohmann::json>(asked)
                                               : FetchInfo(primary_url, credentials);
    if (primary.ok()) {
      urls.push_back(primary_url);
      for (const auto& r : primary->value("replicas", nlohmann::json::array())) {
        urls.push_back(r.value("advertiseURL", ""));
      }
    } else {
      nodes.push_back({{"url", primary_url}, {"error", primary.status().message()}});
    }
  }
  if (std::find(urls.begin(), urls.end(), asked["url"].get<std::string>()) == urls.end()) {
    urls.push_back(asked["url"]);
  }
  for (const std::string& url : urls) {
    if (url.empty()) continue;
    if (url == asked["url"]) {
      nodes.push_back(asked);
      continue;
    }
    auto info = FetchInfo(url, credentials);
    nodes.push_back(info.ok() ? *info : nlohmann::json{{"url", url}, {"error", info.status().message()}});
  }
  return nodes;
}

// Prints rows as a table whose columns are as wide as their widest cell.
void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); i++) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); i++) {
      std::string cell = row[i];
      if (i + 1 < row.size()) cell.resize(width[i] + 2, ' ');
      line += cell;
    }
    std::printf("%s\n", line.c_str());
  }
}

}  // namespace

int RunStatus(const CommandLine& cl) {
  auto asked = FetchInfo(cl.url, cl.credentials);
  if (!asked.ok()) return Fail("status: " + asked.status().message());
  const std::vector<nlohmann::json> nodes = ClusterInfo(*asked, cl.credentials);
  if (cl.json) {
    std::printf("%s\n", nlohmann::json{{"nodes", nodes}}.dump().c_str());
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"NODE", "ROLE", "DB", "TXID", "CHECKSUM", "LAG", "URL"}};
  for (const auto& n : nodes) {
    const std::string url = n.value("url", "");
    if (n.contains("error")) {
      rows.push_back({"?", "unreachable", "-", "-", "-", "-", url + " (" + n.value("error", "") + ")"});
      continue;
    }
    const std::string host = n.value("hostname", "");
    const std::string role = n.value("role", "");
    const auto dbs = n.value("databases", nlohmann::json::array());
    if (dbs.empty()) rows.push_back({host, role, "-", "-", "-", "-", url});
    for (const auto& db : dbs) {
      rows.push_back({host, role, db.value("name", ""),
                      std::to_string(db.value("txid", uint64_t(0))), db.value("checksum", ""),
                      std::to_string(db.value("lagMs", int64_t(0))) + "ms", url});
    }
  }
  PrintTable(rows);
  std::vector<std::vector<std::string>> backup = {{"BACKUP DB", "ARCHIVED", "LAG", "ERROR"}};
  for (const auto& db : asked->value("databases", nlohmann::json::array())) {
    if (!db.contains("backup")) continue;
    const auto& b = db["backup"];
    backup.push_back({db.value("name", ""), std::to_string(b.value("archivedTXID", uint64_t(0))),
                      std::to_string(b.value("lagMs", int64_t(0))) + "ms", b.value("error", "")});
  }
  if (backup.size() > 1) {
    std::printf("\n");
    PrintTable(backup);
  }
  return 0;
}

}  // namespace walship::cli
