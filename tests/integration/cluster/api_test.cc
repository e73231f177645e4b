// The node API and its CLI verbs across a cluster (DESIGN.md §1.2, §1.6):
// status of a replica, import to the primary (one TXID everywhere; bad
// uploads change nothing anywhere), and export under a write load.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <thread>

#include "cluster/cluster_util.h"
#include "http/client.h"

namespace walship::testing::cluster {
namespace {

using namespace std::string_literals;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(cluster_.Start());
    Sql sql(cluster_.primary().Path(kDb));
    ASSERT_TRUE(sql.ok()) << sql.error();
    ASSERT_TRUE(SetUpDb(sql, JournalMode::kWal));
    ASSERT_TRUE(InsertRows(sql, 0, 10));
    ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &pos_));
  }
  void TearDown() override { EXPECT_TRUE(cluster_.StopAll()); }

  // Every node is at `want` (waiting for replicas to get there).
  void ExpectEveryNodeAt(const std::string& db, const Pos& want) {
    for (size_t i = 0; i < cluster_.size(); i++) {
      EXPECT_TRUE(WaitForPos(cluster_.node(i), db, want, seconds(30))) << "node" << i + 1;
    }
  }

  Cluster cluster_;
  Pos pos_;
};

TEST_F(ApiTest, StatusShowsTheWholeClusterFromAnyNode) {
  CliResult r = RunWalship({"status", "--url", cluster_.Url(1)});
  ASSERT_TRUE(r.ok()) << r.output;
  // One line per node for app.db, with the role and its TXID as columns.
  int primaries = 0, replicas = 0;
  std::istringstream lines(r.output);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::vector<std::string> cols;
    for (std::string w; words >> w;) cols.push_back(w);
    if (std::find(cols.begin(), cols.end(), kDb) == cols.end()) continue;
    EXPECT_NE(std::find(cols.begin(), cols.end(), std::to_string(pos_.txid)), cols.end()) << line;
    if (std::find(cols.begin(), cols.end(), "primary") != cols.end()) {
      primaries++;
      EXPECT_EQ(cols.front(), "node1") << line;
    }
    if (std::find(cols.begin(), cols.end(), "replica") != cols.end()) replicas++;
  }
  EXPECT_EQ(primaries, 1) << r.output;
  EXPECT_EQ(replicas, 2) << r.output;

  r = RunWalship({"status", "--url", cluster_.Url(1), "--json"});
  ASSERT_TRUE(r.ok()) << r.output;
  auto status = nlohmann::json::parse(r.output, nullptr, false);
  ASSERT_TRUE(status.is_object() && status.contains("nodes")) << r.output;
  ASSERT_EQ(status["nodes"].size(), 3u) << r.output;
  EXPECT_EQ(status["nodes"][0].value("role", ""), "primary");
  for (const auto& info : status["nodes"]) {
    ASSERT_EQ(info["databases"].size(), 1u) << r.output;
    EXPECT_EQ(info["databases"][0].value("name", ""), kDb);
    EXPECT_EQ(info["databases"][0].value("txid", uint64_t(0)), pos_.txid);
  }

  // A node that is not there is an error, not an empty table.
  r = RunWalship({"status", "--url", "http://127.0.0.1:1"});
  EXPECT_FALSE(r.ok()) << r.output;

  // A stopped replica is gone from the table, or (until the primary notices
  // its stream closed) marked unreachable.
  ASSERT_TRUE(cluster_.node(2).Stop());
  r = RunWalship({"status", "--url", cluster_.Url(0)});
  ASSERT_TRUE(r.ok()) << r.output;
  std::istringstream after(r.output);
  for (std::string line; std::getline(after, line);) {
    if (line.find(cluster_.Url(2)) != std::string::npos) {
      EXPECT_NE(line.find("unreachable"), std::string::npos) << r.output;
    }
  }
}

TEST_F(ApiTest, ImportIsOneTransactionOnEveryNode) {
  const std::string file = cluster_.Scratch("upload.db");
  ASSERT_TRUE(MakeDatabaseFile(file, 300, 500));

  CliResult r = ImportDb(cluster_.Url(0), kDb, file);
  ASSERT_TRUE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("txid " + std::to_string(pos_.txid + 1)), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("MB/s"), std::string::npos) << "progress shown, not on a terminal";
  Pos pos;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &pos));
  EXPECT_EQ(pos.txid, pos_.txid + 1);
  for (size_t i = 1; i < cluster_.size(); i++) {
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), kDb, pos));
    Sql reader(cluster_.node(i).Path(kDb));
    EXPECT_EQ(CountRows(reader), 300);
  }

  // A new name becomes a new database, TXID 1 everywhere.
  r = ImportDb(cluster_.Url(0), "imported.db", file);
  ASSERT_TRUE(r.ok()) << r.output;
  Pos fresh;
  ASSERT_TRUE(WaitConverged(cluster_, "imported.db", seconds(30), &fresh));
  EXPECT_EQ(fresh.txid, 1u);
  for (size_t i = 1; i < cluster_.size(); i++) {
    EXPECT_TRUE(ReplicaConsistent(cluster_.node(i), "imported.db", fresh));
  }

  // Replicas refuse imports.
  r = ImportDb(cluster_.Url(1), kDb, file);
  EXPECT_FALSE(r.ok()) << r.output;
  EXPECT_NE(r.output.find("replica"), std::string::npos) << r.output;
  ExpectEveryNodeAt(kDb, pos);
}

// On a terminal, import and export show bytes, total and rate as they go.
TEST_F(ApiTest, ImportAndExportShowProgressOnATerminal) {
  const std::string file = cluster_.Scratch("big.db");
  ASSERT_TRUE(MakeDatabaseFile(file, 4000, 2000));
  const std::string url = cluster_.Url(0);
  std::string out =
      RunWalshipCliOnTerminal({"import", "--name", "big.db", "--url", url, file}).output;
  EXPECT_NE(out.find("import big.db: "), std::string::npos) << out;
  EXPECT_NE(out.find("MB (100%)"), std::string::npos) << out;
  EXPECT_NE(out.find("MB/s"), std::string::npos) << out;
  EXPECT_NE(out.find("imported big.db as txid 1"), std::string::npos) << out;
  const std::string copy = cluster_.Scratch("copy.db");
  out = RunWalshipCliOnTerminal({"export", "--name", "big.db", "--url", url, copy}).output;
  EXPECT_NE(out.find("export big.db: "), std::string::npos) << out;
  EXPECT_NE(out.find("MB/s"), std::string::npos) << out;
  EXPECT_NE(out.find("exported big.db to " + copy), std::string::npos) << out;
}

// An answer's status, and that its body is the one-line JSON error the
// API documents (docs/api.md: `{"error":"..."}`).
struct Answer {
  int status = 0;
  std::string error;
};
Answer Ask(const std::string& url, const std::string& method, const std::string& path,
           std::string body = "") {
  http::Client client(url, seconds(10));
  auto resp =
      method == "GET" ? client.Get(path) : client.Post(path, std::move(body), http::kOctetStream);
  if (!resp.ok()) return {0, resp.status().ToString()};
  auto json = nlohmann::json::parse(resp->body, nullptr, false);
  const bool one_line =
      resp->body.find('\n') == std::string::npos || resp->body.find('\n') == resp->body.size() - 1;
  if (resp->status >= 400 && (!json.is_object() || !json.contains("error") || !one_line)) {
    return {resp->status, "not a one-line JSON error: " + resp->body};
  }
  return {resp->status, resp->status >= 400 ? json["error"].get<std::string>() : resp->body};
}

// The nodeID in /info of the node at `url`, or "" with a test failure.
std::string NodeIdOf(const std::string& url) {
  auto info = HttpGet(url, "/info");
  EXPECT_TRUE(info.ok()) << info.status().ToString();
  if (!info.ok()) return "";
  return nlohmann::json::parse(*info, nullptr, false).value("nodeID", "");
}

// docs/protocol.md's POST /stream body for a replica at no position.
std::string StreamBody(const std::string& node_id, bool candidate, const std::string& url) {
  return nlohmann::json{{"nodeID", node_id},
                        {"hostname", "prober"},
                        {"advertiseURL", url},
                        {"candidate", candidate},
                        {"positions", nlohmann::json::object()}}
      .dump();
}

// Each refusal docs/api.md documents, as the node API answers it on a
// static-lease cluster; none of them changes anything.
TEST_F(ApiTest, DocumentedRefusalsHaveTheirStatus) {
  const std::string primary = cluster_.Url(0), replica = cluster_.Url(1);
  {
    http::Client client(primary, seconds(10));
    auto copy = client.Get("/export?name=app.db");
    ASSERT_TRUE(copy.ok()) << copy.status().ToString();
    EXPECT_EQ(copy->status, 200);
    EXPECT_EQ(copy->headers["content-type"], "application/octet-stream");
    EXPECT_EQ(copy->body.rfind("SQLite format 3", 0), 0u);
  }
  Answer a = Ask(primary, "GET", "/export?name=missing.db");
  EXPECT_EQ(a.status, 404) << a.error;
  EXPECT_NE(a.error.find("missing.db"), std::string::npos) << a.error;

  for (const std::string& path : {"/wait?db=app.db"s, "/wait?txid=1"s, "/wait?db=app.db&txid=abc"s,
                                  "/wait?db=app.db&txid=1&timeout=soon"s}) {
    a = Ask(replica, "GET", path);
    EXPECT_EQ(a.status, 400) << path << ": " << a.error;
  }
  // Not there within the timeout: 504, saying where the node is.
  const std::string ahead = std::to_string(pos_.txid + 100);
  a = Ask(replica, "GET", "/wait?db=app.db&txid=" + ahead + "&timeout=50");
  EXPECT_EQ(a.status, 504) << a.error;
  EXPECT_NE(a.error.find(std::to_string(pos_.txid)), std::string::npos) << a.error;
  a = Ask(replica, "GET", "/wait?db=app.db&txid=" + std::to_string(pos_.txid));
  EXPECT_EQ(a.status, 200) << a.error;

  a = Ask(primary, "POST", "/handoff");
  EXPECT_EQ(a.status, 400) << a.error;
  a = Ask(primary, "POST", "/handoff?nodeID=0123456789abcdef");
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("is not a replica connected to this primary"), std::string::npos)
      << a.error;
  // A real, connected replica: under the static lease it is no candidate.
  const std::string replica_id = NodeIdOf(replica);
  ASSERT_EQ(replica_id.size(), 16u);
  a = Ask(primary, "POST", "/handoff?nodeID=" + replica_id);
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("is not a candidate"), std::string::npos) << a.error;
  a = Ask(replica, "POST", "/handoff?nodeID=" + replica_id);
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("handoff: this node is not the primary; ask the primary (node1)"),
            std::string::npos)
      << a.error;
  a = Ask(replica, "POST", "/promote");
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("the static lease is fixed"), std::string::npos) << a.error;

  const std::string file = cluster_.Scratch("upload.db");
  ASSERT_TRUE(MakeDatabaseFile(file, 10, 100));
  a = Ask(replica, "POST", "/import?name=app.db", ReadBytes(file));
  EXPECT_EQ(a.status, 409) << a.error;
  a = Ask(primary, "POST", "/import?name=app.db", "not a database at all");
  EXPECT_EQ(a.status, 400) << a.error;
  ExpectEveryNodeAt(kDb, pos_);
}

// docs/protocol.md: any node answers a malformed /stream body with 400, a
// replica answers a well-formed one with 409; both one-line JSON errors.
TEST_F(ApiTest, StreamRefusesAMalformedBodyAndAReplicaRefusesEveryStream) {
  const std::string primary = cluster_.Url(0), replica = cluster_.Url(1);
  for (const std::string& body :
       {"not json"s, "[1,2]"s, R"({"positions":[]})"s,
        R"({"positions":{"app.db":{"txid":"x","checksum":"e03abc134d5b8993"}}})"s}) {
    Answer a = Ask(primary, "POST", "/stream", body);
    EXPECT_EQ(a.status, 400) << body << ": " << a.error;
    EXPECT_NE(a.error.find("stream request"), std::string::npos) << body << ": " << a.error;
  }
  Answer a = Ask(replica, "POST", "/stream", "not json");
  EXPECT_EQ(a.status, 400) << a.error;
  EXPECT_NE(a.error.find("stream request"), std::string::npos) << a.error;
  a = Ask(replica, "POST", "/stream", StreamBody("00000000c0ffee00", true, ""));
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("stream: this node is not the primary"), std::string::npos) << a.error;
  ExpectEveryNodeAt(kDb, pos_);
}

// The static leaser itself refuses a handoff: only a stream that says it is
// a candidate (which no replica of a static lease does) gets that far.
TEST_F(ApiTest, StaticLeaseRefusesAHandoffToAConnectedCandidate) {
  const std::string primary = cluster_.Url(0);
  const std::string node_id = "00000000c0ffee01";
  http::Client client(primary, seconds(5));
  auto stream =
      client.OpenStream("POST", "/stream", StreamBody(node_id, true, cluster_.Url(1)), http::kJson);
  ASSERT_TRUE(stream.ok()) << stream.status().ToString();
  ASSERT_EQ((*stream)->status(), 200);
  // The streamer lists the replica a moment after the stream opens.
  Answer a;
  const auto deadline = std::chrono::steady_clock::now() + seconds(10);
  do {
    a = Ask(primary, "POST", "/handoff?nodeID=" + node_id);
    if (a.error.find("not a replica connected") == std::string::npos) break;
    std::this_thread::sleep_for(milliseconds(50));
  } while (std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(a.status, 409) << a.error;
  EXPECT_NE(a.error.find("the static lease cannot move"), std::string::npos) << a.error;
  (*stream)->Close();
  auto info = HttpGet(primary, "/info");
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(nlohmann::json::parse(*info, nullptr, false).value("role", ""), "primary") << *info;
  ExpectEveryNodeAt(kDb, pos_);
}

// docs/api.md: /wait with txid=primary answers 503 when the primary cannot
// be reached; a wait for a number still works on the replica alone.
TEST_F(ApiTest, WaitForThePrimaryIs503WhenThePrimaryIsDown) {
  const std::string replica = cluster_.Url(1);
  Answer a = Ask(replica, "GET", "/wait?db=app.db&txid=primary");
  ASSERT_EQ(a.status, 200) << a.error;
  ASSERT_TRUE(cluster_.primary().Stop());
  a = Ask(replica, "GET", "/wait?db=app.db&txid=primary");
  EXPECT_EQ(a.status, 503) << a.error;
  EXPECT_NE(a.error.find("wait: cannot reach the node at " + cluster_.Url(0)), std::string::npos)
      << a.error;
  a = Ask(replica, "GET", "/wait?db=app.db&txid=" + std::to_string(pos_.txid));
  EXPECT_EQ(a.status, 200) << a.error;
}

// Writes `bytes` to `path`.
void WriteBytes(const std::string& path, const std::string& bytes) {
  ASSERT_TRUE(WriteFile(path, bytes)) << path;
}

TEST_F(ApiTest, BadImportsFailClearlyAndChangeNothing) {
  const std::string good = cluster_.Scratch("good.db");
  ASSERT_TRUE(MakeDatabaseFile(good, 100, 1000));
  const std::string good_bytes = ReadBytes(good);
  const size_t page = 4096;
  ASSERT_EQ(good_bytes.size() % page, 0u);
  ASSERT_GT(good_bytes.size(), 10 * page);

  struct Case {
    std::string name;
    std::string bytes;
    std::string message;  // the CLI's error must contain this
  };
  std::vector<Case> cases;
  cases.push_back({"text", std::string(8192, 'x'), "not a SQLite database"});
  cases.push_back({"short", "SQLite format 3", "not a SQLite database"});
  cases.push_back({"torn-page", good_bytes.substr(0, good_bytes.size() - 1000), "truncated"});
  cases.push_back(
      {"missing-pages", good_bytes.substr(0, good_bytes.size() - 3 * page), "truncated"});
  std::string garbage = good_bytes;
  std::mt19937 rng(42);
  for (size_t i = page; i < garbage.size(); i++) garbage[i] = char(rng());
  cases.push_back({"garbage-pages", garbage, "corrupt"});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string file = cluster_.Scratch(c.name + ".db");
    WriteBytes(file, c.bytes);
    for (const std::string& db : {std::string(kDb), std::string("new.db")}) {
      CliResult r = ImportDb(cluster_.Url(0), db, file);
      EXPECT_FALSE(r.ok()) << "import of " << c.name << " as " << db << " succeeded";
      EXPECT_NE(r.output.find(c.message), std::string::npos) << r.output;
    }
  }
  // Nothing changed: the next write is the very next TXID on every node, and
  // no database "new.db" appeared anywhere.
  for (size_t i = 0; i < cluster_.size(); i++) {
    WALSHIP_ASSERT_OK_AND_ASSIGN(Pos p, ReadPos(cluster_.node(i).mount_dir(), kDb));
    EXPECT_EQ(p, pos_) << "node" << i + 1;
  }
  Sql sql(cluster_.primary().Path(kDb));
  ASSERT_TRUE(InsertRow(sql, 10));
  Pos after;
  ASSERT_TRUE(WaitConverged(cluster_, kDb, seconds(30), &after));
  EXPECT_EQ(after.txid, pos_.txid + 1);
  for (size_t i = 0; i < cluster_.size(); i++) {
    EXPECT_NE(::access(cluster_.node(i).Path("new.db").c_str(), F_OK), 0) << "node" << i + 1;
    auto info = HttpGet(cluster_.Url(i), "/info");
    ASSERT_TRUE(info.ok()) << info.status().ToString();
    EXPECT_EQ(info->find("new.db"), std::string::npos) << *info;
  }
  EXPECT_TRUE(ListLtx(cluster_.primary().data_dir(), "new.db").status().IsNotFound());
  EXPECT_EQ(CountRows(sql), 11);
}

TEST_F(ApiTest, ExportUnderWriteLoadIsConsistent) {
  const std::string path = cluster_.primary().Path(kDb);
  const std::string stop = cluster_.Scratch("stop-writer");
  // Rows are inserted in seq order, one per transaction, so a consistent copy
  // holds exactly seq 0..count-1.
  Child writer = Child::Fork([path, stop] {
    Sql sql(path);
    if (!sql.ok()) return 2;
    for (int64_t seq = 10; ::access(stop.c_str(), F_OK) != 0; seq++) {
      if (!InsertRow(sql, seq, 2000)) return 1;
    }
    return 0;
  });
  int64_t last[3] = {0, 0, 0};
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < 2; i++) {
      SCOPED_TRACE("round " + std::to_string(round) + ", node" + std::to_string(i + 1));
      const std::string file = cluster_.Scratch("export.db");
      CliResult r = ExportDb(cluster_.Url(i), kDb, file);
      ASSERT_TRUE(r.ok()) << r.output;
      EXPECT_TRUE(IntegrityOk(file));
      Sql copy(file);
      WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t count, copy.QueryInt("SELECT count(*) FROM t"));
      WALSHIP_ASSERT_OK_AND_ASSIGN(int64_t max_seq, copy.QueryInt("SELECT max(seq) FROM t"));
      EXPECT_EQ(count, max_seq + 1) << "the export is not one consistent snapshot";
      EXPECT_GE(count, last[i]);
      last[i] = count;
    }
  }
  ASSERT_TRUE(WriteFile(stop, ""));
  auto status = writer.Wait(seconds(30));
  ASSERT_TRUE(status);
  EXPECT_TRUE(ExitedWith(*status, 0)) << DescribeWaitStatus(*status);
  EXPECT_GT(last[0], 10) << "the writer made no progress during the exports";
  ASSERT_TRUE(WaitConverged(cluster_, kDb));
}

}  // namespace
}  // namespace walship::testing::cluster
