// Helpers shared by the config tests.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cli/config.h"

namespace walship::cli::testing {

inline EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// Parses as "walship.yml" with an empty environment.
inline Result<Config> Parse(std::string_view yaml, std::map<std::string, std::string> env = {}) {
  return ParseConfig(yaml, /*expand_env=*/true, "walship.yml", FakeEnv(std::move(env)));
}

// The error message of parsing `yaml`; fails the test if it parses.
inline std::string ParseError(std::string_view yaml) {
  Result<Config> config = Parse(yaml);
  EXPECT_FALSE(config.ok()) << "parsed:\n" << yaml;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), Status::Code::kInvalidArgument);
  return config.status().message();
}

}  // namespace walship::cli::testing
