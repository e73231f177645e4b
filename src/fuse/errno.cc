#include "fuse/errno.h"

#include <cerrno>

namespace walship::fuse {

int ToErrno(const Status& status) {
  if (status.ok()) return 0;
  if (status.err() != 0) return status.err();
  switch (status.code()) {
    case Status::Code::kNotFound: return ENOENT;
    case Status::Code::kInvalidArgument: return EINVAL;
    case Status::Code::kReadOnly: return EROFS;
    case Status::Code::kNotPrimary: return EROFS;
    case Status::Code::kLeaseExpired: return EIO;
    case Status::Code::kBusy: return EBUSY;
    default: return EIO;
  }
}

}  // namespace walship::fuse
