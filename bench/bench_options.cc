#include "bench_options.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>
#include <utility>

namespace walship::bench {
namespace {

template <typename T>
bool ParseNumber(const std::string& text, T* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

bool ParseWorkloads(const std::string& text, std::vector<std::string>* out) {
  out->clear();
  if (text == "all") {
    *out = kAllWorkloads;
    return true;
  }
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (std::find(kAllWorkloads.begin(), kAllWorkloads.end(), item) == kAllWorkloads.end()) {
      return false;
    }
    out->push_back(item);
  }
  return !out->empty();
}

enum class Apply { kOk, kBadValue, kUnknown };

bool NonEmpty(const std::string& v, std::string* out) {
  *out = v;
  return !v.empty();
}

template <typename T>
bool AtLeast(const std::string& v, T min, T* out) {
  return ParseNumber(v, out) && *out >= min;
}

// Sets the option KEY, which takes a value, from V.
Apply ApplyValue(const std::string& key, const std::string& v, Options* o) {
  bool ok;
  // clang-format off
  if (key == "dir")                  ok = NonEmpty(v, &o->dir);
  else if (key == "workload")        ok = ParseWorkloads(v, &o->workloads);
  else if (key == "duration")        ok = AtLeast(v, 0.001, &o->duration_s);
  else if (key == "warmup")          ok = AtLeast(v, 0.0, &o->warmup_s);
  else if (key == "ops")             ok = AtLeast<int64_t>(v, 0, &o->max_ops);
  else if (key == "rows")            ok = AtLeast<int64_t>(v, 1, &o->rows);
  else if (key == "journal-mode")    ok = NonEmpty(v, &o->journal_mode);
  else if (key == "synchronous")     ok = NonEmpty(v, &o->synchronous);
  else if (key == "threads")         ok = AtLeast(v, 1, &o->threads);
  else if (key == "value-size")      ok = AtLeast(v, 1, &o->value_size);
  else if (key == "seed")            ok = ParseNumber(v, &o->seed);
  else if (key == "busy-timeout-ms") ok = AtLeast(v, 0, &o->busy_timeout_ms);
  else if (key == "name")            ok = NonEmpty(v, &o->name_prefix);
  else return Apply::kUnknown;
  // clang-format on
  return ok ? Apply::kOk : Apply::kBadValue;
}

// Splits "--key=value" or "--key" into key and (maybe) value.
void SplitArg(const std::string& arg, std::string* key, std::string* value, bool* has_value) {
  size_t eq = arg.find('=');
  *has_value = eq != std::string::npos;
  *key = arg.substr(2, *has_value ? eq - 2 : std::string::npos);
  if (*has_value) *value = arg.substr(eq + 1);
}

bool Fail(std::string* error, std::string message) {
  *error = std::move(message);
  return false;
}

}  // namespace

std::string Usage() {
  return "usage: walship-bench --dir DIR [options]\n"
         "  --workload W        read|insert|mixed|concurrent, comma list, or all (default all)\n"
         "  --duration S        measured seconds per workload (default 10)\n"
         "  --warmup S          unmeasured seconds before measuring (default 1)\n"
         "  --ops N             stop after N measured operations in all (default 0: no limit)\n"
         "  --rows N            prefilled rows for read and mixed (default 100000)\n"
         "  --journal-mode M    PRAGMA journal_mode (default wal)\n"
         "  --synchronous M     PRAGMA synchronous (default normal)\n"
         "  --threads N         writer threads for concurrent (default 10)\n"
         "  --value-size B      bytes per row (default 100)\n"
         "  --seed N            base random seed (default 20240601)\n"
         "  --busy-timeout-ms N PRAGMA busy_timeout (default 5000)\n"
         "  --name P            database files are DIR/P_<workload>.db (default bench)\n"
         "  --keep              keep the database files afterwards\n"
         "  --read-only         read workload on an existing database (a replica's),\n"
         "                      opened read-only; nothing is set up or removed\n"
         "Prints one JSON line per workload: "
         "{workload, ops, seconds, ops_per_sec, p50_us, p99_us, max_us, errors}.\n";
}

bool ParseOptions(int argc, char** argv, Options* out, std::string* error) {
  out->workloads = kAllWorkloads;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], key, value;
    bool has_value = false;
    if (arg.rfind("--", 0) != 0) return Fail(error, "unexpected argument " + arg);
    SplitArg(arg, &key, &value, &has_value);
    if (key == "help") {
      std::fputs(Usage().c_str(), stdout);
      return Fail(error, "");
    }
    if (key == "keep") {
      out->keep = true;
      continue;
    }
    if (key == "read-only") {
      out->read_only = true;
      continue;
    }
    if (!has_value) {
      Options scratch;  // only to tell an unknown option from a missing value
      if (ApplyValue(key, "", &scratch) == Apply::kUnknown) {
        return Fail(error, "unknown option --" + key);
      }
      if (i + 1 >= argc) return Fail(error, "--" + key + " needs a value");
      value = argv[++i];
    }
    switch (ApplyValue(key, value, out)) {
      case Apply::kOk:
        break;
      case Apply::kBadValue:
        return Fail(error, "bad value for --" + key + ": " + value);
      case Apply::kUnknown:
        return Fail(error, "unknown option --" + key);
    }
  }
  if (out->dir.empty()) return Fail(error, "--dir is required");
  if (out->read_only && out->workloads != std::vector<std::string>{"read"}) {
    return Fail(error, "--read-only runs the read workload only (--workload read)");
  }
  return true;
}

}  // namespace walship::bench
