#include "http/url.h"

#include <charconv>
#include <cstdio>

#include "base/coding.h"

namespace walship::http {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<uint16_t> ParsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535) {
    return Status::InvalidArgument("bad port in \"" + std::string(whole) + "\"");
  }
  return static_cast<uint16_t>(value);
}

// Splits "host", "host:port" or "[v6]:port"; `port` stays empty when absent.
Status SplitHostPort(std::string_view text, std::string* host, std::string_view* port) {
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("unterminated [ in \"" + std::string(text) + "\"");
    }
    *host = std::string(text.substr(1, close - 1));
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      return Status::InvalidArgument("junk after ] in \"" + std::string(text) + "\"");
    }
    *port = rest.empty() ? rest : rest.substr(1);
    return Status::OK();
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    *host = std::string(text);
    *port = {};
    return Status::OK();
  }
  *host = std::string(text.substr(0, colon));
  *port = text.substr(colon + 1);
  if (port->empty()) return Status::InvalidArgument("empty port in \"" + std::string(text) + "\"");
  return Status::OK();
}

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

std::string Url::HostPort() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::string Url::ToString() const {
  std::string out = scheme + "://" + HostPort() + path;
  if (!query.empty()) out += "?" + query;
  return out;
}

Result<Url> ParseUrl(std::string_view text) {
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return Status::InvalidArgument("URL without scheme: \"" + std::string(text) + "\"");
  }
  url.scheme = std::string(text.substr(0, sep));
  if (url.scheme == "https") {
    url.port = 443;
  } else if (url.scheme != "http") {
    return Status::InvalidArgument("unsupported URL scheme \"" + url.scheme + "\" (http or https)");
  }
  std::string_view rest = text.substr(sep + 3);
  size_t path_start = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view port;
  WALSHIP_RETURN_IF_ERROR(SplitHostPort(authority, &url.host, &port));
  if (url.host.empty()) return Status::InvalidArgument("URL without host: " + std::string(text));
  if (!port.empty()) {
    WALSHIP_ASSIGN_OR_RETURN(url.port, ParsePort(port, text));
  }
  if (path_start == std::string_view::npos) return url;
  std::string_view tail = rest.substr(path_start);
  size_t q = tail.find('?');
  url.path = std::string(tail.substr(0, q));
  if (url.path.empty()) url.path = "/";
  if (q != std::string_view::npos) url.query = std::string(tail.substr(q + 1));
  return url;
}

Result<HostPort> ParseHostPort(std::string_view text) {
  HostPort out;
  std::string_view port;
  WALSHIP_RETURN_IF_ERROR(SplitHostPort(text, &out.host, &port));
  if (port.empty()) {
    return Status::InvalidArgument("address \"" + std::string(text) + "\" has no port");
  }
  WALSHIP_ASSIGN_OR_RETURN(out.port, ParsePort(port, text));
  return out;
}

Result<std::string> UrlDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out += ' ';
    } else if (c != '%') {
      out += c;
    } else {
      int hi = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
      int lo = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return Status::InvalidArgument("bad percent escape in \"" + std::string(text) + "\"");
      }
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

std::string UrlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (IsUnreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<QueryParams> ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    WALSHIP_ASSIGN_OR_RETURN(std::string key, UrlDecode(pair.substr(0, eq), true));
    std::string value;
    if (eq != std::string_view::npos) {
      WALSHIP_ASSIGN_OR_RETURN(value, UrlDecode(pair.substr(eq + 1), true));
    }
    params.emplace(std::move(key), std::move(value));
  }
  return params;
}

std::string AsciiLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string JsonErrorBody(std::string_view message) {
  return "{\"error\":" + JsonQuote(message) + "}\n";
}

}  // namespace walship::http
