#include "cluster/cluster_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "env/env.h"
#include "http/client.h"
#include "ltx/decoder.h"
#include "ltx/io.h"

namespace walship::testing::cluster {
namespace {

using SteadyClock = std::chrono::steady_clock;
using ::testing::AssertionFailure;
using ::testing::AssertionSuccess;

std::string Describe(const Result<Pos>& pos) {
  if (!pos.ok()) return pos.status().ToString();
  std::ostringstream out;
  out << *pos;
  return out.str();
}

// Polls `done` every `every` until it is true or `timeout` passes.
template <typename Fn>
bool PollUntil(Fn done, milliseconds timeout, milliseconds every = milliseconds(10)) {
  const auto deadline = SteadyClock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (SteadyClock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

constexpr char kCreateTable[] =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, payload BLOB)";

// One statement inserting `rows` rows (seq 0..rows-1) of random payloads.
std::string BulkInsert(int64_t rows, int payload_bytes) {
  return "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < " +
         std::to_string(rows) + ") INSERT INTO t(seq, payload) SELECT i, randomblob(" +
         std::to_string(payload_bytes) + ") FROM n";
}

}  // namespace

// --- SQLite --------------------------------------------------------------

::testing::AssertionResult SetUpDb(Sql& sql, JournalMode mode) {
  auto got = sql.QueryString(std::string("PRAGMA journal_mode=") + ModeName(mode));
  if (!got.ok()) return AssertionFailure() << got.status().ToString();
  if (*got != ModeName(mode)) {
    return AssertionFailure() << "journal_mode is " << *got << ", wanted " << ModeName(mode);
  }
  return sql.Exec(kCreateTable);
}

::testing::AssertionResult InsertRow(Sql& sql, int64_t seq, int payload_bytes) {
  return sql.Exec("INSERT INTO t(seq, payload) VALUES(" + std::to_string(seq) + ", randomblob(" +
                  std::to_string(payload_bytes) + "))");
}

::testing::AssertionResult InsertRows(Sql& sql, int64_t first, int64_t count, int payload_bytes) {
  for (int64_t seq = first; seq < first + count; seq++) {
    if (auto r = InsertRow(sql, seq, payload_bytes); !r) return r << " (row " << seq << ")";
  }
  return AssertionSuccess();
}

::testing::AssertionResult SetUpFastDb(Sql& sql) {
  if (!sql.ok()) return AssertionFailure() << sql.error();
  if (auto r = SetUpDb(sql, JournalMode::kWal); !r) return r;
  return sql.Exec("PRAGMA synchronous=NORMAL");
}

::testing::AssertionResult InsertTimed(Sql& sql, int64_t first, int64_t count) {
  const auto start = SteadyClock::now();
  auto r = InsertRows(sql, first, count, 50);
  PrintElapsed(std::to_string(count) + " transactions on the primary", start);
  return r;
}

int64_t PrintElapsed(const std::string& what, std::chrono::steady_clock::time_point start) {
  const int64_t ms = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - start).count();
  std::printf("[ info ] %s: %lld ms\n", what.c_str(), static_cast<long long>(ms));
  std::fflush(stdout);
  return ms;
}

int64_t CountRows(Sql& sql) {
  auto n = sql.QueryInt("SELECT count(*) FROM t");
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? *n : -1;
}

::testing::AssertionResult MakeDatabaseFile(const std::string& path, int64_t rows,
                                            int payload_bytes) {
  Sql sql(path);
  if (!sql.ok()) return AssertionFailure() << sql.error();
  if (auto r = sql.Exec(kCreateTable); !r) return r;
  return sql.Exec(BulkInsert(rows, payload_bytes));
}

::testing::AssertionResult IntegrityOk(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  std::string result;
  if (rc == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
    while (rc == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    if (rc != SQLITE_OK) result = sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
  } else {
    result = "open failed: " + std::string(sqlite3_errstr(rc));
  }
  sqlite3_close_v2(db);
  if (result == "ok") return AssertionSuccess();
  return AssertionFailure() << "integrity_check of " << path << ": " << result;
}

// --- The cluster ---------------------------------------------------------

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)), dir_("walship-cluster") {
  std::filesystem::create_directories(dir_ / "scratch");
  for (int i = 0; i < options_.nodes; i++) {
    WalshipOptions o;
    o.parent_dir = dir_.path();
    o.name = "node" + std::to_string(i + 1);
    o.env = i == 0 ? options_.primary_env : options_.replica_env;
    nodes_.push_back(std::make_unique<WalshipProcess>(std::move(o)));
  }
  // The ports are known only now: every config names the primary's.
  for (size_t i = 0; i < nodes_.size(); i++) nodes_[i]->WriteConfig(ConfigFor(i));
}

std::string Cluster::ConfigFor(size_t i) const {
  const WalshipProcess& n = *nodes_[i];
  std::string yaml =
      "fuse:\n  dir: \"" + n.mount_dir() + "\"\n" + "data:\n  dir: \"" + n.data_dir() + "\"\n";
  if (i == 0) yaml += options_.primary_data_yaml;
  yaml += "http:\n  addr: \"127.0.0.1:" + std::to_string(n.http_port()) + "\"\n";
  if (options_.http_yaml) yaml += options_.http_yaml(i);
  yaml += options_.every_node_yaml;
  if (options_.node_yaml) yaml += options_.node_yaml(i);
  if (!options_.etcd_endpoint.empty()) {
    yaml += "lease:\n  type: etcd\n  hostname: node" + std::to_string(i + 1) + "\n";
    yaml += "  advertise-url: \"" + Url(i) + "\"\n  candidate: true\n";
    yaml += "  reconnect-delay: " + options_.reconnect_delay + "\n";
    yaml += "  etcd:\n    endpoints: [\"" + options_.etcd_endpoint + "\"]\n";
    yaml += "    key: walship/primary\n    ttl: " + options_.etcd_ttl + "\n" + options_.etcd_yaml;
    return yaml;
  }
  yaml += "lease:\n  type: static\n  hostname: node1\n  advertise-url: \"" + Url(0) + "\"\n";
  yaml += std::string("  candidate: ") + (i == 0 ? "true" : "false") + "\n";
  yaml += "  reconnect-delay: " + options_.reconnect_delay + "\n";
  return yaml;
}

std::string Cluster::Url(size_t i) const {
  return options_.scheme + "://127.0.0.1:" + std::to_string(nodes_.at(i)->http_port());
}

::testing::AssertionResult Cluster::StartNode(size_t i) { return node(i).Start(); }

void Cluster::RewriteConfig(size_t i) { nodes_.at(i)->WriteConfig(ConfigFor(i)); }

::testing::AssertionResult Cluster::Start() {
  for (size_t i = 0; i < size(); i++) {
    if (auto r = StartNode(i); !r) return r << " (node" << i + 1 << ")";
  }
  return AssertionSuccess();
}

int Cluster::PrimaryIndex(milliseconds timeout, int exclude) {
  const auto deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    int found = -1, count = 0;
    for (size_t i = 0; i < size(); i++) {
      if (!node(i).running() || int(i) == exclude) continue;
      auto body = HttpGet(Url(i), "/info");
      if (body.ok() && body->find("\"role\":\"primary\"") != std::string::npos) {
        found = int(i);
        count++;
      }
    }
    if (count == 1) return found;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return -1;
}

::testing::AssertionResult Cluster::StopAll() {
  ::testing::AssertionResult result = AssertionSuccess();
  for (size_t i = size(); i-- > 0;) {
    if (!node(i).running()) continue;
    if (auto r = node(i).Stop(); !r && result) result = r << " (node" << i + 1 << ")";
  }
  return result;
}

::testing::AssertionResult MakeLargeDatabase(Cluster& cluster, const std::string& db, int megabytes,
                                             Pos* pos) {
  const auto start = SteadyClock::now();
  Sql sql(cluster.primary().Path(db), 60000);
  if (!sql.ok()) return AssertionFailure() << sql.error();
  if (auto r = SetUpDb(sql, JournalMode::kDelete); !r) return r;
  const int64_t rows = int64_t(megabytes) * (1 << 20) / 4096;
  if (auto r = sql.Exec(BulkInsert(rows, 4000)); !r) return r;
  auto got = ReadPos(cluster.primary().mount_dir(), db);
  if (!got.ok()) return AssertionFailure() << got.status().ToString();
  *pos = *got;
  PrintElapsed("a " + std::to_string(megabytes) + " MB database written on the primary", start);
  return AssertionSuccess();
}

// --- Positions -----------------------------------------------------------

::testing::AssertionResult WaitForPos(const WalshipProcess& node, const std::string& db,
                                      const Pos& want, milliseconds timeout) {
  Result<Pos> last = Status::NotFound("not read yet");
  auto reached = [&] {
    last = ReadPos(node.mount_dir(), db);
    return last.ok() && *last == want;
  };
  if (PollUntil(reached, timeout)) {
    return AssertionSuccess();
  }
  return AssertionFailure() << node.mount_dir() << "/" << db << "-pos is " << Describe(last)
                            << " after " << timeout.count() << " ms, waiting for " << want;
}

::testing::AssertionResult WaitForTxid(const WalshipProcess& node, const std::string& db,
                                       uint64_t txid, milliseconds timeout) {
  Result<Pos> last = Status::NotFound("not read yet");
  auto reached = [&] {
    last = ReadPos(node.mount_dir(), db);
    return last.ok() && last->txid >= txid;
  };
  if (PollUntil(reached, timeout)) {
    return AssertionSuccess();
  }
  return AssertionFailure() << node.mount_dir() << "/" << db << "-pos is " << Describe(last)
                            << " after " << timeout.count() << " ms, waiting for txid " << txid;
}

::testing::AssertionResult WaitForLog(const WalshipProcess& node, const std::string& text,
                                      milliseconds timeout) {
  if (PollUntil([&] { return node.Log().find(text) != std::string::npos; }, timeout,
                milliseconds(50))) {
    return AssertionSuccess();
  }
  return AssertionFailure() << "\"" << text << "\" not in " << node.log_path() << " after "
                            << timeout.count() << " ms:\n" << node.Log();
}

::testing::AssertionResult WaitForLogAfter(const WalshipProcess& node, const std::string& text,
                                           size_t from, milliseconds timeout) {
  auto found = [&] {
    const std::string log = node.Log();
    return log.size() > from && log.find(text, from) != std::string::npos;
  };
  if (PollUntil(found, timeout, milliseconds(50))) return AssertionSuccess();
  return AssertionFailure() << "\"" << text << "\" not in " << node.log_path() << " past byte "
                            << from << " after " << timeout.count() << " ms:\n" << node.Log();
}

::testing::AssertionResult WaitConverged(Cluster& cluster, const std::string& db,
                                         milliseconds timeout, Pos* pos_out) {
  auto want = ReadPos(cluster.primary().mount_dir(), db);
  if (!want.ok()) return AssertionFailure() << "primary: " << want.status().ToString();
  const auto deadline = SteadyClock::now() + timeout;
  for (size_t i = 1; i < cluster.size(); i++) {
    if (!cluster.node(i).running()) continue;
    auto left = std::chrono::duration_cast<milliseconds>(deadline - SteadyClock::now());
    if (auto r = WaitForPos(cluster.node(i), db, *want, std::max(left, milliseconds(0))); !r) {
      return r << " (node" << i + 1 << ")";
    }
  }
  // The primary must not have moved meanwhile, or "converged" means nothing.
  auto again = ReadPos(cluster.primary().mount_dir(), db);
  if (!again.ok() || *again != *want) {
    return AssertionFailure() << "the primary moved from " << *want << " to " << Describe(again)
                              << " while waiting";
  }
  if (pos_out) *pos_out = *want;
  return AssertionSuccess();
}

Result<std::map<uint64_t, uint64_t>> LtxChecksums(const std::string& data_dir,
                                                  const std::string& db) {
  WALSHIP_ASSIGN_OR_RETURN(auto files, ListLtx(data_dir, db));
  std::map<uint64_t, uint64_t> out;
  for (const LtxFile& f : files) {
    WALSHIP_ASSIGN_OR_RETURN(auto file, env::Env::Posix()->Open(f.path, env::OpenMode::kRead));
    ltx::FileReader reader(file.get());
    ltx::Header header;
    ltx::Trailer trailer;
    if (Status st = ltx::Verify(&reader, &header, &trailer); !st.ok()) {
      return st.WithContext(f.path);
    }
    out[header.max_txid] = trailer.post_apply_checksum;
  }
  WALSHIP_ASSIGN_OR_RETURN(const auto entries, ReadLtxLog(LtxLogPath(data_dir, db)));
  for (const std::string& entry : entries) {
    ltx::SpanReader reader(entry);
    ltx::Header header;
    ltx::Trailer trailer;
    WALSHIP_RETURN_IF_ERROR(ltx::Verify(&reader, &header, &trailer).WithContext("LTX log"));
    out[header.max_txid] = trailer.post_apply_checksum;
  }
  return out;
}

::testing::AssertionResult ReplicaConsistent(const WalshipProcess& node, const std::string& db,
                                             const Pos& want) {
  auto pos = ReadPos(node.mount_dir(), db);
  if (!pos.ok() || *pos != want) {
    return AssertionFailure() << node.mount_dir() << ": -pos is " << Describe(pos) << ", expected "
                              << want;
  }
  if (auto r = IntegrityOk(node.Path(db)); !r) return r;
  // The checksum is recomputed from the bytes walship keeps on disk, not
  // read through the mount: they are what the -pos checksum describes.
  const std::string file = node.data_dir() + "/dbs/" + db + "/database";
  auto sum = DatabaseFileChecksum(file);
  if (!sum.ok()) return AssertionFailure() << sum.status().ToString();
  if (sum->checksum != want.checksum) {
    return AssertionFailure() << "checksum of " << file << " (" << sum->page_count << " pages) is "
                              << Pos{want.txid, sum->checksum} << ", -pos says " << want;
  }
  auto files = LtxChecksums(node.data_dir(), db);
  if (!files.ok()) return AssertionFailure() << files.status().ToString();
  if (files->empty() || files->rbegin()->first != want.txid ||
      files->rbegin()->second != want.checksum) {
    return AssertionFailure() << node.data_dir() << ": the newest LTX file of " << db
                              << " does not end at " << want;
  }
  return AssertionSuccess();
}

PosWatcher::PosWatcher(std::string mount_dir, std::string db)
    : mount_dir_(std::move(mount_dir)), db_(std::move(db)) {
  thread_ = std::jthread([this](std::stop_token stop) {
    while (!stop.stop_requested()) {
      auto pos = ReadPos(mount_dir_, db_);
      if (pos.ok()) {
        std::lock_guard lock(mu_);
        if (seen_.empty() || seen_.back() != *pos) seen_.push_back(*pos);
      }
      std::this_thread::sleep_for(milliseconds(1));
    }
  });
}

PosWatcher::~PosWatcher() { Stop(); }

std::vector<Pos> PosWatcher::Stop() {
  if (thread_.joinable()) {
    thread_.request_stop();
    thread_.join();
    // One last look, so a change just before Stop is never missed.
    auto pos = ReadPos(mount_dir_, db_);
    std::lock_guard lock(mu_);
    if (pos.ok() && (seen_.empty() || seen_.back() != *pos)) seen_.push_back(*pos);
  }
  std::lock_guard lock(mu_);
  return seen_;
}

RowCountReader::RowCountReader(const std::string& path, int64_t target, milliseconds timeout)
    : sql_(path, 10000), target_(target), timeout_(timeout) {
  if (!sql_.ok()) {
    open_error_ = sql_.error();
    return;
  }
  auto n = sql_.QueryInt("SELECT count(*) FROM t");
  if (!n.ok()) {
    open_error_ = n.status().ToString();
    return;
  }
  counts_.push_back(*n);
}

RowCountReader::~RowCountReader() { Join(); }

void RowCountReader::Start() {
  if (ok()) thread_ = std::thread([this] { Run(); });
}

void RowCountReader::Join() {
  if (thread_.joinable()) thread_.join();
}

void RowCountReader::Run() {
  const auto deadline = SteadyClock::now() + timeout_;
  while (SteadyClock::now() < deadline) {
    auto n = sql_.QueryInt("SELECT count(*) FROM t");
    if (!n.ok()) {
      error_ = n.status().ToString();
      return;
    }
    if (counts_.back() != *n) counts_.push_back(*n);
    if (*n >= target_) return;
    std::this_thread::sleep_for(milliseconds(2));
  }
}

// --- CLI and node API ----------------------------------------------------

CliResult RunWalship(const std::vector<std::string>& args, milliseconds timeout) {
  return RunWalshipCli(args, {}, timeout);
}

CliResult ExportDb(const std::string& url, const std::string& db, const std::string& file) {
  return RunWalship({"export", "--name", db, "--url", url, file});
}

CliResult ImportDb(const std::string& url, const std::string& db, const std::string& file) {
  return RunWalship({"import", "--name", db, "--url", url, file});
}

Result<std::string> HttpGet(const std::string& url, const std::string& path) {
  http::Client client(url, seconds(10));
  WALSHIP_ASSIGN_OR_RETURN(http::ClientResponse resp, client.Get(path));
  if (resp.status != 200) {
    return Status::IOError("GET " + url + path + ": " + std::to_string(resp.status) + " " +
                           resp.body);
  }
  return resp.body;
}

Result<int64_t> ReadLag(const std::string& mount_dir) {
  WALSHIP_ASSIGN_OR_RETURN(std::string text, env::Env::Posix()->ReadFile(mount_dir + "/.lag"));
  static const std::regex kFormat("^[+-][0-9]{9,10}\n$");
  if (!std::regex_match(text, kFormat)) {
    return Status::Corruption(".lag is \"" + text + "\", not %+010d\\n");
  }
  return int64_t(std::strtoll(text.c_str(), nullptr, 10));
}

std::string LogOfLastStart(const WalshipProcess& node) {
  std::string log = node.Log();
  size_t at = log.rfind("=== test harness: start");
  return at == std::string::npos ? log : log.substr(at);
}

::testing::AssertionResult WaitForLagBelow(const WalshipProcess& node, int64_t ms,
                                           milliseconds timeout) {
  Result<int64_t> last = Status::NotFound("not read yet");
  auto reached = [&] {
    last = ReadLag(node.mount_dir());
    return last.ok() && *last < ms;
  };
  if (PollUntil(reached, timeout)) {
    return AssertionSuccess();
  }
  return AssertionFailure() << node.mount_dir() << "/.lag is "
                            << (last.ok() ? std::to_string(*last) : last.status().ToString())
                            << " after " << timeout.count() << " ms, waiting for < " << ms;
}

std::string ReadBytes(const std::string& path) { return ReadFileOrEmpty(path); }

std::string DescribeDifference(const std::string& a, const std::string& b) {
  if (a == b) return "";
  std::ostringstream out;
  out << a.size() << " vs " << b.size() << " bytes; differing at";
  int shown = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()) && shown < 8; i++) {
    if (a[i] == b[i]) continue;
    out << " [" << i << "] " << int(uint8_t(a[i])) << "/" << int(uint8_t(b[i]));
    shown++;
  }
  return out.str();
}

EventStream::EventStream(const std::string& url) : client_(url, seconds(10)) {}

::testing::AssertionResult EventStream::Open() {
  auto opened = client_.OpenStream("GET", "/events");
  if (!opened.ok()) return ::testing::AssertionFailure() << opened.status().ToString();
  reader_ = std::move(*opened);
  if (reader_->status() != 200) {
    return ::testing::AssertionFailure() << "GET /events: " << reader_->status();
  }
  reader_->SetReadTimeout(seconds(15));
  return ::testing::AssertionSuccess();
}

Result<nlohmann::json> EventStream::Next() {
  WALSHIP_ASSIGN_OR_RETURN(std::string line, reader_->ReadLine());
  auto json = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return Status::Corruption("not a JSON object: " + line);
  return json;
}

}  // namespace walship::testing::cluster
