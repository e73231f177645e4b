#include "store/db_name.h"

#include <algorithm>
#include <cctype>

#include "base/coding.h"

namespace walship::store {
namespace {

// C0 controls, DEL, and the C1 controls U+0080..U+009F (UTF-8 C2 80..C2 9F).
bool HasControlCharacter(std::string_view name) {
  for (size_t i = 0; i < name.size(); i++) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xc2 && i + 1 < name.size() && static_cast<unsigned char>(name[i + 1]) <= 0x9f) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool IsSuperJournalName(std::string_view name) {
  // "-mj%08X" in older SQLite; "-mj%06X9%02X" since 3.32 (sqlite3VdbeCommit).
  constexpr std::string_view kMarker = "-mj";
  for (size_t digits : {size_t(8), size_t(9)}) {
    if (name.size() < kMarker.size() + digits) continue;
    const std::string_view tail = name.substr(name.size() - digits);
    const bool hex = std::all_of(tail.begin(), tail.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0;
    });
    if (hex && name.substr(name.size() - digits - kMarker.size(), kMarker.size()) == kMarker) {
      return true;
    }
  }
  return false;
}

namespace {

// Why NAME is not a database name, or "" when it is one.
std::string Problem(std::string_view name) {
  if (name.empty()) return "it is empty";
  if (name.size() > kMaxDbNameBytes) return "longer than 255 bytes";
  if (!IsValidUtf8(name)) return "not valid UTF-8";
  if (HasControlCharacter(name)) return "it holds a NUL or control character";
  if (name.find('/') != std::string_view::npos) return "it holds a '/'";
  if (name.front() == '.') return "it starts with '.'";
  for (std::string_view suffix : {"-journal", "-wal", "-shm", "-pos"}) {
    if (name.ends_with(suffix)) return "it ends in " + std::string(suffix);
  }
  if (IsSuperJournalName(name)) return "it is an SQLite super-journal name (-mj and 8 or 9 hex digits)";
  return "";
}

}  // namespace

Status ValidateDbName(std::string_view name) {
  const std::string problem = Problem(name);
  if (problem.empty()) return Status::OK();
  // Only a prefix of an overlong name: the message stays one readable line.
  const std::string_view shown = name.substr(0, 64);
  return Status::InvalidArgument("invalid database name " + JsonQuote(shown) +
                                 (shown.size() < name.size() ? "..." : "") + ": " + problem);
}

}  // namespace walship::store
