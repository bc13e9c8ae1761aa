// RAII for file descriptors: one owner, closed exactly once.
#pragma once

#include <sys/types.h>

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

// Creates the directory `base` (`mode`, less the umask), or base-2, base-3,
// ... when it exists: mkdir is the lock, so two processes starting in the
// same second never share one. Returns the path it made; `what` names it in
// an error.
Result<std::string> MakeFreshDir(const std::string& base, const std::string& what,
                                 mode_t mode = 0755);

// The mode for a file created in the directory `dir`: the directory's own
// permission bits without execute (a run directory of 0700 gets 0600 files),
// so the run's output.mode reaches every file without being passed around.
// 0600 if `dir` cannot be read.
mode_t FileModeIn(const std::string& dir);

// fsync of a directory: a rename or a new entry in it survives a crash of
// the machine only once the directory itself is on disk.
Status SyncDirectory(const std::string& dir);

// A file replaced whole, written as it comes: appended to path.tmp (created
// with the mode of its directory's files, never through a symlink); Commit()
// syncs it, renames it over path and syncs the directory, so a reader or a
// crash sees the old file or the new one whole. Without Commit() the
// temporary file is removed.
class AtomicFile {
 public:
  static Result<AtomicFile> Create(const std::string& path);
  AtomicFile(AtomicFile&&) = default;
  AtomicFile& operator=(AtomicFile&&) = default;
  ~AtomicFile();
  Status Append(std::string_view data);
  Status Commit();

 private:
  AtomicFile() = default;
  std::string path_, temp_, dir_;
  UniqueFd fd_;
};

// Replaces `path` with `data` so that a reader, or a crash at any point,
// sees either the old file or the new one whole: written to path.tmp (with
// FileModeIn of its directory, never through a symlink), synced, renamed
// over path.
Status WriteFileAtomically(const std::string& path, std::string_view data);

}  // namespace shoal
