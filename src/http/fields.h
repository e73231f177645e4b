// Internal: converting Beast header fields to walship's Headers map; shared by
// the server and the client. Pure functions, thread-safe.
#pragma once

#include <string_view>

#include <boost/beast/http/fields.hpp>

#include "http/handler.h"

namespace walship::http::internal {

// A Beast string_view of `text` (Boost 1.74 Beast uses boost::string_view).
inline boost::beast::string_view ToBeast(std::string_view text) {
  return {text.data(), text.size()};
}

// Header fields with lower-cased names, repeated ones joined with ", ".
Headers CollectHeaders(const boost::beast::http::fields& fields);

}  // namespace walship::http::internal
