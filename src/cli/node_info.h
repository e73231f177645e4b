// Reading another node's GET /info, for the commands (status, run) and for a
// node asking its peers (handoff catch-up, the primary's proxy and TXID).
// Thread-safe (no shared state).
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "http/client.h"

namespace walship::cli {

// The /info object of the node API at `url`, with "url" added, asked with
// `credentials`. Unavailable (naming the URL)
// when it does not answer 200; Corruption for a body that is not a JSON
// object.
Result<nlohmann::json> FetchNodeInfo(const std::string& url, std::chrono::milliseconds timeout,
                                     const http::Credentials& credentials);

}  // namespace walship::cli
