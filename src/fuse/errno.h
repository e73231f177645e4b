// ToErrno: the one mapping from a Status to the errno a FUSE reply carries.
// Pure function; thread-safe.
#pragma once

#include "base/status.h"

namespace walship::fuse {

int ToErrno(const Status& status);

}  // namespace walship::fuse
