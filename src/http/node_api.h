// NodeApi: the node HTTP API (DESIGN.md §1.6) on top of http::Server —
// GET /info, POST /import, GET /export, GET /metrics, POST /stream (the
// replication stream, repl::Streamer), GET /events (NDJSON), and POST
// /promote and /handoff (moving the lease; the node does the work through the
// callbacks in NodeApiOptions).
//
// An import goes through the mount with SQLite's backup API: an ordinary
// transaction (one new TXID, captured like any other). An export copies the
// committed pages straight from the store (Db::ExportTo), never through the
// mount. Uploads and exports are staged in DATA/tmp/ and removed afterwards.
//
// Thread-safety: Start/Stop from one thread; handlers run concurrently on the
// server's threads and only touch the thread-safe Store.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "http/server.h"
#include "repl/streamer.h"
#include "store/store.h"

namespace walship::http {

// Where the backup archive of one database stands (filled by cli from the
// backup module, which http does not know).
struct BackupPosition {
  std::string db;
  uint64_t archived_txid = 0;
  int64_t lag_ms = 0;
  std::string error;  // the last failure, "" when the last attempt succeeded
};
struct BackupCounters {
  uint64_t uploads = 0;
  uint64_t upload_bytes = 0;
  uint64_t errors = 0;
};

struct NodeApiOptions {
  std::string addr = ":20202";
  // http.auth-token: when set, every request needs it (ServerOptions::auth_token).
  std::string auth_token;
  // http.tls-cert/tls-key/tls-ca: HTTPS when set (ServerOptions::tls).
  TlsFiles tls;
  std::string mount_dir;  // where SQLite opens the databases
  std::string hostname;
  std::string advertise_url;
  bool candidate = true;
  // Set when continuous backup runs on this node: /info and /metrics report
  // them. Called from handler threads; must be thread-safe.
  std::function<std::vector<BackupPosition>()> backup_positions;
  std::function<BackupCounters()> backup_counters;
  // FUSE requests served by the mount, by opcode (/metrics); thread-safe.
  std::function<std::vector<std::pair<std::string, uint64_t>>()> fuse_requests;
  // DATA/cluster.id as the lease agreed it ("" before that, or under the
  // static lease).
  std::function<std::string()> cluster_id;
  // POST /handoff?nodeID=: move the lease from this primary to a connected
  // candidate replica. POST /promote: make this node the primary.
  std::function<Status(const repl::ConnectedReplica&)> handoff;
  std::function<Status()> promote;
  // This node's proxy as other nodes reach it ("" when it runs none).
  std::string proxy_url;
  // GET /wait?db=&txid=N|primary: the primary's TXID of a database (a
  // replica asks the primary; nullptr: only numeric TXIDs).
  std::function<Result<uint64_t>(const std::string& db)> primary_txid;
  std::function<bool(const std::string& db, uint64_t txid, std::chrono::milliseconds timeout)>
      wait_for_txid;
};

class NodeApi {
 public:
  // `store` must outlive the NodeApi.
  NodeApi(NodeApiOptions options, store::Store* store);
  ~NodeApi();

  Status Start();
  void Stop();
  uint16_t port() const;

 private:
  void HandleInfo(Request& req, Response& resp);
  void HandleImport(Request& req, Response& resp);
  void HandleExport(Request& req, Response& resp);
  void HandleMetrics(Request& req, Response& resp);
  // The metrics LiteFS exports that walship has an equivalent of, under
  // LiteFS's names (docs/litefs-compat.md), so its dashboards keep working.
  void WriteLiteFsMetrics(std::ostream& out) const;
  void HandleStream(Request& req, Response& resp);
  void HandleEvents(Request& req, Response& resp);
  void HandleHandoff(Request& req, Response& resp);
  void HandlePromote(Request& req, Response& resp);
  void HandleWait(Request& req, Response& resp);
  std::string TempPath(const std::string& what) const;

  NodeApiOptions options_;
  store::Store* store_;
  std::unique_ptr<Server> server_;
  repl::Streamer streamer_;
};

}  // namespace walship::http
