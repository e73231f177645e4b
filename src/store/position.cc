#include "store/position.h"

#include "base/coding.h"

namespace walship::store {

namespace {

bool ParseHex16(std::string_view text, uint64_t* out) {
  if (text.size() != 16) return false;
  uint64_t v = 0;
  for (char c : text) {
    int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    v = v << 4 | uint64_t(digit);
  }
  *out = v;
  return true;
}

}  // namespace

Result<Position> Position::ParsePosFileText(std::string_view text) {
  Position pos;
  if (text.size() != 34 || text[16] != '/' || text[33] != '\n' ||
      !ParseHex16(text.substr(0, 16), &pos.txid) || !ParseHex16(text.substr(17, 16), &pos.checksum)) {
    return Status::Corruption("not a position (%016x/%016x\\n): \"" + std::string(text) + "\"");
  }
  return pos;
}

std::string Position::PosFileText() const { return Hex16(txid) + "/" + Hex16(checksum) + "\n"; }

}  // namespace walship::store
