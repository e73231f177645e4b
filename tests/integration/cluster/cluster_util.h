// Shared pieces of the cluster tests (label cluster): a Cluster of walship
// nodes on loopback with static-lease configs (node1 the primary, the others
// its replicas), waits on -pos files, the walship CLI, the node API, a
// replica-side consistency proof, and small SQLite helpers.
//
// Everything here is thread-compatible and meant for the test's main thread,
// except PosWatcher and RowCountReader, which own one background thread each.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/child_process.h"
#include "harness/consistency.h"
#include "harness/journal_mode.h"
#include "harness/sql.h"
#include "harness/status_assert.h"
#include "harness/temp_dir.h"
#include "harness/walship_process.h"
#include "http/client.h"

namespace walship::testing::cluster {

using std::chrono::milliseconds;
using std::chrono::seconds;

inline constexpr char kDb[] = "app.db";

// --- SQLite --------------------------------------------------------------


// Sets the journal mode and creates t(id INTEGER PRIMARY KEY, seq INTEGER,
// payload BLOB).
::testing::AssertionResult SetUpDb(Sql& sql, JournalMode mode);
// One single-row transaction with `payload_bytes` random bytes.
::testing::AssertionResult InsertRow(Sql& sql, int64_t seq, int payload_bytes = 100);
// `count` single-row transactions, seq first..first+count-1.
::testing::AssertionResult InsertRows(Sql& sql, int64_t first, int64_t count,
                                      int payload_bytes = 100);
// SetUpDb in WAL mode with synchronous=NORMAL: the fastest writer that still
// makes one LTX file per commit.
::testing::AssertionResult SetUpFastDb(Sql& sql);
// InsertRows with 50-byte payloads, printing how long it took.
::testing::AssertionResult InsertTimed(Sql& sql, int64_t first, int64_t count);
// Prints "[ info ] WHAT: N ms" for the time since `start`; returns N.
int64_t PrintElapsed(const std::string& what, std::chrono::steady_clock::time_point start);
// SELECT count(*) FROM t, or -1 with a test failure.
int64_t CountRows(Sql& sql);
// Creates a standalone database file (outside any mount) holding t with
// `rows` rows of `payload_bytes` random bytes, written in one transaction.
::testing::AssertionResult MakeDatabaseFile(const std::string& path, int64_t rows,
                                            int payload_bytes);
// PRAGMA integrity_check of the file at `path` (opened read-only) says "ok".
::testing::AssertionResult IntegrityOk(const std::string& path);

// --- The cluster ---------------------------------------------------------

struct ClusterOptions {
  int nodes = 3;
  // YAML lines (indented two spaces) appended under the primary's `data:` key.
  std::string primary_data_yaml;
  // Extra environment for the primary (a test hook) and for every replica.
  EnvVars primary_env;
  EnvVars replica_env;
  // lease.reconnect-delay of the replicas.
  std::string reconnect_delay = "200ms";
  // When set: every node uses lease.type etcd at this endpoint (hostname
  // nodeN, all candidates, key walship/primary) instead of the static lease.
  std::string etcd_endpoint;
  std::string etcd_ttl = "2s";
  // YAML lines (indented four spaces) appended under each node's lease.etcd.
  std::string etcd_yaml;
  // Top-level YAML appended to every node's config (e.g. a backup: section).
  std::string every_node_yaml;
  // Top-level YAML for node i (e.g. its proxy: section), when set.
  std::function<std::string(size_t i)> node_yaml;
  // YAML lines (indented two spaces) under node i's http: key (e.g. its
  // auth-token), when set.
  std::function<std::string(size_t i)> http_yaml;
  // "https" when http_yaml gives every node TLS files: the scheme of Url()
  // and so of every advertise-url.
  std::string scheme = "http";
};

// ClusterOptions with only `nodes` changed.
inline ClusterOptions Nodes(int nodes) {
  ClusterOptions options;
  options.nodes = nodes;
  return options;
}

// node(0) is "node1", the static lease's candidate and so the primary; every
// other node names it (hostname node1, its advertise-url) and is a replica.
// All nodes live under one TempDir; each WalshipProcess kills its process
// and detaches its mount when the Cluster dies, whatever happened.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options = {});
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts every node, the primary first (static lease) or all of them
  // without waiting in between (etcd).
  ::testing::AssertionResult Start();
  // Starts node i and waits for its mount.
  ::testing::AssertionResult StartNode(size_t i);
  // Writes node i's config again from the options (whose functions may now
  // answer differently); takes effect at its next start.
  void RewriteConfig(size_t i);
  // Stops (SIGTERM) every running node, replicas first.
  ::testing::AssertionResult StopAll();

  size_t size() const { return nodes_.size(); }
  WalshipProcess& node(size_t i) { return *nodes_.at(i); }
  // The static lease's primary (node1). Under etcd use PrimaryIndex.
  WalshipProcess& primary() { return node(0); }
  // Etcd: polls every running node's /info until exactly one says it is the
  // primary (and is not in `exclude`); its index, or -1 after `timeout`.
  int PrimaryIndex(milliseconds timeout = seconds(15), int exclude = -1);
  // "http://127.0.0.1:PORT" (or https://) of node i's API.
  std::string Url(size_t i) const;
  const std::string& dir() const { return dir_.path(); }
  // A scratch directory outside every mount (exports, imports).
  std::string Scratch(const std::string& name) const { return dir_ / ("scratch/" + name); }

 private:
  std::string ConfigFor(size_t i) const;

  ClusterOptions options_;
  TempDir dir_;
  std::vector<std::unique_ptr<WalshipProcess>> nodes_;
};

// Creates `db` on the primary in rollback-journal (delete) mode holding about
// `megabytes` MB (rows of 4000 random bytes, one a page) written in one
// transaction; prints how long it took and returns the position.
::testing::AssertionResult MakeLargeDatabase(Cluster& cluster, const std::string& db, int megabytes,
                                             Pos* pos);

// --- Positions -----------------------------------------------------------

// Polls MNT/DB-pos of `node` until it equals `want`; the failure says what it
// was last.
::testing::AssertionResult WaitForPos(const WalshipProcess& node, const std::string& db,
                                      const Pos& want, milliseconds timeout = seconds(30));
// Polls until the TXID of `node`'s DB-pos is at least `txid`.
::testing::AssertionResult WaitForTxid(const WalshipProcess& node, const std::string& db,
                                       uint64_t txid, milliseconds timeout = seconds(30));
// Polls `node`'s log until it holds `text`.
::testing::AssertionResult WaitForLog(const WalshipProcess& node, const std::string& text,
                                      milliseconds timeout = seconds(20));
// The same for `text` written after the log's first `from` bytes (e.g. its
// size when something happened: the node said it again since).
::testing::AssertionResult WaitForLogAfter(const WalshipProcess& node, const std::string& text,
                                           size_t from, milliseconds timeout = seconds(20));
// With no writer active on the primary: waits for every running replica's
// -pos to equal the primary's, which goes to `pos_out` (optional).
::testing::AssertionResult WaitConverged(Cluster& cluster, const std::string& db,
                                         milliseconds timeout = seconds(60),
                                         Pos* pos_out = nullptr);

// (TXID -> post-apply checksum) at the end of every LTX file of `db` under
// `data_dir` and every entry of its LTX log, each verified in full. A
// snapshot or multi-TXID file counts for its max TXID.
Result<std::map<uint64_t, uint64_t>> LtxChecksums(const std::string& data_dir,
                                                  const std::string& db);

// The replica-side proof that `node` holds exactly position `want` of `db`:
// -pos equals it; `PRAGMA integrity_check` through the mount is ok; the
// checksum recomputed from the database file (through the mount and in
// DATA/dbs/DB/database) equals want.checksum; and the newest LTX file on
// disk verifies and ends at `want`.
::testing::AssertionResult ReplicaConsistent(const WalshipProcess& node, const std::string& db,
                                             const Pos& want);

// Records every distinct value of a node's DB-pos, polling every ~1 ms on
// its own thread, from construction until Stop().
class PosWatcher {
 public:
  PosWatcher(std::string mount_dir, std::string db);
  ~PosWatcher();
  // Stops polling; returns the positions seen, in order.
  std::vector<Pos> Stop();

 private:
  std::string mount_dir_;
  std::string db_;
  std::mutex mu_;
  std::vector<Pos> seen_;
  std::jthread thread_;
};

// A reader with one long-lived connection to `path` (normally a replica's
// database) that runs SELECT count(*) FROM t on its own thread until the
// count reaches `target` or `timeout` passes, remembering every value.
class RowCountReader {
 public:
  // Opens the connection (and runs a first query) before returning.
  RowCountReader(const std::string& path, int64_t target, milliseconds timeout);
  ~RowCountReader();
  bool ok() const { return open_error_.empty(); }
  const std::string& open_error() const { return open_error_; }
  // Starts polling.
  void Start();
  // Waits for the thread; then the values seen and any query error.
  void Join();
  const std::vector<int64_t>& counts() const { return counts_; }
  const std::string& error() const { return error_; }

 private:
  void Run();

  Sql sql_;
  int64_t target_;
  milliseconds timeout_;
  std::string open_error_;
  std::vector<int64_t> counts_;
  std::string error_;
  std::thread thread_;
};

// --- CLI and node API ----------------------------------------------------

// Reads NDJSON lines from GET /events of one node.
class EventStream {
 public:
  explicit EventStream(const std::string& url);
  ::testing::AssertionResult Open();
  // The next line, parsed (waits up to 15 s).
  Result<nlohmann::json> Next();

 private:
  http::Client client_;
  std::unique_ptr<http::StreamReader> reader_;
};


// Runs `walship ARGS...` to completion; output is stdout and stderr.
CliResult RunWalship(const std::vector<std::string>& args, milliseconds timeout = seconds(120));
// `walship export --name DB --url URL FILE`.
CliResult ExportDb(const std::string& url, const std::string& db, const std::string& file);
// `walship import --name DB --url URL FILE`.
CliResult ImportDb(const std::string& url, const std::string& db, const std::string& file);

// GET `path` from the node API at `url`; the body of a 200, else an error.
Result<std::string> HttpGet(const std::string& url, const std::string& path);

// Reads MNT/.lag ("%+010d\n"), or an error when absent or malformed.
Result<int64_t> ReadLag(const std::string& mount_dir);

// The part of `node`'s log written since its last (re)start.
std::string LogOfLastStart(const WalshipProcess& node);

// Polls until MNT/.lag of `node` reads below `ms`.
::testing::AssertionResult WaitForLagBelow(const WalshipProcess& node, int64_t ms,
                                           milliseconds timeout);

// The whole file, or "" when unreadable.
std::string ReadBytes(const std::string& path);
// "" when equal; else the sizes and the first few differing byte offsets
// with both values, for a failure message.
std::string DescribeDifference(const std::string& a, const std::string& b);

}  // namespace walship::testing::cluster
