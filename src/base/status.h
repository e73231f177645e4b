// Status and Result<T>: how every walship module reports failure.
//
// No exception crosses a module boundary. A Status is OK (cheap) or carries a
// Code, an optional errno and a message a user can act on. Result<T> holds a
// value or a non-OK Status. Both are plain values: copy and move freely across
// threads; a single object is not synchronized.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace walship {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kCorruption,
    kIOError,
    kInvalidArgument,
    kReadOnly,
    kNotPrimary,
    kPosMismatch,
    kLeaseExpired,
    kBusy,
    kUnavailable,  // a network peer or service; a retry can help
    kAborted,
  };

  Status() = default;

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg, int err = 0) {
    return Status(Code::kIOError, std::move(msg), err);
  }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status ReadOnly(std::string msg) { return Status(Code::kReadOnly, std::move(msg)); }
  static Status NotPrimary(std::string msg) { return Status(Code::kNotPrimary, std::move(msg)); }
  static Status PosMismatch(std::string msg) { return Status(Code::kPosMismatch, std::move(msg)); }
  static Status LeaseExpired(std::string msg) {
    return Status(Code::kLeaseExpired, std::move(msg));
  }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status Unavailable(std::string msg) { return Status(Code::kUnavailable, std::move(msg)); }
  static Status Aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }
  // An IOError from the current errno, naming the operation and path.
  static Status FromErrno(const std::string& what, int err);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int err() const { return errno_; }  // 0 when there is no errno
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsLeaseExpired() const { return code_ == Code::kLeaseExpired; }
  bool IsRetryable() const { return code_ == Code::kUnavailable || code_ == Code::kBusy; }

  // "Corruption: <message>"
  std::string ToString() const;
  // A copy whose message is prefixed with "context: ".
  Status WithContext(const std::string& context) const;

 private:
  Status(Code code, std::string msg, int err = 0)
      : code_(code), errno_(err), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

const char* CodeName(Status::Code code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {          // NOLINT: implicit by design
    assert(!status_.ok());
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  Status status_;
  std::optional<T> value_;
};

}  // namespace walship

// Returns the Status of `expr` from the enclosing function when it is not OK.
#define WALSHIP_RETURN_IF_ERROR(expr)              \
  do {                                             \
    ::walship::Status _st = (expr);                \
    if (!_st.ok()) return _st;                     \
  } while (0)

#define WALSHIP_CONCAT_INNER(a, b) a##b
#define WALSHIP_CONCAT(a, b) WALSHIP_CONCAT_INNER(a, b)
// Declares `lhs` from a Result, or returns its Status from the enclosing function.
#define WALSHIP_ASSIGN_OR_RETURN(lhs, expr) \
  WALSHIP_ASSIGN_OR_RETURN_IMPL(WALSHIP_CONCAT(_result_, __LINE__), lhs, expr)
#define WALSHIP_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
