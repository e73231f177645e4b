#include "base/status.h"

#include <cstring>

namespace walship {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kIOError: return "IOError";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kReadOnly: return "ReadOnly";
    case Status::Code::kNotPrimary: return "NotPrimary";
    case Status::Code::kPosMismatch: return "PosMismatch";
    case Status::Code::kLeaseExpired: return "LeaseExpired";
    case Status::Code::kBusy: return "Busy";
    case Status::Code::kUnavailable: return "Unavailable";
    case Status::Code::kAborted: return "Aborted";
  }
  return "Unknown";
}

Status Status::FromErrno(const std::string& what, int err) {
  return Status(Code::kIOError, what + ": " + std::strerror(err), err);
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return std::string(CodeName(code_)) + ": " + message_;
}

Status Status::WithContext(const std::string& context) const {
  if (ok()) return *this;
  return Status(code_, context + ": " + message_, errno_);
}

}  // namespace walship
