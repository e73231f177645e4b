// walship-bench: the LiteFS-comparison workloads against any directory
// (a native one, or a walship mount), one JSON line per workload on stdout.
// Exit status: 0 if every workload ran without errors, 1 otherwise, 2 on bad usage.
#include <cstdio>
#include <string>

#include "bench_options.h"
#include "workloads.h"

int main(int argc, char** argv) {
  using namespace walship::bench;
  Options options;
  std::string error;
  if (!ParseOptions(argc, argv, &options, &error)) {
    if (error.empty()) return 0;  // --help
    std::fprintf(stderr, "walship-bench: %s\n%s", error.c_str(), Usage().c_str());
    return 2;
  }
  bool all_ok = true;
  for (const std::string& workload : options.workloads) {
    WorkloadResult result = RunWorkload(options, workload);
    std::printf("%s\n", ToJson(result).c_str());
    std::fflush(stdout);
    if (result.errors > 0) {
      std::fprintf(stderr, "walship-bench: %s: %lld errors, first: %s\n", workload.c_str(),
                   static_cast<long long>(result.errors), result.first_error.c_str());
      all_ok = false;
    }
  }
  return all_ok ? 0 : 1;
}
