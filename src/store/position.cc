#include "store/position.h"

#include "base/coding.h"

namespace walship::store {

std::string Position::PosFileText() const { return Hex16(txid) + "/" + Hex16(checksum) + "\n"; }

}  // namespace walship::store
