#include "cli/duration.h"

#include <cstdint>
#include <limits>

namespace walship::cli {
namespace {

constexpr int64_t kNanosPerMilli = 1'000'000;
constexpr __int128 kMaxFractionScale = 1'000'000'000'000'000'000;  // 10^18

struct Unit {
  std::string_view name;
  int64_t nanos;
};

// Longer names first so "ms" is not read as "m" followed by garbage.
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // µs (micro sign)
    {"\xCE\xBCs", 1'000},  // μs (Greek mu)
    {"ms", kNanosPerMilli},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

Status Invalid(std::string_view text, std::string_view why) {
  std::string msg = "invalid duration \"" + std::string(text) + "\"";
  if (!why.empty()) msg += " (" + std::string(why) + ")";
  return Status::InvalidArgument(std::move(msg));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Reads one "<number><unit>" group from the front of `rest` and adds its value
// in nanoseconds to `*total`. Integer arithmetic (no floating point) so "0.3s"
// is exactly 300ms.
Status ReadGroup(std::string_view text, std::string_view* rest, __int128* total) {
  size_t i = 0, digits = 0;
  __int128 whole = 0, frac = 0, scale = 1;
  for (; i < rest->size() && IsDigit((*rest)[i]); ++i, ++digits) {
    whole = whole * 10 + ((*rest)[i] - '0');
    if (whole > std::numeric_limits<int64_t>::max()) return Invalid(text, "too large");
  }
  if (i < rest->size() && (*rest)[i] == '.') {
    for (++i; i < rest->size() && IsDigit((*rest)[i]); ++i, ++digits) {
      if (scale >= kMaxFractionScale) continue;  // beyond nanoseconds: ignored
      frac = frac * 10 + ((*rest)[i] - '0');
      scale *= 10;
    }
  }
  if (digits == 0) return Invalid(text, "expected a number");
  rest->remove_prefix(i);
  for (const Unit& unit : kUnits) {
    if (rest->substr(0, unit.name.size()) != unit.name) continue;
    rest->remove_prefix(unit.name.size());
    *total += whole * unit.nanos + frac * unit.nanos / scale;
    if (*total > std::numeric_limits<int64_t>::max()) return Invalid(text, "too large");
    return Status::OK();
  }
  if (rest->empty()) return Invalid(text, "missing unit: use ms, s, m or h, e.g. \"10s\"");
  return Invalid(text, "unknown unit; use ns, us, ms, s, m or h");
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  std::string_view rest = text;
  bool negative = false;
  if (!rest.empty() && (rest[0] == '-' || rest[0] == '+')) {
    negative = rest[0] == '-';
    rest.remove_prefix(1);
  }
  if (rest == "0") return std::chrono::milliseconds(0);
  if (rest.empty()) return Invalid(text, "empty");
  // Like Go, the total must fit int64 nanoseconds (about 292 years).
  __int128 nanos = 0;
  while (!rest.empty()) {
    WALSHIP_RETURN_IF_ERROR(ReadGroup(text, &rest, &nanos));
  }
  auto millis = static_cast<int64_t>(nanos / kNanosPerMilli);
  return std::chrono::milliseconds(negative ? -millis : millis);
}

std::string FormatDuration(std::chrono::milliseconds d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out = ms < 0 ? "-" : "";
  uint64_t left = ms < 0 ? 0 - static_cast<uint64_t>(ms) : static_cast<uint64_t>(ms);
  if (left < 1000) return out + std::to_string(left) + "ms";
  constexpr uint64_t kHour = 3'600'000, kMinute = 60'000;
  if (left >= kHour) out += std::to_string(left / kHour) + "h";
  left %= kHour;
  if (left >= kMinute) out += std::to_string(left / kMinute) + "m";
  left %= kMinute;
  if (left == 0) return out;
  out += std::to_string(left / 1000);
  if (left % 1000 != 0) {
    std::string frac = std::to_string(1000 + left % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "s";
}

}  // namespace walship::cli
