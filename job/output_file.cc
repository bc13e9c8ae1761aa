#include "job/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <vector>

#include "job/lexical_path.h"

namespace shoal {
namespace {

// Opens (O_DIRECTORY, close-on-exec) the directory `components` below
// `root_fd`, creating what is missing with `dir_mode`. O_NOFOLLOW on every step
// refuses a symlink anywhere on the way, so the walk cannot be redirected out.
Result<UniqueFd> OpenDirsBeneath(int root_fd, const std::vector<std::string_view>& components,
                                 const std::string& root_name, mode_t dir_mode) {
  UniqueFd dir(::dup(root_fd));
  if (!dir.valid()) return Status::FromErrno("dup " + root_name, errno);
  std::string where = root_name;
  for (std::string_view c : components) {
    std::string name(c);
    where += "/" + name;
    constexpr int kFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(dir.get(), name.c_str(), kFlags);
    if (fd < 0 && errno == ENOENT) {
      // Existing directories are the common case; create only on a miss, and
      // accept losing a race to another worker creating the same directory.
      if (::mkdirat(dir.get(), name.c_str(), dir_mode) != 0 && errno != EEXIST) {
        return Status::FromErrno("cannot create directory " + where, errno);
      }
      fd = ::openat(dir.get(), name.c_str(), kFlags);
    }
    if (fd < 0) {
      // With O_DIRECTORY a symlink reports ENOTDIR rather than ELOOP: look again.
      const int err = errno;
      struct stat st;
      if (err == ELOOP ||
          (err == ENOTDIR && ::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
           S_ISLNK(st.st_mode))) {
        return Status::Error("refusing symlink " + where);
      }
      if (err == ENOTDIR) return Status::Error("not a directory: " + where);
      return Status::FromErrno("cannot open directory " + where, err);
    }
    dir.Reset(fd);
  }
  return dir;
}

// The run directory itself is trusted (the master made it); below it, nothing is.
// What is created below it gets the run directory's own permissions (its
// output.mode), files without execute: *file_mode.
Result<UniqueFd> OpenRunSubdir(const std::string& run_dir,
                               const std::vector<std::string_view>& components,
                               mode_t* file_mode = nullptr) {
  UniqueFd root(::open(run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Status::FromErrno("cannot open run directory " + run_dir, errno);
  struct stat st;
  mode_t dir_mode = ::fstat(root.get(), &st) == 0 ? (st.st_mode & 0777) : 0700;
  if (file_mode != nullptr) *file_mode = dir_mode & 0666;
  return OpenDirsBeneath(root.get(), components, run_dir, dir_mode);
}

}  // namespace

Result<OutputFile> CreateOutputFile(const std::string& run_dir, std::string_view path) {
  std::string absolute =
      (!path.empty() && path[0] == '/') ? std::string(path) : run_dir + "/" + std::string(path);
  std::vector<std::string_view> run = NormalComponents(run_dir);
  std::vector<std::string_view> full = NormalComponents(absolute);
  bool inside = full.size() > run.size();
  for (size_t i = 0; inside && i < run.size(); ++i) inside = full[i] == run[i];
  if (!inside) {
    return Status::Error("output file " + std::string(path) + " is not inside the run directory " +
                         run_dir);
  }
  std::vector<std::string_view> dirs(full.begin() + static_cast<ptrdiff_t>(run.size()),
                                     full.end() - 1);
  mode_t file_mode = 0600;
  Result<UniqueFd> dir = OpenRunSubdir(run_dir, dirs, &file_mode);
  if (!dir.ok()) return dir.status();
  std::string name(full.back());
  OutputFile file;
  file.rel = JoinComponents(full, run.size(), full.size());
  file.fd.Reset(::openat(dir->get(), name.c_str(),
                         O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, file_mode));
  if (!file.fd.valid()) {
    if (errno == ELOOP) return Status::Error("refusing symlink " + run_dir + "/" + file.rel);
    return Status::FromErrno("cannot create " + run_dir + "/" + file.rel, errno);
  }
  return file;
}

Status CreateOutDir(const std::string& run_dir, std::string_view out) {
  // `out` is built by FillItemPaths from a normalized {rel}, but ItemPaths is
  // a plain struct: check again here, where the directory is made.
  std::string base = run_dir + "/out";
  if (out.substr(0, base.size()) != base || (out.size() > base.size() && out[base.size()] != '/')) {
    return Status::Error("{out} " + std::string(out) + " is not inside " + base);
  }
  std::vector<std::string_view> below = SplitComponents(out.substr(base.size()));
  for (std::string_view c : below) {
    if (c == "." || c == "..") {
      return Status::Error("{out} " + std::string(out) + " is not normalized");
    }
  }
  below.insert(below.begin(), "out");
  Result<UniqueFd> dir = OpenRunSubdir(run_dir, below);
  return dir.ok() ? Status::Ok() : dir.status();
}

}  // namespace shoal
