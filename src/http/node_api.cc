#include "http/node_api.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "base/coding.h"
#include "env/env.h"
#include "http/json_text.h"
#include "store/sqlite_file.h"

namespace walship::http {
namespace {

// Waiting for SQLite locks during an import or export.
constexpr int kBusyTimeoutMs = 10000;

// A decimal number of digits only ("-1", "10s" and "" are not).
std::optional<uint64_t> ParseDecimal(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

int HttpStatusOf(const Status& st) {
  switch (st.code()) {
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kNotPrimary:
    case Status::Code::kReadOnly: return 409;
    case Status::Code::kBusy: return 503;
    default: return 500;
  }
}

nlohmann::json DatabaseJson(store::Db* db, int64_t lag_ms) {
  store::Position pos = db->CommittedPos();
  return {{"name", db->name()},        {"txid", pos.txid},
          {"checksum", Hex16(pos.checksum)}, {"pageSize", db->page_size()},
          {"pageCount", db->page_count()},   {"lagMs", lag_ms}};
}

// A Prometheus label value (text exposition format): backslash, double quote
// and newline escaped.
std::string LabelValue(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

NodeApi::NodeApi(NodeApiOptions options, store::Store* store)
    : options_(std::move(options)), store_(store), streamer_(store, repl::StreamerOptions{}) {}

NodeApi::~NodeApi() { Stop(); }

Status NodeApi::Start() {
  ServerOptions server_options;
  server_options.addr = options_.addr;
  server_options.auth_token = options_.auth_token;
  server_options.tls = options_.tls;
  server_ = std::make_unique<Server>(server_options);
  server_->Handle("GET", "/info", [this](Request& q, Response& r) { HandleInfo(q, r); });
  server_->Handle("POST", "/import", [this](Request& q, Response& r) { HandleImport(q, r); });
  server_->Handle("GET", "/export", [this](Request& q, Response& r) { HandleExport(q, r); });
  server_->Handle("GET", "/metrics", [this](Request& q, Response& r) { HandleMetrics(q, r); });
  server_->Handle("POST", "/stream", [this](Request& q, Response& r) { HandleStream(q, r); });
  server_->Handle("GET", "/events", [this](Request& q, Response& r) { HandleEvents(q, r); });
  server_->Handle("POST", "/handoff", [this](Request& q, Response& r) { HandleHandoff(q, r); });
  server_->Handle("POST", "/promote", [this](Request& q, Response& r) { HandlePromote(q, r); });
  server_->Handle("GET", "/wait", [this](Request& q, Response& r) { HandleWait(q, r); });
  WALSHIP_RETURN_IF_ERROR(
      env::Env::Posix()->MkdirAll(env::JoinPath(store_->data_dir(), "tmp")));
  WALSHIP_RETURN_IF_ERROR(server_->Start().WithContext("node API on " + options_.addr));
  spdlog::info("http: node API listening on port {}", server_->port());
  if (options_.auth_token.empty()) {
    spdlog::warn("http: no http.auth-token is set: the node API on port {} (import, export, "
                 "promote, handoff, the replication stream) is open to anyone who can reach "
                 "the port; see docs/security.md",
                 server_->port());
  }
  return Status::OK();
}

void NodeApi::Stop() {
  if (server_) server_->Stop();
}

uint16_t NodeApi::port() const { return server_ ? server_->port() : 0; }

std::string NodeApi::TempPath(const std::string& what) const {
  static std::atomic<uint64_t> counter{0};
  return env::JoinPath(env::JoinPath(store_->data_dir(), "tmp"),
                       what + "-" + std::to_string(::getpid()) + "-" +
                           std::to_string(counter.fetch_add(1)) + ".db");
}

void NodeApi::HandleInfo(Request&, Response& resp) {
  store::NodeRole role = store_->role();
  int64_t lag = store_->LagMs();
  nlohmann::json dbs = nlohmann::json::array();
  for (store::Db* db : store_->List()) dbs.push_back(DatabaseJson(db, lag));
  if (options_.backup_positions) {
    // Each database's archive position, under "backup".
    for (const BackupPosition& p : options_.backup_positions()) {
      for (auto& d : dbs) {
        if (d["name"] != p.db) continue;
        d["backup"] = {{"archivedTXID", p.archived_txid}, {"lagMs", p.lag_ms}, {"error", p.error}};
      }
    }
  }
  nlohmann::json info = {
      {"nodeID", Hex16(store_->node_id())},
      {"hostname", options_.hostname},
      {"clusterID", options_.cluster_id ? options_.cluster_id() : ""},
      {"role", role.primary ? "primary" : "replica"},
      {"primary",
       role.primary ? nlohmann::json{{"hostname", options_.hostname},
                                     {"advertiseURL", options_.advertise_url}}
                    : nlohmann::json{{"hostname", role.primary_hostname},
                                     {"advertiseURL", role.primary_url}}},
      {"candidate", options_.candidate},
      {"proxyURL", options_.proxy_url},
      {"databases", dbs}};
  if (role.primary) {
    // The replicas streaming from this primary now (walship status's cluster view).
    nlohmann::json replicas = nlohmann::json::array();
    for (const repl::ConnectedReplica& r : streamer_.Replicas()) {
      replicas.push_back({{"nodeID", r.node_id},
                          {"hostname", r.hostname},
                          {"advertiseURL", r.advertise_url},
                          {"candidate", r.candidate}});
    }
    info["replicas"] = replicas;
  }
  resp.SendJson(200, internal::JsonLine(info));
}

namespace {

// 409 for a request this node's role or lease type cannot serve, 503 when a
// peer or etcd did not answer in time, 500 otherwise.
int LeaseErrorStatus(const Status& st) {
  switch (st.code()) {
    case Status::Code::kNotPrimary:
    case Status::Code::kInvalidArgument:
    case Status::Code::kBusy: return 409;
    case Status::Code::kUnavailable:
    case Status::Code::kAborted: return 503;
    default: return 500;
  }
}

}  // namespace

void NodeApi::HandleHandoff(Request& req, Response& resp) {
  const std::string node_id = req.Query("nodeID");
  if (node_id.empty()) return resp.SendJsonError(400, "handoff: nodeID is required");
  if (!options_.handoff) return resp.SendJsonError(409, "handoff: not available on this node");
  if (const store::NodeRole role = store_->role(); !role.primary) {
    // Say so, rather than that the node is not connected "to this primary".
    return resp.SendJsonError(409, "handoff: this node is not the primary; ask the primary" +
                                       (role.primary_hostname.empty()
                                            ? std::string()
                                            : " (" + role.primary_hostname + ")"));
  }
  for (const repl::ConnectedReplica& r : streamer_.Replicas()) {
    if (r.node_id != node_id) continue;
    if (!r.candidate) {
      return resp.SendJsonError(409, "handoff: node " + node_id + " (" + r.hostname +
                                         ") is not a candidate");
    }
    Status st = options_.handoff(r);
    if (!st.ok()) return resp.SendJsonError(LeaseErrorStatus(st), "handoff: " + st.message());
    return resp.SendJson(
        200, internal::JsonLine(nlohmann::json{{"primary", r.hostname}, {"nodeID", node_id}}));
  }
  resp.SendJsonError(409, "handoff: node " + node_id +
                              " is not a replica connected to this primary");
}

void NodeApi::HandlePromote(Request&, Response& resp) {
  if (!options_.promote) return resp.SendJsonError(409, "promote: not available on this node");
  Status st = options_.promote();
  if (!st.ok()) return resp.SendJsonError(LeaseErrorStatus(st), "promote: " + st.message());
  resp.SendJson(200, internal::JsonLine(nlohmann::json{{"primary", options_.hostname}}));
}

void NodeApi::HandleWait(Request& req, Response& resp) {
  const std::string db = req.Query("db");
  const std::string txid_text = req.Query("txid");
  const std::string timeout_text = req.Query("timeout");
  if (db.empty() || txid_text.empty()) {
    return resp.SendJsonError(400, "wait: db and txid (a number or \"primary\") are required");
  }
  if (Status st = store::ValidateDbName(db); !st.ok()) {
    return resp.SendJsonError(400, "wait: " + st.message());
  }
  uint64_t txid = 0;
  if (txid_text == "primary") {
    if (!options_.primary_txid) return resp.SendJsonError(409, "wait: txid=primary is not available");
    auto primary = options_.primary_txid(db);
    if (!primary.ok()) return resp.SendJsonError(503, "wait: " + primary.status().message());
    txid = *primary;
  } else {
    auto number = ParseDecimal(txid_text);
    if (!number) return resp.SendJsonError(400, "wait: txid must be a number or \"primary\"");
    txid = *number;
  }
  std::chrono::milliseconds timeout(10000);
  if (!timeout_text.empty()) {
    auto ms = ParseDecimal(timeout_text);
    if (!ms || *ms > uint64_t(INT32_MAX)) {
      return resp.SendJsonError(
          400, "wait: timeout must be a number of milliseconds, not \"" + timeout_text + "\"");
    }
    timeout = std::chrono::milliseconds(*ms);
  }
  if (!options_.wait_for_txid) return resp.SendJsonError(409, "wait: not available");
  const bool reached = options_.wait_for_txid(db, txid, timeout);
  store::Db* d = store_->Find(db);
  const uint64_t now = d ? d->pos().txid : 0;
  if (!reached) {
    return resp.SendJsonError(504, "wait: " + db + " is at txid " + std::to_string(now) +
                                       ", not " + std::to_string(txid) + ", after " +
                                       std::to_string(timeout.count()) + " ms");
  }
  resp.SendJson(200, internal::JsonLine(nlohmann::json{{"db", db}, {"txid", now}}));
}

void NodeApi::HandleImport(Request& req, Response& resp) {
  const std::string name = req.Query("name");
  if (Status st = store::ValidateDbName(name); !st.ok()) {
    return resp.SendJsonError(400, "import: " + st.message());
  }
  if (!store_->role().primary) {
    return resp.SendJsonError(409, "import: this node is a replica; import on the primary");
  }
  const std::string tmp = TempPath("import");
  env::Env* env = env::Env::Posix();
  auto cleanup = [&] { (void)env->Remove(tmp); };
  {
    auto file = env->Open(tmp, env::OpenMode::kCreate);
    if (!file.ok()) return resp.SendJsonError(500, "import: " + file.status().message());
    uint64_t offset = 0;
    Status st = req.ReadBodyTo([&](std::span<const uint8_t> piece) {
      Status w = (*file)->WriteAt(offset, piece);
      offset += piece.size();
      return w;
    });
    if (!st.ok()) {
      cleanup();
      return resp.SendJsonError(400, "import: reading upload: " + st.message());
    }
  }
  auto info = store::ValidateSqliteFile(tmp);
  if (!info.ok()) {
    cleanup();
    spdlog::warn("import of {} rejected: {}", name, info.status().message());
    return resp.SendJsonError(400, "import " + name + ": " + info.status().message());
  }
  spdlog::info("import of {}: {} pages of {} bytes", name, info->page_count, info->page_size);
  Status st = store::CopyDatabase(tmp, env::JoinPath(options_.mount_dir, name), kBusyTimeoutMs,
                                  [&](int done, int total) {
                                    spdlog::info("import of {}: copied {}/{} pages", name, done,
                                                 total);
                                  });
  cleanup();
  if (!st.ok()) return resp.SendJsonError(HttpStatusOf(st), "import " + name + ": " + st.message());
  store::Db* db = store_->Find(name);
  if (!db) return resp.SendJsonError(500, "import " + name + ": database missing after import");
  resp.SendJson(200, internal::JsonLine(DatabaseJson(db, 0)));
}

void NodeApi::HandleExport(Request& req, Response& resp) {
  const std::string name = req.Query("name");
  if (Status st = store::ValidateDbName(name); !st.ok()) {
    return resp.SendJsonError(400, "export: " + st.message());
  }
  store::Db* db = store_->Find(name);
  if (!db) return resp.SendJsonError(404, "export: no database " + name);
  const std::string tmp = TempPath("export");
  // Straight from walship's files, not through the mount: no SQLite
  // connection of walship's own on its own FUSE files. The bytes are the
  // primary's, with the WAL applied (a WAL-mode database stays marked as
  // one), so the copy's checksum is the one -pos shows at its TXID.
  Status st = db->ExportTo(tmp).status();
  if (st.ok()) st = resp.SendFile(tmp);
  (void)env::Env::Posix()->Remove(tmp);
  if (!st.ok() && !resp.started()) {
    resp.SendJsonError(HttpStatusOf(st), "export " + name + ": " + st.message());
  }
}

void NodeApi::HandleMetrics(Request&, Response& resp) {
  std::ostringstream out;
  out << "# HELP walship_commits_total Transactions recorded since start (committed on a "
         "primary, applied on a replica).\n"
         "# TYPE walship_commits_total counter\n";
  for (store::Db* db : store_->List()) {
    out << "walship_commits_total{db=\"" << LabelValue(db->name()) << "\"} "
        << db->stats().commits << "\n";
  }
  out << "# HELP walship_ltx_bytes_total Bytes of LTX files written since start.\n"
         "# TYPE walship_ltx_bytes_total counter\n";
  for (store::Db* db : store_->List()) {
    out << "walship_ltx_bytes_total{db=\"" << LabelValue(db->name()) << "\"} "
        << db->stats().ltx_bytes << "\n";
  }
  out << "# HELP walship_txid Current transaction ID.\n# TYPE walship_txid gauge\n";
  for (store::Db* db : store_->List()) {
    out << "walship_txid{db=\"" << LabelValue(db->name()) << "\"} " << db->pos().txid << "\n";
  }
  out << "# HELP walship_lag_seconds Seconds since the last frame from the primary (0 on the "
         "primary).\n# TYPE walship_lag_seconds gauge\nwalship_lag_seconds "
      << double(store_->LagMs()) / 1000.0 << "\n";
  out << "# HELP walship_primary Whether this node is the primary (1) or a replica (0).\n"
         "# TYPE walship_primary gauge\nwalship_primary "
      << (store_->role().primary ? 1 : 0) << "\n";
  if (options_.fuse_requests) {
    out << "# HELP walship_fuse_requests_total Requests the kernel sent the mount, by opcode.\n"
           "# TYPE walship_fuse_requests_total counter\n";
    for (const auto& [op, count] : options_.fuse_requests()) {
      out << "walship_fuse_requests_total{op=\"" << op << "\"} " << count << "\n";
    }
  }
  if (options_.backup_counters) {
    const BackupCounters c = options_.backup_counters();
    out << "# HELP walship_backup_uploads_total Objects uploaded to the backup archive.\n"
           "# TYPE walship_backup_uploads_total counter\nwalship_backup_uploads_total "
        << c.uploads
        << "\n# HELP walship_backup_upload_bytes_total Bytes uploaded to the backup archive.\n"
           "# TYPE walship_backup_upload_bytes_total counter\nwalship_backup_upload_bytes_total "
        << c.upload_bytes
        << "\n# HELP walship_backup_errors_total Failed backup attempts (uploads, snapshots, "
           "compaction, retention).\n# TYPE walship_backup_errors_total counter\n"
           "walship_backup_errors_total "
        << c.errors << "\n";
  }
  if (options_.backup_positions) {
    const auto positions = options_.backup_positions();
    out << "# HELP walship_backup_archived_txid Highest TXID in the backup archive.\n"
           "# TYPE walship_backup_archived_txid gauge\n";
    for (const auto& p : positions) {
      out << "walship_backup_archived_txid{db=\"" << LabelValue(p.db) << "\"} "
          << p.archived_txid << "\n";
    }
    out << "# HELP walship_backup_lag_seconds Age of the oldest transaction not yet "
           "archived.\n# TYPE walship_backup_lag_seconds gauge\n";
    for (const auto& p : positions) {
      out << "walship_backup_lag_seconds{db=\"" << LabelValue(p.db) << "\"} "
          << double(p.lag_ms) / 1000.0 << "\n";
    }
  }
  WriteLiteFsMetrics(out);
  resp.Send(200, out.str(), "text/plain; version=0.0.4");
}

void NodeApi::WriteLiteFsMetrics(std::ostream& out) const {
  const std::vector<store::Db*> dbs = store_->List();
  out << "# HELP litefs_db_txid Current transaction ID (walship_txid).\n"
         "# TYPE litefs_db_txid gauge\n";
  for (store::Db* db : dbs) {
    out << "litefs_db_txid{db=\"" << LabelValue(db->name()) << "\"} " << db->pos().txid << "\n";
  }
  // LiteFS types it a counter; promtool wants counters to end in _total.
  out << "# HELP litefs_db_commit_count Transactions recorded since start "
         "(walship_commits_total).\n# TYPE litefs_db_commit_count untyped\n";
  for (store::Db* db : dbs) {
    out << "litefs_db_commit_count{db=\"" << LabelValue(db->name()) << "\"} "
        << db->stats().commits << "\n";
  }
  // LiteFS types this and litefs_db_count gauges; promtool wants no _count
  // suffix on a gauge.
  out << "# HELP litefs_db_ltx_count LTX files on disk.\n# TYPE litefs_db_ltx_count untyped\n";
  for (store::Db* db : dbs) {
    out << "litefs_db_ltx_count{db=\"" << LabelValue(db->name()) << "\"} "
        << db->ListLtxFiles().size() << "\n";
  }
  out << "# HELP litefs_db_count Databases on this node.\n# TYPE litefs_db_count untyped\n"
         "litefs_db_count "
      << dbs.size()
      << "\n# HELP litefs_is_primary Whether this node is the primary (walship_primary).\n"
         "# TYPE litefs_is_primary gauge\nlitefs_is_primary "
      << (store_->role().primary ? 1 : 0)
      << "\n# HELP litefs_lag_seconds Seconds behind the primary (walship_lag_seconds).\n"
         "# TYPE litefs_lag_seconds gauge\nlitefs_lag_seconds "
      << double(store_->LagMs()) / 1000.0 << "\n";
}

}  // namespace walship::http
