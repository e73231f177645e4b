#include "http/fields.h"

namespace walship::http::internal {

Headers CollectHeaders(const boost::beast::http::fields& fields) {
  Headers headers;
  for (const auto& field : fields) {
    auto name = field.name_string();
    auto text = field.value();
    std::string& value = headers[AsciiLower(std::string_view(name.data(), name.size()))];
    if (!value.empty()) value += ", ";
    value.append(text.data(), text.size());
  }
  return headers;
}

}  // namespace walship::http::internal
