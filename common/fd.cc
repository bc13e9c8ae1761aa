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

Result<AtomicFile> AtomicFile::Create(const std::string& path) {
  AtomicFile f;
  f.path_ = path;
  f.temp_ = path + ".tmp";
  const size_t slash = path.rfind('/');
  f.dir_ = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  ::unlink(f.temp_.c_str());  // a crash's leftover
  f.fd_.Reset(::open(f.temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                     FileModeIn(f.dir_)));
  if (!f.fd_.valid()) return Status::FromErrno("cannot write " + f.temp_, errno);
  return f;
}

AtomicFile::~AtomicFile() {
  if (fd_.valid()) {
    fd_.Reset();
    ::unlink(temp_.c_str());
  }
}

Status AtomicFile::Append(std::string_view data) {
  return WriteAll(fd_.get(), data, temp_);
}

Status AtomicFile::Commit() {
  // Without the fsync a crash soon after the rename can leave an empty file
  // on some file systems (ext4 without auto_da_alloc, xfs).
  Status st;
  if (::fsync(fd_.get()) != 0) st = Status::FromErrno("cannot sync " + temp_, errno);
  fd_.Reset();
  if (st.ok() && ::rename(temp_.c_str(), path_.c_str()) != 0) {
    st = Status::FromErrno("cannot rename " + temp_ + " to " + path_, errno);
  }
  if (!st.ok()) {
    ::unlink(temp_.c_str());
    return st;
  }
  return SyncDirectory(dir_);  // the rename itself
}

Status SyncDirectory(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return Status::FromErrno("cannot sync the directory " + dir, errno);
  }
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  Result<AtomicFile> file = AtomicFile::Create(path);
  if (!file.ok()) return file.status();
  Status st = file->Append(data);
  return st.ok() ? file->Commit() : st;
}

}  // namespace shoal
