// walship-lag: commit-on-primary to visible-on-replica latency at a fixed
// write rate (see lag.h). One JSON line on stdout.
// Exit status: 0 if every row was seen without errors, 1 otherwise, 2 on bad usage.
#include <charconv>
#include <cstdio>
#include <string>
#include <utility>

#include "lag.h"

namespace walship::bench {
namespace {

bool ParseDouble(const std::string& text, double min, double* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out >= min;
}

bool ParseInt(const std::string& text, int min, int* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end && *out >= min;
}

// Sets option KEY from V; false on an unknown key or a bad value.
bool Apply(const std::string& key, const std::string& v, LagOptions* o) {
  // clang-format off
  if (key == "primary")        { o->primary = v; return !v.empty(); }
  if (key == "replica")        { o->replica = v; return !v.empty(); }
  if (key == "rate")           return ParseDouble(v, 0.1, &o->rate);
  if (key == "duration")       return ParseDouble(v, 0.01, &o->duration_s);
  if (key == "warmup")         return ParseDouble(v, 0, &o->warmup_s);
  if (key == "poll-us")        return ParseInt(v, 0, &o->poll_us);
  if (key == "settle")         return ParseDouble(v, 0, &o->settle_s);
  if (key == "setup-timeout")  return ParseDouble(v, 0.1, &o->setup_timeout_s);
  // clang-format on
  return false;
}

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

}  // namespace

std::string LagUsage() {
  return "usage: walship-lag --primary DB --replica DB [options]\n"
         "  --primary DB        database on the primary's mount (its lag table is recreated)\n"
         "  --replica DB        the same database on a replica's mount\n"
         "  --rate N            transactions per second on the primary (default 200)\n"
         "  --duration S        measured seconds of writing (default 5)\n"
         "  --warmup S          unmeasured seconds of writing before it (default 0.5)\n"
         "  --poll-us N         pause between two polls of the replica (default 100)\n"
         "  --settle S          wait for the last rows after writing (default 10)\n"
         "  --setup-timeout S   wait for the table to reach the replica (default 20)\n"
         "Prints {rate, achieved_rate, writes, seen, poll_us, p50_ms, p99_ms, max_ms,\n"
         "commit_p50_ms, commit_p99_ms, errors}: lag is COMMIT returned on the primary\n"
         "to the first replica poll that saw the row.\n";
}

bool ParseLagOptions(int argc, char** argv, LagOptions* out, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help") {
      std::fputs(LagUsage().c_str(), stdout);
      error->clear();
      return false;
    }
    if (arg.rfind("--", 0) != 0) return Fail(error, "unexpected argument " + arg);
    size_t eq = arg.find('=');
    std::string key = arg.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    std::string value;
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return Fail(error, "--" + key + " needs a value");
    }
    if (!Apply(key, value, out)) return Fail(error, "bad or unknown option --" + key);
  }
  if (out->primary.empty() || out->replica.empty()) {
    return Fail(error, "--primary and --replica are required");
  }
  return true;
}

}  // namespace walship::bench

int main(int argc, char** argv) {
  using namespace walship::bench;
  LagOptions options;
  std::string error;
  if (!ParseLagOptions(argc, argv, &options, &error)) {
    if (error.empty()) return 0;  // --help
    std::fprintf(stderr, "walship-lag: %s\n%s", error.c_str(), LagUsage().c_str());
    return 2;
  }
  LagResult result = RunLag(options);
  std::printf("%s\n", LagToJson(options, result).c_str());
  if (result.errors > 0) {
    std::fprintf(stderr, "walship-lag: %lld errors, first: %s\n",
                 static_cast<long long>(result.errors), result.first_error.c_str());
  }
  return result.errors == 0 && result.seen == result.writes ? 0 : 1;
}
