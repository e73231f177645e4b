#include "cli/env_expand.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace walship::cli {
namespace {

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsName(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsNameChar);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lookup(const EnvLookup& lookup, const std::string& name) {
  return lookup(name).value_or("");
}

// The right-hand side of a comparison: a quoted literal or a variable name.
std::optional<std::string> Operand(std::string_view rhs, const EnvLookup& lookup) {
  if (rhs.size() >= 2 && (rhs.front() == '\'' || rhs.front() == '"') && rhs.back() == rhs.front()) {
    return std::string(rhs.substr(1, rhs.size() - 2));
  }
  if (IsName(rhs)) return Lookup(lookup, std::string(rhs));
  return std::nullopt;
}

// Evaluates the inside of "${...}"; nullopt when it is not a supported form.
std::optional<std::string> EvalBraced(std::string_view inner, const EnvLookup& lookup) {
  inner = Trim(inner);
  if (IsName(inner)) return Lookup(lookup, std::string(inner));
  size_t op = inner.find_first_of("=!");
  if (op == std::string_view::npos || op + 1 >= inner.size() || inner[op + 1] != '=') {
    return std::nullopt;
  }
  std::string_view lhs = Trim(inner.substr(0, op));
  std::optional<std::string> rhs = Operand(Trim(inner.substr(op + 2)), lookup);
  if (!IsName(lhs) || !rhs) return std::nullopt;
  bool equal = Lookup(lookup, std::string(lhs)) == *rhs;
  return (inner[op] == '=') == equal ? "true" : "false";
}

Status ExpandError(const std::string& source, std::string_view text, size_t pos,
                   const std::string& what) {
  size_t line = 1 + std::count(text.begin(), text.begin() + pos, '\n');
  return Status::InvalidArgument(source + ":" + std::to_string(line) + ": " + what +
                                 " (use $NAME, ${NAME}, ${NAME == 'value'} or $$ for a literal $;"
                                 " --no-expand-env turns expansion off)");
}

}  // namespace

std::optional<std::string> ProcessEnvLookup(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value != nullptr && (*value != '\0' || name != "HOSTNAME")) return std::string(value);
  if (name != "HOSTNAME") return std::nullopt;
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) return std::nullopt;
  return std::string(host);
}

Result<std::string> ExpandEnv(std::string_view text, const std::string& source_name,
                              const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char next = i + 1 < text.size() ? text[i + 1] : '\0';
    if (text[i] != '$') {
      out += text[i];
    } else if (next == '$') {
      out += '$';
      ++i;
    } else if (next == '{') {
      size_t close = text.find('}', i + 2);
      if (close == std::string_view::npos) {
        return ExpandError(source_name, text, i, "unterminated \"${\"");
      }
      std::string_view inner = text.substr(i + 2, close - i - 2);
      std::optional<std::string> value = EvalBraced(inner, lookup);
      if (!value) {
        return ExpandError(source_name, text, i, "cannot expand \"${" + std::string(inner) + "}\"");
      }
      out += *value;
      i = close;
    } else if (IsNameChar(next)) {
      size_t end = i + 1;
      while (end < text.size() && IsNameChar(text[end])) ++end;
      out += Lookup(lookup, std::string(text.substr(i + 1, end - i - 1)));
      i = end - 1;
    } else {
      out += '$';
    }
  }
  return out;
}

}  // namespace walship::cli
