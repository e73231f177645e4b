#include "http/handler.h"

namespace walship::http {

std::string Request::Query(std::string_view key, std::string_view fallback) const {
  auto it = query().find(std::string(key));
  return it == query().end() ? std::string(fallback) : it->second;
}

std::string Request::Header(std::string_view name) const {
  auto it = headers().find(AsciiLower(name));
  return it == headers().end() ? std::string() : it->second;
}

void Response::SendJsonError(int status, std::string_view message) {
  Send(status, JsonErrorBody(message), kJson);
}

Status Response::WriteText(std::string_view text) {
  return WriteChunk({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
}

}  // namespace walship::http
