// URL and address helpers shared by the HTTP server and client: parsing an
// "http://host:port/path?query" URL, a listen address (":20202",
// "127.0.0.1:0", "[::1]:80"), percent-decoding and query strings, and the
// one-line JSON error body every walship endpoint returns, and small text
// helpers.
//
// All functions are pure and thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "base/status.h"

namespace walship::http {

// Query parameters after percent-decoding; the first occurrence of a key wins.
using QueryParams = std::map<std::string, std::string>;

// A parsed absolute http or https URL. `path` always starts with '/'; `query` excludes '?'.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  uint16_t port = 80;  // 443 for https when the URL names none
  std::string path = "/";
  std::string query;

  // "host:port" as sent in the Host header ("[::1]:80" for IPv6).
  std::string HostPort() const;
  // "http://host:port/path?query".
  std::string ToString() const;
};

// Parses "http://host[:port][/path][?query]" (or https://).
Result<Url> ParseUrl(std::string_view text);

// A listen address: empty host means every interface.
struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Parses ":20202", "host:port", "1.2.3.4:0" or "[::1]:80".
Result<HostPort> ParseHostPort(std::string_view text);

// Decodes %XX escapes; with `plus_is_space`, '+' becomes ' ' (query strings).
// Fails on a truncated or non-hex escape.
Result<std::string> UrlDecode(std::string_view text, bool plus_is_space);

// Percent-encodes everything but unreserved characters (RFC 3986).
std::string UrlEncode(std::string_view text);

// Parses "a=1&b=x%20y&flag" into {a:1, b:"x y", flag:""}.
Result<QueryParams> ParseQuery(std::string_view query);

// `text` with ASCII letters lower-cased (header names).
std::string AsciiLower(std::string_view text);

// {"error":"<message>"} followed by a newline.
std::string JsonErrorBody(std::string_view message);

}  // namespace walship::http
