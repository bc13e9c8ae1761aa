// Errors as values. A Status is ok or carries a kind and one message that
// names the file, the line and what to do; Result<T> is a T or such a Status.
// The kind says whose problem it is, and so how the run ends: master/main.cc
// alone maps kinds to exit statuses (LevelDB's Status codes).
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace shoal {

enum class StatusCode {
  kOk,
  // What the user gave is wrong: the command line, a setting, the input it
  // names (missing, unreadable, malformed). Nothing ran: exit 2.
  kUsage,
  // The system failed an operation shoal needed (creating the run
  // directory, writing a record, shared memory, starting a worker): exit 3.
  kIo,
  // A state shoal should never reach: exit 3.
  kInternal,
};

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  // A problem in what the user gave (kUsage).
  static Status Error(std::string message) {
    return Status(StatusCode::kUsage, std::move(message));
  }
  static Status IoError(std::string message) { return Status(StatusCode::kIo, std::move(message)); }
  static Status Internal(std::string message) {
    return Status(StatusCode::kInternal, std::move(message));
  }
  // errno becomes a message here and nowhere else: "what: strerror(err)".
  // An I/O error unless told otherwise (an input the user named that cannot
  // be opened is kUsage).
  static Status FromErrno(const std::string& what, int err, StatusCode code = StatusCode::kIo);

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) { assert(!std::get<Status>(v_).ok()); }  // NOLINT

  bool ok() const { return v_.index() == 0; }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const Status& status() const { return std::get<1>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace shoal
