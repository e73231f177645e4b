// Go-style durations for configuration values ("10s", "500ms", "1h30m", "2.5s").
//
// The grammar is Go's time.ParseDuration: an optional sign, then one or more
// decimal numbers (with an optional fraction) each followed by a unit: ns, us
// (or µs), ms, s, m, h. "0" alone is accepted; any other bare number is not,
// because a unit-less value is ambiguous (LiteFS rejects it too). The result is
// kept to millisecond precision: finer parts are truncated toward zero.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "base/status.h"

namespace walship::cli {

// Parses `text`; InvalidArgument naming the text when it is not a duration.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

// The shortest Go-style spelling of `d`: "0s", "500ms", "1m30s", "2h".
std::string FormatDuration(std::chrono::milliseconds d);

}  // namespace walship::cli
