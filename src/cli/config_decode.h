// Internal to walship_config: decodes YAML text into a Config, strictly.
//
// Every key must be known; values must have the right type; durations must
// parse and be non-negative. Every key LiteFS 0.5 accepts is known: those
// walship does not act on are type-checked and get a warning. Problems are
// "<source>:<line>: ..." messages collected in a ConfigProblems, all of them,
// not only the first. The decoder records the 1-based line of every key it saw
// so later checks (Validate) can point at the line too.
//
// Thread-safety: reentrant; no shared state.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"
#include "cli/config.h"
#include "cli/config_problems.h"

namespace walship::cli::internal {

// Key path ("lease.etcd.ttl", "exec[1].cmd") -> 1-based line in the source.
using KeyLines = std::map<std::string, int, std::less<>>;

// Decodes `yaml_text` over the defaults already in `*config`, adding every
// problem found to `*problems`. A key whose value is wrong keeps its default.
void DecodeConfigYaml(std::string_view yaml_text, const std::string& source_name, Config* config,
                      KeyLines* lines, ConfigProblems* problems);

}  // namespace walship::cli::internal
