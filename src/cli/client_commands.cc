// The commands that talk to a running node over its API: import, export,
// status.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
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
  std::string body;
  auto status = client.PostFile("/import?name=" + http::UrlEncode(cl.name), cl.file,
                                http::kOctetStream, &body);
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
  const std::string tmp = cl.file + ".tmp";
  std::string error;
  auto status = client.GetToFile("/export?name=" + http::UrlEncode(cl.name), tmp, &error);
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

int RunStatus(const CommandLine& cl) {
  http::Client client(cl.url, std::chrono::seconds(10));
  auto resp = client.Get("/info");
  if (!resp.ok()) return Fail("status: " + resp.status().message());
  if (resp->status != 200) return Fail("status: " + ErrorOf(resp->body));
  if (cl.json) {
    std::fputs(resp->body.c_str(), stdout);
    return 0;
  }
  auto info = nlohmann::json::parse(resp->body, nullptr, false);
  if (!info.is_object()) return Fail("status: the node answered something that is not JSON");
  std::string node = info.value("hostname", "");
  std::string role = info.value("role", "");
  std::string primary = info.contains("primary") ? info["primary"].value("hostname", "") : "";
  std::printf("%-16s %-8s %-24s %10s %-16s %8s %s\n", "NODE", "ROLE", "DB", "TXID", "CHECKSUM",
              "LAG", "PRIMARY");
  for (const auto& db : info.value("databases", nlohmann::json::array())) {
    std::printf("%-16s %-8s %-24s %10llu %-16s %6lldms %s\n", node.c_str(), role.c_str(),
                db.value("name", "").c_str(),
                static_cast<unsigned long long>(db.value("txid", uint64_t(0))),
                db.value("checksum", "").c_str(),
                static_cast<long long>(db.value("lagMs", int64_t(0))), primary.c_str());
  }
  bool header = false;
  for (const auto& db : info.value("databases", nlohmann::json::array())) {
    if (!db.contains("backup")) continue;
    if (!header) std::printf("\n%-24s %12s %10s %s\n", "BACKUP DB", "ARCHIVED", "LAG", "ERROR");
    header = true;
    const auto& b = db["backup"];
    std::printf("%-24s %12llu %8lldms %s\n", db.value("name", "").c_str(),
                static_cast<unsigned long long>(b.value("archivedTXID", uint64_t(0))),
                static_cast<long long>(b.value("lagMs", int64_t(0))),
                b.value("error", "").c_str());
  }
  return 0;
}

}  // namespace walship::cli
