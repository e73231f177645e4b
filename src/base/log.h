// Logging: spdlog behind one setup call. Modules log with spdlog::info/warn/...
// directly; this header only configures format (text or json) and level.
#pragma once

#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace walship {

enum class LogFormat { kText, kJson };

// Configures the default logger (stderr). Call once at start-up, before threads.
// JSON lines are {"time", "level", "msg"} with the message escaped.
void SetupLogging(LogFormat format, bool debug);

// `text` as the contents of a JSON string: quotes, backslashes and control
// characters escaped; other bytes (UTF-8) as they are.
std::string JsonEscape(std::string_view text);

}  // namespace walship
