#include "lag.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "latency.h"
#include "sqlite_conn.h"

namespace walship::bench {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

void SleepSeconds(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }

// What the writer and the reader share. Each element of committed_ns is
// written by the writer only and each of visible_ns by the reader only; both
// are read after the threads are joined.
struct Shared {
  explicit Shared(int64_t n) : total(n), committed_ns(n, 0), visible_ns(n, 0) {}
  const int64_t total;
  std::vector<int64_t> committed_ns;  // when COMMIT of row i+1 returned
  std::vector<int64_t> visible_ns;    // when the reader first saw row i+1
  std::atomic<bool> writer_done{false};
};

// The writer side: a fresh `lag` table on the primary.
std::unique_ptr<Connection> OpenPrimary(const std::string& path, std::string* error) {
  std::unique_ptr<Connection> conn = Connection::Open(path, {"wal", "normal", 5000}, error);
  if (!conn) return nullptr;
  if (!conn->Exec("DROP TABLE IF EXISTS lag", error) ||
      !conn->Exec("CREATE TABLE lag(seq INTEGER PRIMARY KEY, written_ns INTEGER NOT NULL)",
                  error)) {
    return nullptr;
  }
  return conn;
}

// The largest seq the replica shows, or -1 (and *error) when the query fails.
int64_t MaxSeq(Statement* stmt, std::string* error) {
  int64_t value = -1;
  if (stmt->Step() == SQLITE_ROW) {
    value = stmt->ColumnInt64(0);
  } else {
    *error = "poll replica: " + stmt->ErrorMessage();
  }
  stmt->Reset();  // ends the read transaction: a replica applies only between readers
  return value;
}

// Waits until the replica has the database file and an empty `lag` table,
// then returns the open connection and its poll statement.
bool OpenReplica(const LagOptions& o, std::unique_ptr<Connection>* conn,
                 std::unique_ptr<Statement>* poll, std::string* error) {
  Clock::time_point deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                  std::chrono::duration<double>(o.setup_timeout_s));
  for (; Clock::now() < deadline; SleepSeconds(0.01)) {
    struct stat st;
    if (!*conn && ::stat(o.replica.c_str(), &st) == 0) {
      *conn = Connection::OpenReadOnly(o.replica, 5000, error);
    }
    if (!*conn) continue;
    if (!*poll) *poll = (*conn)->Prepare("SELECT coalesce(max(seq), 0) FROM lag", error);
    if (*poll && MaxSeq(poll->get(), error) == 0) return true;
  }
  *error = "the lag table did not reach the replica within the setup timeout (" + *error + ")";
  return false;
}

// Polls the replica until every row is seen, or settle_s after the writer ended.
void ReaderLoop(const LagOptions& o, Statement* poll, Shared* shared, LagResult* errors) {
  int64_t seen_upto = 0;
  int64_t give_up_ns = 0;
  std::string error;
  while (seen_upto < shared->total) {
    int64_t max_seq = MaxSeq(poll, &error);
    int64_t now = NowNs();
    if (max_seq < 0 && errors->errors++ == 0) errors->first_error = error;
    for (int64_t seq = seen_upto + 1; seq <= std::min(max_seq, shared->total); ++seq) {
      shared->visible_ns[seq - 1] = now;
    }
    seen_upto = std::max(seen_upto, max_seq);
    if (shared->writer_done.load(std::memory_order_acquire)) {
      if (give_up_ns == 0) give_up_ns = now + static_cast<int64_t>(o.settle_s * 1e9);
      if (now > give_up_ns) break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(o.poll_us));
  }
}

// Commits rows 1..total at o.rate per second (back to back when behind).
void WriterLoop(const LagOptions& o, Connection* conn, Shared* shared, LatencyRecorder* commit,
                int64_t first_measured, LagResult* result) {
  std::string error;
  std::unique_ptr<Statement> insert =
      conn->Prepare("INSERT INTO lag(seq, written_ns) VALUES(?, ?)", &error);
  Clock::time_point start = Clock::now();
  auto period = std::chrono::duration<double>(1.0 / o.rate);
  int64_t measured_begin = 0;
  for (int64_t i = 0; insert && i < shared->total; ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(period * i));
    int64_t begin = NowNs();
    insert->BindInt64(1, i + 1);
    insert->BindInt64(2, begin);
    bool ok = insert->Step() == SQLITE_DONE;
    if (!ok) error = "insert: " + insert->ErrorMessage();
    insert->Reset();
    int64_t end = NowNs();
    shared->committed_ns[i] = ok ? end : 0;  // a failed row never counts as seen
    if (!ok && result->errors++ == 0) result->first_error = error;
    if (i >= first_measured) commit->Record(end - begin);
    if (i == first_measured) measured_begin = begin;
  }
  if (measured_begin > 0)
    result->write_seconds = static_cast<double>(NowNs() - measured_begin) / 1e9;
  if (!insert && result->errors++ == 0) result->first_error = error;
  shared->writer_done.store(true, std::memory_order_release);
}

void Summarize(const Shared& shared, int64_t first_measured, LatencyRecorder* commit,
               LagResult* result) {
  LatencyRecorder lag;
  for (int64_t i = first_measured; i < shared.total; ++i) {
    result->writes++;
    if (shared.visible_ns[i] == 0 || shared.committed_ns[i] == 0) continue;
    result->seen++;
    // Seen before the writer took its clock reading after COMMIT: no lag.
    lag.Record(std::max<int64_t>(0, shared.visible_ns[i] - shared.committed_ns[i]));
  }
  result->p50_ms = lag.PercentileMicros(0.50) / 1000;
  result->p99_ms = lag.PercentileMicros(0.99) / 1000;
  result->max_ms = lag.MaxMicros() / 1000;
  result->commit_p50_ms = commit->PercentileMicros(0.50) / 1000;
  result->commit_p99_ms = commit->PercentileMicros(0.99) / 1000;
}

}  // namespace

LagResult RunLag(const LagOptions& o) {
  LagResult result;
  std::string error;
  std::unique_ptr<Connection> primary = OpenPrimary(o.primary, &error);
  std::unique_ptr<Connection> replica;
  std::unique_ptr<Statement> poll;
  if (!primary || !OpenReplica(o, &replica, &poll, &error)) {
    result.errors = 1;
    result.first_error = error;
    return result;
  }
  auto first_measured = static_cast<int64_t>(std::llround(o.rate * o.warmup_s));
  Shared shared(first_measured + std::max<int64_t>(1, std::llround(o.rate * o.duration_s)));
  LatencyRecorder commit;
  LagResult reader_errors;
  {
    std::jthread reader(ReaderLoop, std::cref(o), poll.get(), &shared, &reader_errors);
    WriterLoop(o, primary.get(), &shared, &commit, first_measured, &result);
  }  // joins the reader
  if (reader_errors.errors > 0 && result.errors == 0)
    result.first_error = reader_errors.first_error;
  result.errors += reader_errors.errors;
  Summarize(shared, first_measured, &commit, &result);
  return result;
}

std::string LagToJson(const LagOptions& o, const LagResult& r) {
  char buf[512];
  double achieved = r.write_seconds > 0 ? static_cast<double>(r.writes) / r.write_seconds : 0;
  std::snprintf(buf, sizeof(buf),
                "{\"rate\":%.1f,\"achieved_rate\":%.1f,\"writes\":%lld,\"seen\":%lld,"
                "\"poll_us\":%d,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
                "\"commit_p50_ms\":%.3f,\"commit_p99_ms\":%.3f,\"errors\":%lld}",
                o.rate, achieved, static_cast<long long>(r.writes), static_cast<long long>(r.seen),
                o.poll_us, r.p50_ms, r.p99_ms, r.max_ms, r.commit_p50_ms, r.commit_p99_ms,
                static_cast<long long>(r.errors));
  return buf;
}

}  // namespace walship::bench
