// Status and Result<T>: how relay/store reports failure without exceptions.
//
// Every fallible call in relay/store returns a Status (no value) or a
// Result<T> (a value or a Status). A failed Status carries a code and a
// human-readable message that names the file and the cause, e.g.
// "relay.sqlite: file is not a database". Nothing in relay/store aborts or
// throws on bad data or I/O errors; only std::bad_alloc may escape.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace faultline::relay::store {

class Status {
 public:
  enum class Code { kOk, kInvalidArgument, kNotFound, kCorruption, kIoError, kDbError, kBusy };

  Status() = default;
  static Status ok_status() { return Status(); }
  static Status invalid_argument(std::string m) { return Status(Code::kInvalidArgument, std::move(m)); }
  static Status not_found(std::string m) { return Status(Code::kNotFound, std::move(m)); }
  static Status corruption(std::string m) { return Status(Code::kCorruption, std::move(m)); }
  static Status io_error(std::string m) { return Status(Code::kIoError, std::move(m)); }
  // `what` + ": " + strerror(err).
  static Status from_errno(const std::string& what, int err);
  static Status db_error(std::string m) { return Status(Code::kDbError, std::move(m)); }
  static Status busy(std::string m) { return Status(Code::kBusy, std::move(m)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "OK" or "<code name>: <message>".
  std::string to_string() const;

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A T or a failed Status. Accessing value() of a failed Result is a
// programming error (checked by an assert in debug builds only).
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return status_.ok(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace faultline::relay::store
