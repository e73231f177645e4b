// Logging: spdlog behind one setup call. Modules log with spdlog::info/warn/...
// directly; this header only configures format (text or json) and level.
#pragma once

#include <spdlog/spdlog.h>

namespace walship {

enum class LogFormat { kText, kJson };

// Configures the default logger (stderr). Call once at start-up, before threads.
// JSON lines are {"time", "level", "msg"} with the message escaped.
void SetupLogging(LogFormat format, bool debug);

}  // namespace walship
