// Position: where a database is in its history — the TXID of the last applied
// transaction and the rolling checksum of the whole database after it.
// A plain value; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace walship::store {

struct Position {
  uint64_t txid = 0;
  uint64_t checksum = 0;

  // "%016x/%016x\n" as in the mount's DB-pos file (LiteFS format).
  std::string PosFileText() const;
  // The inverse of PosFileText; Corruption for anything else.
  static Result<Position> ParsePosFileText(std::string_view text);
  bool operator==(const Position&) const = default;
};

}  // namespace walship::store
