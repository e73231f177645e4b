// Internal to the node API: JSON values as text that is always valid JSON.
// A string that is not well-formed UTF-8 (a hostname from a config file, a
// name from a peer) would make nlohmann's dump() throw; here its bad bytes
// become U+FFFD instead. Pure functions, thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace walship::http::internal {

// `value` on one line.
inline std::string JsonText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `value` on one line, followed by a newline.
inline std::string JsonLine(const nlohmann::json& value) { return JsonText(value) + "\n"; }

}  // namespace walship::http::internal
