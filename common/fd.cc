#include "common/fd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace shoal {

void UniqueFd::Reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Result<std::string> MakeFreshDir(const std::string& base, const std::string& what, mode_t mode) {
  for (int n = 1;; ++n) {
    std::string candidate = n == 1 ? base : base + "-" + std::to_string(n);
    if (::mkdir(candidate.c_str(), mode) == 0) return candidate;
    if (errno != EEXIST || n > 1000) {
      return Status::FromErrno("cannot create " + what + " " + candidate, errno);
    }
  }
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("cannot write " + what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

mode_t FileModeIn(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return 0600;
  return st.st_mode & 0666;
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  const std::string temp = path + ".tmp";
  const size_t last_slash = path.rfind('/');
  const mode_t mode =
      FileModeIn(last_slash == std::string::npos ? "." : path.substr(0, last_slash + 1));
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return Status::FromErrno("cannot write " + temp, errno);
  Status st = WriteAll(fd.get(), data, temp);
  // Without the fsync a crash soon after the rename can leave an empty file
  // on some file systems (ext4 without auto_da_alloc, xfs).
  if (st.ok() && ::fsync(fd.get()) != 0) st = Status::FromErrno("cannot sync " + temp, errno);
  fd.Reset();
  if (st.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    st = Status::FromErrno("cannot rename " + temp + " to " + path, errno);
  }
  if (!st.ok()) {
    ::unlink(temp.c_str());
    return st;
  }
  // The rename itself lasts only once the directory is on disk.
  const size_t slash = path.rfind('/');
  const std::string dir_path = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  UniqueFd dir(::open(dir_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid() || ::fsync(dir.get()) != 0) {
    return Status::FromErrno("cannot sync the directory " + dir_path, errno);
  }
  return Status::Ok();
}

}  // namespace shoal
