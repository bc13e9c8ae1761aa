#include "job/output_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <optional>
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

// Where an output file goes: its directory (created and opened with the
// checks above), its last component, its mode and its path below run_dir.
struct OutputPlace {
  UniqueFd dir;
  std::string name;
  std::string rel;
  mode_t file_mode = 0600;
};

// True when the normalized components `full` lie strictly beneath `root`'s.
bool Beneath(const std::vector<std::string_view>& full, const std::vector<std::string_view>& root) {
  bool inside = full.size() > root.size();
  for (size_t i = 0; inside && i < root.size(); ++i) inside = full[i] == root[i];
  return inside;
}

// output.tree itself is trusted (the user named it, and it was checked
// before the run); below it, nothing is. Directories made in it get the
// tree's own permissions.
Result<UniqueFd> OpenTreeSubdir(const std::string& tree,
                                const std::vector<std::string_view>& components,
                                mode_t* file_mode = nullptr) {
  UniqueFd root(::open(tree.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return Status::FromErrno("cannot open output.tree " + tree, errno);
  struct stat st;
  mode_t dir_mode = ::fstat(root.get(), &st) == 0 ? (st.st_mode & 0777) : 0700;
  if (file_mode != nullptr) *file_mode = dir_mode & 0666;
  return OpenDirsBeneath(root.get(), components, tree, dir_mode);
}

Result<OutputPlace> PlaceOutputFile(const std::string& run_dir, std::string_view path,
                                    std::string_view tree) {
  std::string absolute =
      (!path.empty() && path[0] == '/') ? std::string(path) : run_dir + "/" + std::string(path);
  std::vector<std::string_view> full = NormalComponents(absolute);
  std::vector<std::string_view> run = NormalComponents(run_dir);
  std::vector<std::string_view> root = run;
  const bool in_tree =
      !tree.empty() && !Beneath(full, run) && Beneath(full, NormalComponents(tree));
  if (in_tree) root = NormalComponents(tree);
  if (!Beneath(full, root)) {
    return Status::Error("output file " + std::string(path) + " is not inside the run directory " +
                         run_dir + (tree.empty() ? "" : " nor output.tree " + std::string(tree)));
  }
  std::vector<std::string_view> dirs(full.begin() + static_cast<ptrdiff_t>(root.size()),
                                     full.end() - 1);
  OutputPlace place;
  Result<UniqueFd> dir = in_tree ? OpenTreeSubdir(std::string(tree), dirs, &place.file_mode)
                                 : OpenRunSubdir(run_dir, dirs, &place.file_mode);
  if (!dir.ok()) return dir.status();
  place.dir = std::move(dir).value();
  place.name = std::string(full.back());
  // Records name a file in the run by its path there, one in the tree whole.
  place.rel = in_tree ? std::string("/").append(JoinComponents(full, 0, full.size()))
                      : JoinComponents(full, run.size(), full.size());
  return place;
}

Result<UniqueFd> OpenOutputFile(const OutputPlace& place, const std::string& name,
                                const std::string& where) {
  UniqueFd fd(::openat(place.dir.get(), name.c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, place.file_mode));
  if (!fd.valid()) {
    if (errno == ELOOP) return Status::Error("refusing symlink " + where);
    return Status::FromErrno("cannot create " + where, errno);
  }
  return fd;
}

constexpr char kOwnerAttr[] = "user.shoal.owner";
// An owner mark is "<run> <index> <item>", the item only when the whole mark
// stays this short: ext4 (256-byte inodes) and XFS keep a short attribute
// inside the inode, so 500 million marks cost no extra disk blocks.
constexpr size_t kMaxOwnerMark = 64;

// The run's identity in owner marks: its directory's device and inode, which
// a resume, a retry and a renamed run directory keep, and a new run has not.
std::string RunTag(const std::string& run_dir) {
  struct stat st;
  if (::stat(run_dir.c_str(), &st) != 0) return "";
  char tag[40];
  std::snprintf(tag, sizeof tag, "%llx:%llx", static_cast<unsigned long long>(st.st_dev),
                static_cast<unsigned long long>(st.st_ino));
  return tag;
}

}  // namespace

Result<OutputFile> CreateOutputFile(const std::string& run_dir, std::string_view path) {
  Result<OutputPlace> place = PlaceOutputFile(run_dir, path, {});
  if (!place.ok()) return place.status();
  Result<UniqueFd> fd = OpenOutputFile(*place, place->name, run_dir + "/" + place->rel);
  if (!fd.ok()) return fd.status();
  OutputFile file;
  file.fd = std::move(fd).value();
  file.rel = std::move(place->rel);
  return file;
}

Result<PendingOutputFile> CreatePendingOutputFile(const std::string& run_dir, std::string_view path,
                                                  uint64_t index, std::string_view tree,
                                                  std::string_view item) {
  Result<OutputPlace> place = PlaceOutputFile(run_dir, path, tree);
  if (!place.ok()) return place.status();
  PendingOutputFile file;
  file.temp_ = "." + place->name + ".shoal-tmp-" + std::to_string(index);
  file.where_ = place->rel.starts_with('/') ? place->rel : run_dir + "/" + place->rel;
  Result<UniqueFd> fd = OpenOutputFile(*place, file.temp_, file.where_);
  if (!fd.ok()) return fd.status();
  file.fd = std::move(fd).value();
  file.index_ = index;
  file.run_tag_ = RunTag(run_dir);
  if (!file.run_tag_.empty()) {
    std::string mark = file.run_tag_ + " " + std::to_string(index);
    if (mark.size() + 1 + item.size() <= kMaxOwnerMark) mark.append(" ").append(item);
    // Without user extended attributes the file has no owner: replaced as
    // rename(2) would (see the header).
    if (::fsetxattr(file.fd.get(), kOwnerAttr, mark.data(), mark.size(), 0) != 0) {
      file.run_tag_.clear();
    }
  }
  file.dir_ = std::move(place->dir);
  file.name_ = std::move(place->name);
  file.rel = std::move(place->rel);
  return file;
}

bool IsLeftoverTemporary(std::string_view name) {
  constexpr std::string_view kMark = ".shoal-tmp-";
  const size_t mark = name.rfind(kMark);
  if (name.size() < 2 || name[0] != '.' || mark == std::string_view::npos || mark < 2) return false;
  std::string_view index = name.substr(mark + kMark.size());
  return !index.empty() && index.find_first_not_of("0123456789") == std::string_view::npos;
}

PendingOutputFile::~PendingOutputFile() {
  if (dir_.valid()) ::unlinkat(dir_.get(), temp_.c_str(), 0);
}

std::string PendingOutputFile::Displaced() const {
  // O_NONBLOCK: a FIFO planted at the name must not hang the open.
  UniqueFd old(::openat(dir_.get(), temp_.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!old.valid()) return "";  // a symlink (replaced as rename(2) replaces it) or gone
  struct stat st;
  if (::fstat(old.get(), &st) == 0 && S_ISDIR(st.st_mode)) return where_ + " is a directory";
  char mark[kMaxOwnerMark + 1];
  const ssize_t n = ::fgetxattr(old.get(), kOwnerAttr, mark, sizeof mark);
  if (n <= 0) return "";  // not written as an item's output file
  std::string_view owner(mark, static_cast<size_t>(n));
  if (!owner.starts_with(run_tag_ + " ")) return "";  // another run's
  owner.remove_prefix(run_tag_.size() + 1);
  const size_t space = owner.find(' ');
  const std::string_view index = owner.substr(0, space);
  if (index == std::to_string(index_)) return "";  // this item's own, from before
  std::string who = "item " + std::string(index);
  if (space != std::string_view::npos) who += " ('" + std::string(owner.substr(space + 1)) + "')";
  return where_ + " is already the output of " + who +
         " of this run; two items may not share an output file: make command.stdout_path tell "
         "them apart (e.g. with {index}), or list each item once";
}

Status PendingOutputFile::Commit() {
  if (!dir_.valid()) return Status::Error("nothing to commit for " + where_);
  // The same directory fd on both sides: the rename cannot be redirected by
  // a symlink planted on the path since the file was created.
  const int d = dir_.get();
  if (::renameat2(d, temp_.c_str(), d, name_.c_str(), RENAME_NOREPLACE) == 0) {
    dir_.Reset();
    return Status::Ok();
  }
  if (errno == EEXIST && !run_tag_.empty()) {
    // Swapped rather than checked first, so that two items committing the
    // same name at once cannot both see it free: whatever stood there is
    // looked at after it moved out of the way, and put back if it stays.
    // One swap at a time in the directory (flock, across workers; a dead
    // worker's lock goes with it): two items swapping with the same name
    // while a third owns it could put back each other's file and leave the
    // owner's as a temporary, removed.
    std::optional<Status> decided;
    while (::flock(d, LOCK_EX) != 0 && errno == EINTR) {
    }
    if (::renameat2(d, temp_.c_str(), d, name_.c_str(), RENAME_NOREPLACE) == 0) {
      decided = Status::Ok();  // the name was freed while this waited for the lock
    } else if (::renameat2(d, temp_.c_str(), d, name_.c_str(), RENAME_EXCHANGE) == 0) {
      const std::string refused = Displaced();
      if (refused.empty()) {
        ::unlinkat(d, temp_.c_str(), 0);
        decided = Status::Ok();
      } else {
        ::renameat2(d, temp_.c_str(), d, name_.c_str(), RENAME_EXCHANGE);
        decided = Status::Error(refused);
      }
    }
    ::flock(d, LOCK_UN);
    if (decided.has_value()) {
      if (decided->ok()) dir_.Reset();
      return *decided;
    }
  }
  // No marks, or a file system without these flags: rename(2) replaces.
  if (::renameat(d, temp_.c_str(), d, name_.c_str()) != 0) {
    return Status::FromErrno("cannot rename the temporary file to " + where_, errno);
  }
  dir_.Reset();
  return Status::Ok();
}

Status CreateOutDir(const std::string& run_dir, std::string_view out, std::string_view tree) {
  // `out` is built by FillItemPaths from a normalized {rel}, but ItemPaths is
  // a plain struct: check again here, where the directory is made.
  std::string base = tree.empty() ? run_dir + "/out" : std::string(tree);
  if (out.substr(0, base.size()) != base || (out.size() > base.size() && out[base.size()] != '/')) {
    return Status::Error("{out} " + std::string(out) + " is not inside " + base);
  }
  std::vector<std::string_view> below = SplitComponents(out.substr(base.size()));
  for (std::string_view c : below) {
    if (c == "." || c == "..") {
      return Status::Error("{out} " + std::string(out) + " is not normalized");
    }
  }
  if (!tree.empty()) {
    Result<UniqueFd> dir = OpenTreeSubdir(base, below);
    return dir.ok() ? Status::Ok() : dir.status();
  }
  below.insert(below.begin(), "out");
  Result<UniqueFd> dir = OpenRunSubdir(run_dir, below);
  return dir.ok() ? Status::Ok() : dir.status();
}

Status CheckOutputTree(const std::string& tree, bool create) {
  if (tree.empty()) return Status::Ok();
  const std::string what = "output.tree '" + tree + "'";
  // The nearest directory that exists must let us make (or write in) the tree.
  std::string existing = tree;
  struct stat st;
  while (::stat(existing.c_str(), &st) != 0) {
    if (errno != ENOENT)
      return Status::FromErrno("cannot look at " + what, errno, StatusCode::kUsage);
    size_t slash = existing.rfind('/');
    existing = slash == 0 || slash == std::string::npos ? "/" : existing.substr(0, slash);
  }
  const bool missing = existing != tree;
  if (!S_ISDIR(st.st_mode)) {
    return Status::Error(what +
                         (missing ? " cannot be created: '" + existing + "' is not a directory"
                                  : " is not a directory") +
                         "; set output.tree to a directory, or \"\" for the run's out/");
  }
  if (::access(existing.c_str(), W_OK | X_OK) != 0) {
    return Status::Error(
        what +
        (missing ? " does not exist and cannot be created in '" + existing + "' (not writable)"
                 : " is not writable") +
        "; give it write permission or set another output.tree");
  }
  if (!missing || !create) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(tree, ec);
  if (ec) return Status::Error(what + " cannot be created: " + ec.message());
  return Status::Ok();
}

}  // namespace shoal
