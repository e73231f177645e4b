// The proxy's decisions as pure functions (docs/proxy.md): which route a
// request takes, the TXID a client's cookie asks for, and the cookie walship
// sets after a write. Thread-safe (no state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walship::proxy {

// LiteFS's cookie name; the value is the TXID as 16 lowercase hex digits.
inline constexpr char kTxidCookie[] = "__txid";
// litefs-js's cookie name; the value is the TXID in decimal.
inline constexpr char kTxnumCookie[] = "txnum";
// How long the cookie lives (seconds).
inline constexpr int kCookieMaxAge = 300;

enum class Route {
  kHealth,       // GET /walship/health, /litefs/health: answered by the proxy
  kPassthrough,  // a passthrough glob: straight to the local target
  kRead,         // GET/HEAD: local target, after the client's TXID arrived here
  kWrite,        // anything else (or always-forward): the primary's target
};

struct RouteRules {
  std::vector<std::string> passthrough;     // globs on the path
  std::vector<std::string> always_forward;  // globs: even GET/HEAD go to the primary
};

// `path` as sent, without the query string; it is matched percent-decoded
// (as Go's URL.Path, which LiteFS matches), and passthrough patterns are
// tried before the health paths, as in LiteFS.
Route Classify(std::string_view method, std::string_view path, const RouteRules& rules);

// The decoded form of a URL path: each %XX becomes its byte; a '%' not
// followed by two hex digits stays as it is.
std::string DecodePath(std::string_view path);

// LiteFS's proxy patterns: the whole path must match; '*' matches any run of
// characters, '/' included ("*.png" matches "/img/a.png"); every other
// character, '?' and '[' too, matches only itself.
bool GlobMatch(std::string_view pattern, std::string_view path);

// The TXID a Cookie header asks for: __txid (16 hex digits) wins over txnum
// (decimal). nullopt when neither is present and well-formed.
std::optional<uint64_t> TxidFromCookieHeader(std::string_view cookie_header);

// "__txid=000000000000002a; Path=/; HttpOnly; Max-Age=300".
std::string TxidSetCookie(uint64_t txid);

}  // namespace walship::proxy
