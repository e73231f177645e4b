// The node API's shared-secret check (DESIGN.md §1.3 http.auth-token): a
// request is authorized when it carries "Authorization: Bearer TOKEN" with
// the configured token. The comparison takes the same time wherever the
// tokens differ, so response timing does not reveal a prefix of the token.
// The token is never logged or echoed.
//
// Thread-safety: pure functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "http/handler.h"

namespace walship::http {

// True when `a` and `b` are equal; the time taken depends only on their
// lengths, never on where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// True when `request` carries "Authorization: Bearer TOKEN" (scheme in any
// case) with exactly `token`. REQUIRES: token is not empty.
bool HasBearerToken(const Request& request, std::string_view token);

// The Authorization header value a client sends: "Bearer TOKEN".
std::string BearerAuthorization(std::string_view token);

// Answers 401 with a one-line JSON error and a WWW-Authenticate header.
void SendUnauthorized(Response& response);

}  // namespace walship::http
