#include "workloads.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "latency.h"
#include "worker.h"

namespace walship::bench {
namespace {

using Clock = std::chrono::steady_clock;

// What one workload asks of its threads.
struct Plan {
  int threads = 1;
  int read_percent = 0;  // the rest are insert transactions
  bool prefill = false;
};

Plan PlanFor(const Options& options, const std::string& workload) {
  if (workload == "read") return {1, 100, true};
  if (workload == "mixed") return {1, 70, true};
  if (workload == "concurrent") return {options.threads, 0, false};
  return {1, 0, false};  // insert
}

// Everything one thread measured; merged by RunWorkload after join.
struct ThreadStats {
  LatencyRecorder latency;
  int64_t ops = 0;
  int64_t errors = 0;
  Clock::time_point last_end;
  std::string first_error;
};

ConnectionOptions ConnOptionsFrom(const Options& options) {
  return {options.journal_mode, options.synchronous, options.busy_timeout_ms, options.read_only};
}

// Fresh files, the table, and the prefill when the plan asks for one.
bool Setup(const Options& options, const std::string& path, const Plan& plan, std::string* error) {
  if (!RemoveDatabaseFiles(path, error)) return false;
  std::unique_ptr<Connection> conn = Connection::Open(path, ConnOptionsFrom(options), error);
  if (!conn) return false;
  // A database that could not be removed (walship refuses to delete one) starts over here.
  if (!conn->Exec("DROP TABLE IF EXISTS kv", error) || !conn->Exec(kCreateTableSql, error)) {
    return false;
  }
  return !plan.prefill ||
         Prefill(conn.get(), options.rows, options.value_size, options.seed, error);
}

// The measured period: operations that start inside [measure_from, until) count.
struct Window {
  Clock::time_point measure_from;
  Clock::time_point until;
};

// What every thread of one workload shares while it runs.
struct LoopSpec {
  int read_percent = 0;
  Window window;
  std::atomic<int64_t>* budget = nullptr;  // measured operations left; null: no limit
};

// Takes one measured operation from the budget; false when it is spent.
bool TakeBudget(std::atomic<int64_t>* budget) {
  return budget == nullptr || budget->fetch_sub(1, std::memory_order_relaxed) > 0;
}

// Runs operations until the window closes or the budget is spent; operations
// that start inside the window count.
void RunLoop(Worker* worker, const LoopSpec* spec, ThreadStats* stats) {
  std::string error;
  stats->last_end = spec->window.measure_from;
  for (Clock::time_point start = Clock::now(); start < spec->window.until; start = Clock::now()) {
    bool measured = start >= spec->window.measure_from;
    if (measured && !TakeBudget(spec->budget)) break;
    bool ok =
        worker->Chance(spec->read_percent) ? worker->ReadOne(&error) : worker->InsertOne(&error);
    Clock::time_point end = Clock::now();
    if (!ok) {
      if (stats->errors++ == 0) stats->first_error = error;
      continue;
    }
    if (!measured) continue;
    stats->latency.Record(
        std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count());
    stats->ops++;
    stats->last_end = end;
  }
}

Window WindowFrom(const Options& options) {
  auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Clock::time_point measure_from = Clock::now() + seconds(options.warmup_s);
  return {measure_from, measure_from + seconds(options.duration_s)};
}

// Opens one worker per thread, then runs them all over the same window.
std::vector<ThreadStats> RunThreads(const Options& options, const std::string& path,
                                    const Plan& plan, Window* window, std::string* error) {
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < plan.threads; ++i) {
    auto worker = std::make_unique<Worker>(options.seed + 1 + static_cast<uint64_t>(i),
                                           options.rows, options.value_size);
    if (!worker->Open(path, ConnOptionsFrom(options), error)) return {};
    workers.push_back(std::move(worker));
  }
  std::vector<ThreadStats> stats(workers.size());
  std::atomic<int64_t> budget(options.max_ops);
  LoopSpec spec{plan.read_percent, WindowFrom(options), options.max_ops > 0 ? &budget : nullptr};
  *window = spec.window;
  {
    std::vector<std::jthread> threads;
    for (size_t i = 0; i < workers.size(); ++i) {
      threads.emplace_back(RunLoop, workers[i].get(), &spec, &stats[i]);
    }
  }  // joins
  return stats;
}

void Summarize(const std::vector<ThreadStats>& stats, const Window& window, int64_t max_ops,
               WorkloadResult* result) {
  LatencyRecorder all;
  Clock::time_point last_end = window.measure_from;
  for (const ThreadStats& s : stats) {
    all.Merge(s.latency);
    result->ops += s.ops;
    result->errors += s.errors;
    if (result->first_error.empty()) result->first_error = s.first_error;
    last_end = std::max(last_end, s.last_end);
  }
  // The window closes at `until` (or earlier if the budget ran out) and stays
  // open until the last operation that started inside it ends.
  bool budget_spent = max_ops > 0 && result->ops >= max_ops;
  Clock::time_point closed = budget_spent ? last_end : std::max(window.until, last_end);
  result->seconds = std::chrono::duration<double>(closed - window.measure_from).count();
  result->p50_us = all.PercentileMicros(0.50);
  result->p99_us = all.PercentileMicros(0.99);
  result->max_us = all.MaxMicros();
}

}  // namespace

WorkloadResult RunWorkload(const Options& options, const std::string& workload) {
  WorkloadResult result;
  result.workload = workload;
  std::string path = options.dir + "/" + options.name_prefix + "_" + workload + ".db";
  Plan plan = PlanFor(options, workload);
  std::string error;
  std::vector<ThreadStats> stats;
  Window window;
  if (options.read_only || Setup(options, path, plan, &error)) {
    stats = RunThreads(options, path, plan, &window, &error);
  }
  if (stats.empty()) {
    result.errors = 1;
    result.first_error = error;
  } else {
    Summarize(stats, window, options.max_ops, &result);
  }
  if (!options.keep && !options.read_only && !RemoveDatabaseFiles(path, &error)) {
    std::fprintf(stderr, "walship-bench: cleanup: %s\n", error.c_str());
  }
  return result;
}

std::string ToJson(const WorkloadResult& r) {
  char buf[256];
  double rate = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
  std::snprintf(buf, sizeof(buf),
                "{\"workload\":\"%s\",\"ops\":%lld,\"seconds\":%.3f,\"ops_per_sec\":%.1f,"
                "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"errors\":%lld}",
                r.workload.c_str(), static_cast<long long>(r.ops), r.seconds, rate, r.p50_us,
                r.p99_us, r.max_us, static_cast<long long>(r.errors));
  return buf;
}

}  // namespace walship::bench
