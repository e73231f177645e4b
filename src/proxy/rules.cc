#include "proxy/rules.h"

#include <cinttypes>
#include <cstdio>

namespace walship::proxy {
namespace {

bool IsSafeMethod(std::string_view method) { return method == "GET" || method == "HEAD"; }

bool MatchesAny(const std::vector<std::string>& globs, const std::string& path) {
  for (const std::string& glob : globs) {
    if (GlobMatch(glob, path)) return true;
  }
  return false;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> ParseDigits(std::string_view text, int base, size_t max_len) {
  if (text.empty() || text.size() > max_len) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (base == 16 && c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (base == 16 && c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return std::nullopt;
    }
    if (value > (UINT64_MAX - uint64_t(digit)) / uint64_t(base)) return std::nullopt;
    value = value * uint64_t(base) + uint64_t(digit);
  }
  return value;
}

}  // namespace

bool GlobMatch(std::string_view pattern, std::string_view path) {
  // Two-pointer wildcard match: on a mismatch, let the last '*' swallow one
  // more character and retry from there. Linear in practice, never exponential.
  size_t p = 0, s = 0;
  size_t star = std::string_view::npos, star_s = 0;
  while (s < path.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_s = s;
    } else if (p < pattern.size() && pattern[p] == path[s]) {
      ++p;
      ++s;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      s = ++star_s;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string DecodePath(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    std::optional<uint64_t> byte;
    if (path[i] == '%' && i + 3 <= path.size()) byte = ParseDigits(path.substr(i + 1, 2), 16, 2);
    if (byte) {
      out.push_back(static_cast<char>(*byte));
      i += 2;
    } else {
      out.push_back(path[i]);  // not an escape: kept as sent
    }
  }
  return out;
}

Route Classify(std::string_view method, std::string_view path, const RouteRules& rules) {
  const std::string p = DecodePath(path);
  // Passthrough first, as in LiteFS: a pattern that matches the health path
  // sends it to the application.
  if (MatchesAny(rules.passthrough, p)) return Route::kPassthrough;
  if (method == "GET" && (p == "/walship/health" || p == "/litefs/health")) return Route::kHealth;
  if (IsSafeMethod(method) && !MatchesAny(rules.always_forward, p)) return Route::kRead;
  return Route::kWrite;
}

std::optional<uint64_t> TxidFromCookieHeader(std::string_view header) {
  std::optional<uint64_t> txid, txnum;
  while (!header.empty()) {
    const size_t semi = header.find(';');
    std::string_view pair = Trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = Trim(pair.substr(0, eq));
    std::string_view value = Trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    if (name == kTxidCookie && value.size() == 16) txid = ParseDigits(value, 16, 16);
    if (name == kTxnumCookie) txnum = ParseDigits(value, 10, 20);
  }
  return txid ? txid : txnum;
}

std::string TxidSetCookie(uint64_t txid) {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s=%016" PRIx64 "; Path=/; HttpOnly; Max-Age=%d", kTxidCookie,
                txid, kCookieMaxAge);
  return buf;
}

}  // namespace walship::proxy
