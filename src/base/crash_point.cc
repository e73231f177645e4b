#include "base/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

namespace walship {
namespace {

struct CrashConfig {
  std::string name;
  long hit_at = 1;
  std::atomic<long> hits{0};
  CrashConfig() {
    const char* spec = std::getenv("WALSHIP_CRASH_AT");
    if (!spec || !*spec) return;
    name = spec;
    if (auto colon = name.find(':'); colon != std::string::npos) {
      hit_at = std::strtol(name.c_str() + colon + 1, nullptr, 10);
      name.resize(colon);
    }
  }
};

CrashConfig& Config() {
  static CrashConfig config;
  return config;
}

}  // namespace

void CrashPoint(const char* name) {
  CrashConfig& config = Config();
  if (config.name.empty() || config.name != name) return;
  if (config.hits.fetch_add(1) + 1 < config.hit_at) return;
  const char msg[] = "walship: crash point reached, killing self\n";
  [[maybe_unused]] auto n = ::write(2, msg, sizeof msg - 1);
  ::kill(::getpid(), SIGKILL);
}

bool CrashPointArmed(const char* name) {
  const CrashConfig& config = Config();
  return !config.name.empty() && config.name == name;
}

long TestHookNumber(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::strtol(v, nullptr, 10) : 0L;
}

}  // namespace walship
