#include "http/auth.h"

#include <algorithm>

#include "http/url.h"

namespace walship::http {
namespace {

constexpr std::string_view kBearer = "bearer ";

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  // Every byte of the longer string is visited; a length mismatch is folded
  // into the same accumulator instead of returning early.
  const size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; i++) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  // Read through a volatile so the loop cannot be turned into an early exit.
  volatile unsigned char result = diff;
  return result == 0;
}

bool HasBearerToken(const Request& request, std::string_view token) {
  const std::string value = request.Header("authorization");
  if (value.size() < kBearer.size() || AsciiLower(value.substr(0, kBearer.size())) != kBearer) {
    return false;
  }
  return ConstantTimeEquals(std::string_view(value).substr(kBearer.size()), token);
}

std::string BearerAuthorization(std::string_view token) { return "Bearer " + std::string(token); }

void SendUnauthorized(Response& response) {
  response.SetHeader("WWW-Authenticate", "Bearer realm=\"walship\"");
  response.SendJsonError(401,
                         "unauthorized: this node API needs \"Authorization: Bearer TOKEN\" with "
                         "its http.auth-token (walship commands: --auth-token or "
                         "WALSHIP_AUTH_TOKEN)");
}

}  // namespace walship::http
