// RAII for file descriptors: one owner, closed exactly once.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/status.h"

namespace shoal {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() { return std::exchange(fd_, -1); }
  void Reset(int fd = -1);

 private:
  int fd_ = -1;
};

// Writes all of `data`, retrying on EINTR and short writes.
Status WriteAll(int fd, std::string_view data, const std::string& what);

// Creates the directory `base` (0755), or base-2, base-3, ... when it exists:
// mkdir is the lock, so two processes starting in the same second never share
// one. Returns the path it made; `what` names it in an error.
Result<std::string> MakeFreshDir(const std::string& base, const std::string& what);

// Replaces `path` with `data` so that a reader, or a crash at any point,
// sees either the old file or the new one whole: written to path.tmp,
// synced, renamed over path.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace shoal
