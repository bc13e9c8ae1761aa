#include "master/tree_walker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string_view>

namespace shoal {

namespace {

// Big enough that most directories come in one getdents64 call.
constexpr size_t kDentsBytes = 128 * 1024;

// Every directory on the path keeps its fd while its subdirectories are
// walked, so a child opens relative to its parent in one step. Past this depth
// only every kKeepFdEvery-th level keeps one and the others are opened by a
// short relative path from the nearest open ancestor: a tree as deep as
// PATH_MAX allows still needs only a few hundred fds.
constexpr size_t kKeepFdDepth = 64;
constexpr size_t kKeepFdEvery = 8;

// Out of descriptors or memory: skipping the directory would lose its items
// without a trace, so the walk stops instead.
bool IsResourceError(int err) {
  return err == EMFILE || err == ENFILE || err == ENOMEM;
}

uint64_t SortKey(const char* name, size_t len) {
  unsigned char bytes[8] = {};
  memcpy(bytes, name, std::min<size_t>(len, 8));
  uint64_t key = 0;
  for (unsigned char b : bytes) key = (key << 8) | b;
  return key;
}

}  // namespace

TreeWalker::TreeWalker(const InputSettings& input)
    : root_(input.path),
      select_(input.select),
      max_depth_(!input.recursive ? 1 : std::max(input.max_depth, 0)),
      follow_links_(input.follow_links),
      hidden_(input.hidden),
      require_(input.require),
      dents_(new char[kDentsBytes]) {}

Result<std::unique_ptr<TreeWalker>> TreeWalker::Open(const InputSettings& input,
                                                     std::vector<LeftOut> left_out) {
  std::unique_ptr<TreeWalker> w(new TreeWalker(input));
  Result<GlobSet> include = GlobSet::Compile(input.include, "input.include");
  if (!include.ok()) return include.status();
  Result<GlobSet> exclude = GlobSet::Compile(input.exclude, "input.exclude");
  if (!exclude.ok()) return exclude.status();
  w->include_ = std::move(include).value();
  w->exclude_ = std::move(exclude).value();

  // The root itself may be a symlink: the user named it.
  UniqueFd fd(::open(input.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT) {
      return Status::Error("input.path '" + input.path +
                           "' does not exist; set input.path in settings.toml or pass -i PATH");
    }
    if (err == ENOTDIR) {
      return Status::Error("input.path '" + input.path +
                           "' is not a directory; a tree input walks a directory (input.kind)");
    }
    return Status::FromErrno("cannot read directory '" + input.path + "'", err, StatusCode::kUsage);
  }
  for (LeftOut& dir : left_out) {
    LeftOutDir d{std::move(dir)};
    struct stat st;
    if (::fstatat(fd.get(), d.dir.path.c_str(), &st, 0) == 0 && S_ISDIR(st.st_mode)) {
      d.dev = st.st_dev;
      d.ino = st.st_ino;
      d.known = true;
    }
    w->left_out_.push_back(std::move(d));
  }
  w->stack_.emplace_back();
  w->stack_[0].fd = std::move(fd);
  w->depth_ = 1;
  int err = w->Identify(0);
  if (err == 0) err = w->ReadDir(0);
  if (err != 0) {
    return Status::FromErrno("cannot read directory '" + input.path + "'", err, StatusCode::kUsage);
  }
  return w;
}

int TreeWalker::Identify(size_t level) {
  struct stat st;
  if (::fstat(stack_[level].fd.get(), &st) != 0) return errno;
  stack_[level].dev = st.st_dev;
  stack_[level].ino = st.st_ino;
  return 0;
}

int TreeWalker::ReadDir(size_t level) {
  Dir& d = stack_[level];
  d.names.clear();
  d.entries.clear();
  d.next = 0;
  struct stat st;

  // Entries of this directory are at depth level + 1. Keep only what can
  // become an item or lead to one.
  const bool want_files = select_ == Select::kFiles;
  const bool want_dirs = select_ == Select::kDirs || CanDescend(level + 1);
  bool has_dirs = false;
  for (;;) {
    ssize_t n = ::getdents64(d.fd.get(), dents_.get(), kDentsBytes);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* de = reinterpret_cast<const struct dirent64*>(dents_.get() + off);
      off += de->d_reclen;
      const char* name = de->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      unsigned char type = de->d_type;
      if (type == DT_UNKNOWN || (type == DT_LNK && follow_links_)) {
        // Some file systems (and all symlinks we follow) need a stat.
        int flags = follow_links_ ? 0 : AT_SYMLINK_NOFOLLOW;
        if (::fstatat(d.fd.get(), name, &st, flags) != 0) continue;  // gone, or a dangling link
        type = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : DT_UNKNOWN;
      }
      EntryType kind;
      if (type == DT_REG && want_files) {
        kind = kFile;
      } else if (type == DT_DIR && want_dirs) {
        kind = kDir;
      } else {
        continue;
      }
      const size_t len = strlen(name);
      if (name[0] == '.' && !hidden_) {
        // The example is the first in byte order, so that log.txt does not
        // depend on the order getdents64 returns.
        std::string entry = path_.empty() ? std::string(name, len) : path_ + "/" + name;
        if (hidden_left_out_++ == 0 || entry < hidden_example_) hidden_example_ = std::move(entry);
        continue;
      }
      has_dirs |= kind == kDir;
      d.entries.push_back({SortKey(name, len), static_cast<uint32_t>(d.names.size()),
                           static_cast<uint16_t>(len), kind});
      d.names.append(name, len + 1);
    }
  }
  const char* names = d.names.data();
  // Byte order. Names hold no NUL, so comparing the zero-padded keys as
  // numbers is comparing their first 8 bytes; only equal keys need the rest.
  std::sort(d.entries.begin(), d.entries.end(), [names](const Entry& a, const Entry& b) {
    if (a.key != b.key) return a.key < b.key;
    return std::string_view(names + a.name, a.len) < std::string_view(names + b.name, b.len);
  });
  // The fd is needed only to open subdirectories.
  if (!has_dirs || (level >= kKeepFdDepth && level % kKeepFdEvery != 0)) d.fd.Reset();
  return 0;
}

int TreeWalker::OpenChild(const char* name) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_links_ ? 0 : O_NOFOLLOW);
  const Dir& parent = stack_[depth_ - 1];
  if (parent.fd.valid()) return ::openat(parent.fd.get(), name, flags);
  size_t level = depth_ - 1;
  while (!stack_[level].fd.valid()) --level;  // the root always has one
  return ::openat(stack_[level].fd.get(), path_.c_str() + stack_[level].prefix, flags);
}

void TreeWalker::Warn(std::string message) {
  warnings_.Add(std::move(message));
}

std::vector<std::string> TreeWalker::TakeWarnings() {
  return warnings_.Take();
}

bool TreeWalker::DirFailed(const char* what, int err) {
  Status s = Status::FromErrno(std::string(what) + " '" + path_ + "'", err);
  if (IsResourceError(err)) {
    status_ = Status::Error(s.message() + "; the walk stops here (raise `ulimit -n`?)");
    done_ = true;
    return false;
  }
  Warn(s.message());
  return true;
}

bool TreeWalker::LeftOutHere(bool identified, dev_t dev, ino_t ino) {
  for (LeftOutDir& d : left_out_) {
    bool same = path_ == d.dir.path || (identified && d.known && dev == d.dev && ino == d.ino);
    if (!same) continue;
    if (!d.said) {
      d.said = true;
      Warn("left out of the walk: '" + path_ + "'" +
           (path_ == d.dir.path ? "" : ", the same directory as '" + d.dir.path + "'") + ": " +
           d.dir.why);
    }
    return true;
  }
  return false;
}

void TreeWalker::Emit(size_t len, Item* item) {
  item->text.assign(path_.data(), len);
  item->error.clear();
  item->index = ++seen_;
}

bool TreeWalker::Next(Item* item) {
  if (done_) return false;
  while (depth_ > 0) {
    Dir& d = stack_[depth_ - 1];
    if (d.next == d.entries.size()) {
      d.fd.Reset();
      // A huge directory should not pin its buffers for the rest of the walk.
      if (d.names.capacity() > (size_t{1} << 20)) {
        std::string().swap(d.names);
        std::vector<Entry>().swap(d.entries);
      }
      --depth_;
      continue;
    }
    const Entry e = d.entries[d.next++];
    const char* name = d.names.data() + e.name;
    const size_t entry_depth = depth_;
    path_.resize(d.prefix);
    path_.append(name, e.len);

    if (e.type == kFile) {
      if (!exclude_.empty() && exclude_.Matches(path_, false)) continue;
      if (!include_.empty() && !include_.Matches(path_, false)) continue;
      Emit(path_.size(), item);
      return true;
    }

    if (!exclude_.empty() && exclude_.Matches(path_, true)) continue;  // pruned
    if (!left_out_.empty() && LeftOutHere(false, 0, 0)) continue;
    const bool descend = CanDescend(entry_depth);
    bool want = select_ == Select::kDirs && (include_.empty() || include_.Matches(path_, true));
    if (!descend && !(want && !require_.empty())) {
      if (!want) continue;
      Emit(path_.size(), item);
      return true;
    }

    UniqueFd fd(OpenChild(name));
    if (!fd.valid()) {
      if (!DirFailed("cannot read directory", errno)) return false;
      // It is a directory all the same; only `require` needs to look inside.
      if (!want || !require_.empty()) continue;
      Emit(path_.size(), item);
      return true;
    }
    if (want && !require_.empty()) {
      struct stat st;
      if (::fstatat(fd.get(), require_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
        const int err = errno;
        want = false;
        if (err != ENOENT && err != ENOTDIR) {
          if (!DirFailed(("cannot look for '" + require_ + "' in").c_str(), err)) return false;
        }
      }
    }
    const size_t len = path_.size();
    if (descend) {
      if (depth_ == stack_.size()) stack_.emplace_back();
      Dir& child = stack_[depth_];  // `d` may have moved
      child.fd = std::move(fd);
      int err = Identify(depth_);
      // A directory already open on the current path: a symlink or bind
      // mount loop. Entering it would never end; find -L skips it too.
      size_t loop = 0;
      while (err == 0 && loop < depth_ &&
             (stack_[loop].dev != child.dev || stack_[loop].ino != child.ino)) {
        ++loop;
      }
      if (err == 0 && loop < depth_) {
        child.fd.Reset();
        Warn("not entering '" + path_ + "': a file system loop back to '" +
             (loop == 0 ? root_ : path_.substr(0, stack_[loop].prefix - 1)) + "'");
        continue;
      }
      // A left-out directory reached by another name (a followed link).
      if (err == 0 && !left_out_.empty() && LeftOutHere(true, child.dev, child.ino)) {
        child.fd.Reset();
        continue;
      }
      if (err == 0) err = ReadDir(depth_);
      if (err != 0) {
        // Its contents are lost to the walk (and said so); the directory
        // itself, already checked for `require`, can still be an item.
        child.fd.Reset();
        if (!DirFailed("cannot read directory", err)) return false;
      } else {
        path_ += '/';
        child.prefix = path_.size();
        ++depth_;
      }
    }
    if (!want) continue;
    Emit(len, item);
    return true;
  }
  done_ = true;
  if (hidden_left_out_ > 0) {
    Warn("left out " + std::to_string(hidden_left_out_) +
         " hidden entries (names that start with '.', input.hidden = false), e.g. '" +
         hidden_example_ + "'; a hidden directory's contents were not walked");
  }
  return false;
}

}  // namespace shoal
