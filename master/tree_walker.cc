#include "master/tree_walker.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <new>
#include <string_view>
#include <utility>

#include "master/threads.h"

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

// A subdirectory read by a reader thread before the walk enters it. The walk
// fills the request and queues it; a reader fills the rest and sets `read`;
// the walk looks at the rest only once `read` is set (under mu_).
struct TreeWalker::ReadAhead {
  std::shared_ptr<UniqueFd> parent;  // kept open until the read is done
  std::string name;                  // in parent
  std::string path;                  // relative to input.path
  size_t level = 0;                  // the stack level it will take
  size_t index = 0;                  // its entry in the parent's list
  bool read = false;
  bool forgotten = false;  // dropped by the walk while being read

  int open_err = 0;
  int require_err = 0;  // select = dirs with `require`: 0 = found
  int identify_err = 0;
  int read_err = 0;
  std::shared_ptr<UniqueFd> fd;
  dev_t dev = 0;
  ino_t ino = 0;
  std::string names;
  std::vector<Entry> entries;
  Hidden hidden;

  // A reader ran out of descriptors or memory: the walk tries again itself.
  bool ShortOfResources() const {
    return IsResourceError(open_err) || IsResourceError(require_err) ||
           IsResourceError(identify_err) || IsResourceError(read_err);
  }
};

void TreeWalker::Hidden::Add(std::string entry) {
  if (count++ == 0 || entry < example) example = std::move(entry);
}

TreeWalker::TreeWalker(const InputSettings& input, Hooks hooks)
    : root_(input.path),
      select_(input.select),
      max_depth_(!input.recursive ? 1 : std::max(input.max_depth, 0)),
      follow_links_(input.follow_links),
      hidden_(input.hidden),
      walk_threads_(std::max(input.walk_threads, 1)),
      require_(input.require),
      hooks_(std::move(hooks)),
      dents_(new char[kDentsBytes]) {}

TreeWalker::~TreeWalker() {
  StopReaders();
}

Result<std::unique_ptr<TreeWalker>> TreeWalker::Open(const InputSettings& input,
                                                     std::vector<LeftOut> left_out, Hooks hooks) {
  std::unique_ptr<TreeWalker> w(new TreeWalker(input, std::move(hooks)));
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
  w->stack_[0].fd = std::make_shared<UniqueFd>(std::move(fd));
  w->depth_ = 1;
  int err = w->Identify(0);
  if (err == 0) err = w->ReadDir(0);
  if (err != 0) {
    return Status::FromErrno("cannot read directory '" + input.path + "'", err, StatusCode::kUsage);
  }
  if (w->walk_threads_ > 1) {
    w->StartReaders(w->walk_threads_);
    if (!w->readers_.empty()) w->QueueChildren(0);
  }
  return w;
}

int TreeWalker::Identify(size_t level) {
  struct stat st;
  if (::fstat(stack_[level].fd->get(), &st) != 0) return errno;
  stack_[level].dev = st.st_dev;
  stack_[level].ino = st.st_ino;
  return 0;
}

int TreeWalker::ReadDir(size_t level) {
  Dir& d = stack_[level];
  d.next = 0;
  bool has_dirs = false;
  const int err = ReadEntries(d.fd->get(), level, path_, dents_.get(), &d.names, &d.entries,
                              &has_dirs, &hidden_left_out_);
  if (err != 0) return err;
  // The fd is needed only to open subdirectories.
  if (!has_dirs || (level >= kKeepFdDepth && level % kKeepFdEvery != 0)) d.fd.reset();
  return 0;
}

int TreeWalker::ReadEntries(int fd, size_t level, const std::string& path, char* dents,
                            std::string* names_out, std::vector<Entry>* entries, bool* has_dirs,
                            Hidden* hidden) const {
  std::string& names_buf = *names_out;
  names_buf.clear();
  entries->clear();
  struct stat st;

  // Entries of this directory are at depth level + 1. Keep only what can
  // become an item or lead to one.
  const bool want_files = select_ == Select::kFiles;
  const bool want_dirs = select_ == Select::kDirs || CanDescend(level + 1);
  for (;;) {
    ssize_t n = ::getdents64(fd, dents, kDentsBytes);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    for (ssize_t off = 0; off < n;) {
      const auto* de = reinterpret_cast<const struct dirent64*>(dents + off);
      off += de->d_reclen;
      const char* name = de->d_name;
      if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
      unsigned char type = de->d_type;
      if (type == DT_UNKNOWN || (type == DT_LNK && follow_links_)) {
        // Some file systems (and all symlinks we follow) need a stat.
        int flags = follow_links_ ? 0 : AT_SYMLINK_NOFOLLOW;
        if (::fstatat(fd, name, &st, flags) != 0) continue;  // gone, or a dangling link
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
        hidden->Add(path.empty() ? std::string(name, len) : path + "/" + name);
        continue;
      }
      *has_dirs |= kind == kDir;
      entries->push_back({SortKey(name, len), static_cast<uint32_t>(names_buf.size()),
                          static_cast<uint16_t>(len), kind});
      names_buf.append(name, len + 1);
    }
  }
  const char* names = names_buf.data();
  // Byte order. Names hold no NUL, so comparing the zero-padded keys as
  // numbers is comparing their first 8 bytes; only equal keys need the rest.
  std::sort(entries->begin(), entries->end(), [names](const Entry& a, const Entry& b) {
    if (a.key != b.key) return a.key < b.key;
    return std::string_view(names + a.name, a.len) < std::string_view(names + b.name, b.len);
  });
  return 0;
}

int TreeWalker::OpenChild(const char* name) {
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_links_ ? 0 : O_NOFOLLOW);
  const Dir& parent = stack_[depth_ - 1];
  if (parent.fd) return ::openat(parent.fd->get(), name, flags);
  size_t level = depth_ - 1;
  while (!stack_[level].fd) --level;  // the root always has one
  return ::openat(stack_[level].fd->get(), path_.c_str() + stack_[level].prefix, flags);
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
    StopReaders();
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

bool TreeWalker::Refused(dev_t dev, ino_t ino) {
  // A directory already open on the current path: a symlink or bind mount
  // loop. Entering it would never end; find -L skips it too.
  size_t loop = 0;
  while (loop < depth_ && (stack_[loop].dev != dev || stack_[loop].ino != ino)) ++loop;
  if (loop < depth_) {
    Warn("not entering '" + path_ + "': a file system loop back to '" +
         (loop == 0 ? root_ : path_.substr(0, stack_[loop].prefix - 1)) + "'");
    return true;
  }
  // A left-out directory reached by another name (a followed link).
  return !left_out_.empty() && LeftOutHere(true, dev, ino);
}

bool TreeWalker::EnterReadAhead(ReadAhead& ra, bool* want) {
  if (ra.open_err != 0) {
    *want = *want && require_.empty();  // as Next: a directory all the same
    return DirFailed("cannot read directory", ra.open_err);
  }
  if (*want && !require_.empty() && ra.require_err != 0) {
    *want = false;
    if (ra.require_err != ENOENT && ra.require_err != ENOTDIR) {
      if (!DirFailed(("cannot look for '" + require_ + "' in").c_str(), ra.require_err)) {
        return false;
      }
    }
  }
  if (ra.identify_err != 0) return DirFailed("cannot read directory", ra.identify_err);
  if (Refused(ra.dev, ra.ino)) {
    *want = false;  // as Next: neither entered nor an item
    return true;
  }
  // Counted only now, as if the walk had read it here.
  if (ra.hidden.count > 0) {
    if (hidden_left_out_.count == 0 || ra.hidden.example < hidden_left_out_.example) {
      hidden_left_out_.example = std::move(ra.hidden.example);
    }
    hidden_left_out_.count += ra.hidden.count;
  }
  if (ra.read_err != 0) return DirFailed("cannot read directory", ra.read_err);
  if (depth_ == stack_.size()) stack_.emplace_back();
  Dir& child = stack_[depth_];
  child.fd = std::move(ra.fd);
  child.dev = ra.dev;
  child.ino = ra.ino;
  // Swapped, so that the level's old buffers are freed with the read-ahead.
  child.names.swap(ra.names);
  child.entries.swap(ra.entries);
  child.next = 0;
  path_ += '/';
  child.prefix = path_.size();
  ++depth_;
  QueueChildren(depth_ - 1);
  return true;
}

bool TreeWalker::Next(Item* item) {
  if (done_) return false;
  while (depth_ > 0) {
    Dir& d = stack_[depth_ - 1];
    if (d.next == d.entries.size()) {
      d.fd.reset();
      // A huge directory should not pin its buffers for the rest of the walk.
      if (d.names.capacity() > (size_t{1} << 20)) {
        std::string().swap(d.names);
        std::vector<Entry>().swap(d.entries);
      }
      if (!readers_.empty()) DropQueued(depth_ - 1);
      --depth_;
      continue;
    }
    const size_t index = d.next++;
    const Entry e = d.entries[index];
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

    if (descend && !readers_.empty()) {
      std::shared_ptr<ReadAhead> ra = TakeReadAhead(depth_ - 1, index);
      if (ra && !ra->ShortOfResources()) {
        const size_t len = path_.size();
        if (!EnterReadAhead(*ra, &want)) return false;
        if (!want) continue;
        Emit(len, item);
        return true;
      }
    }

    if (descend && hooks_.before_read) hooks_.before_read(path_);
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
      child.fd = std::make_shared<UniqueFd>(std::move(fd));
      int err = Identify(depth_);
      if (err == 0 && Refused(child.dev, child.ino)) {
        child.fd.reset();
        continue;
      }
      if (err == 0) err = ReadDir(depth_);
      if (err != 0) {
        // Its contents are lost to the walk (and said so); the directory
        // itself, already checked for `require`, can still be an item.
        child.fd.reset();
        if (!DirFailed("cannot read directory", err)) return false;
      } else {
        path_ += '/';
        child.prefix = path_.size();
        ++depth_;
        if (!readers_.empty()) QueueChildren(depth_ - 1);
      }
    }
    if (!want) continue;
    Emit(len, item);
    return true;
  }
  done_ = true;
  StopReaders();
  if (hidden_left_out_.count > 0) {
    Warn("left out " + std::to_string(hidden_left_out_.count) +
         " hidden entries (names that start with '.', input.hidden = false), e.g. '" +
         hidden_left_out_.example + "'; a hidden directory's contents were not walked");
  }
  return false;
}

void TreeWalker::StartReaders(int n) {
  cap_ = kReadAheadPerThread * n;  // before any reader reads it
  for (int i = 0; i < n; ++i) {
    // A thread that cannot start (a limit on threads) is not worth a crash:
    // fewer readers read ahead less, and with none the walk reads each
    // directory itself.
    Result<std::thread> reader = StartThread([this] { ReaderLoop(); }, "reads directories ahead");
    if (!reader.ok()) {
      Warn(reader.status().message() + "; the walk goes on with " + std::to_string(i) + " of " +
           std::to_string(n) + " readers (input.walk_threads)");
      return;
    }
    readers_.push_back(std::move(*reader));
  }
}

void TreeWalker::StopReaders() {
  if (readers_.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    ahead_.clear();
    started_.clear();
  }
  work_cv_.notify_all();
  for (std::thread& t : readers_) t.join();
  readers_.clear();
}

void TreeWalker::ReaderLoop() {
  std::unique_ptr<char[]> dents(new (std::nothrow) char[kDentsBytes]);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    // The deepest level's queue first: its directories come next in the walk.
    std::shared_ptr<ReadAhead> ra;
    work_cv_.wait(lock, [&] {
      if (stop_) return true;
      if (held_dirs_ >= read_ahead_cap() || held_entries_ >= kReadAheadEntries) return false;
      for (size_t level = ahead_.size(); level-- > 0;) {
        if (started_[level] < ahead_[level].size()) {
          ra = ahead_[level][started_[level]++];
          return true;
        }
      }
      return false;
    });
    if (stop_) return;
    ++held_dirs_;
    lock.unlock();
    // Out of memory here is not the end: the walk reads the directory itself.
    try {
      if (!dents) throw std::bad_alloc();
      ReadAheadOf(*ra, dents.get());
    } catch (const std::bad_alloc&) {
      ra->read_err = ENOMEM;
    }
    lock.lock();
    ra->read = true;
    if (ra->forgotten) {
      --held_dirs_;
      work_cv_.notify_one();
    } else {
      held_entries_ += ra->entries.size();
      read_cv_.notify_one();
    }
  }
}

void TreeWalker::ReadAheadOf(ReadAhead& ra, char* dents) const {
  if (hooks_.before_read) hooks_.before_read(ra.path);
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow_links_ ? 0 : O_NOFOLLOW);
  UniqueFd fd(::openat(ra.parent->get(), ra.name.c_str(), flags));
  ra.parent.reset();
  if (!fd.valid()) {
    ra.open_err = errno;
    return;
  }
  struct stat st;
  if (select_ == Select::kDirs && !require_.empty() &&
      ::fstatat(fd.get(), require_.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    ra.require_err = errno;
  }
  if (::fstat(fd.get(), &st) != 0) {
    ra.identify_err = errno;
    return;
  }
  ra.dev = st.st_dev;
  ra.ino = st.st_ino;
  bool has_dirs = false;
  ra.read_err = ReadEntries(fd.get(), ra.level, ra.path, dents, &ra.names, &ra.entries, &has_dirs,
                            &ra.hidden);
  // As ReadDir: the fd is kept only to open subdirectories.
  if (ra.read_err == 0 && has_dirs && !(ra.level >= kKeepFdDepth && ra.level % kKeepFdEvery != 0)) {
    ra.fd = std::make_shared<UniqueFd>(std::move(fd));
  }
}

void TreeWalker::QueueChildren(size_t level) {
  const Dir& d = stack_[level];
  // Its entries are at depth level + 1; without an fd no child can be opened
  // from it directly, and the walk opens them itself.
  if (!d.fd || !CanDescend(level + 1)) return;
  std::deque<std::shared_ptr<ReadAhead>> queue;
  std::string path;
  for (size_t i = 0; i < d.entries.size(); ++i) {
    const Entry& e = d.entries[i];
    if (e.type != kDir) continue;
    const char* name = d.names.data() + e.name;
    path.assign(path_, 0, d.prefix);
    path.append(name, e.len);
    // The tests Next makes before it opens the directory; those after are
    // made on the read-ahead when it is taken.
    if (!exclude_.empty() && exclude_.Matches(path, true)) continue;
    bool left_out = false;
    for (const LeftOutDir& l : left_out_) left_out |= path == l.dir.path;
    if (left_out) continue;
    auto ra = std::make_shared<ReadAhead>();
    ra->parent = d.fd;
    ra->name.assign(name, e.len);
    ra->path = path;
    ra->level = level + 1;
    ra->index = i;
    queue.push_back(std::move(ra));
  }
  if (queue.empty()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ahead_.size() <= level) {
      ahead_.resize(level + 1);
      started_.resize(level + 1);
    }
    ahead_[level] = std::move(queue);
    started_[level] = 0;
  }
  work_cv_.notify_all();
}

std::shared_ptr<TreeWalker::ReadAhead> TreeWalker::TakeReadAhead(size_t level, size_t index) {
  std::unique_lock<std::mutex> lock(mu_);
  if (level >= ahead_.size()) return nullptr;
  std::deque<std::shared_ptr<ReadAhead>>& queue = ahead_[level];
  // Entries before `index` were all taken (the walk makes the same tests as
  // QueueChildren); the loop only keeps the counts right if one was not.
  while (!queue.empty() && queue.front()->index <= index) {
    std::shared_ptr<ReadAhead> ra = std::move(queue.front());
    queue.pop_front();
    if (started_[level] == 0) {
      if (ra->index == index) return nullptr;  // no reader has it: the walk reads it now
      continue;
    }
    --started_[level];
    if (ra->index != index) {
      Forget(*ra);
      continue;
    }
    read_cv_.wait(lock, [&] { return ra->read; });
    --held_dirs_;
    held_entries_ -= ra->entries.size();
    lock.unlock();
    work_cv_.notify_one();
    return ra;
  }
  return nullptr;
}

void TreeWalker::Forget(ReadAhead& ra) {
  if (!ra.read) {
    ra.forgotten = true;  // its reader lets go of it
  } else {
    --held_dirs_;
    held_entries_ -= ra.entries.size();
  }
  work_cv_.notify_all();
}

void TreeWalker::DropQueued(size_t level) {
  std::lock_guard<std::mutex> lock(mu_);
  if (level >= ahead_.size()) return;
  // Normally empty: the walk takes every directory it queued.
  std::deque<std::shared_ptr<ReadAhead>>& queue = ahead_[level];
  for (size_t i = 0; i < started_[level]; ++i) Forget(*queue[i]);
  queue.clear();
  started_[level] = 0;
}

}  // namespace shoal
