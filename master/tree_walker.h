// TreeWalker: the items of a directory tree, walked lazily, depth first.
//
// Each directory's entries are read (getdents64) and sorted in byte order when
// the walk enters it, so the order is deterministic and memory is bounded by
// depth x widest directory, never by the size of the tree. Items are paths
// relative to input.path ("d01/f003.bin"), without a leading "./"; a selected
// directory comes before its contents.
//
// What is selected (settings.input):
//   select = files   regular files; symlinks to files only with follow_links
//   select = dirs    directories below input.path (not input.path itself);
//                    with `require`, only those holding an entry of that name
//   recursive, max_depth   depth 1 = the entries of input.path itself
//   include          an item must match one of them (if any); directories are
//                    still descended into when they do not match
//   exclude          drops an item; an excluded directory is not entered
//   follow_links     false: symlinks are neither followed nor listed.
//                    true: followed, and a directory already open on the
//                    current path (same st_dev, st_ino) is not entered again.
//   hidden           false: entries whose name starts with '.' are neither
//                    items nor entered; how many were left out is a warning
//                    at the end of the walk, never silent.
// A directory given to Open as left out (the run's own output.dir) is neither
// entered nor an item, and a warning says so the first time it is met.
// Other kinds of file (sockets, fifos, devices) are never items.
//
// A directory that cannot be read is skipped with a warning (TakeWarnings) and
// the walk goes on; running out of file descriptors or memory stops it with a
// status instead, since going on would silently lose items.
//
// Syscalls: one open, two or more getdents64 and a close per directory, plus
// one fstat for loop detection; no stat per entry unless the file system gives
// no d_type or links are followed.
//
// Reading ahead (input.walk_threads = N > 1): on network or FUSE storage each
// directory read waits a round trip, so one directory in flight walks at
// 1/latency directories a second. N reader threads open, read and sort the
// directories the walk will enter next, in the order it will enter them: the
// subdirectories of the deepest directory on the path first, in byte order,
// then those of its parent, and so on up; never a breadth-first flood. The
// walk itself (Next, on the caller's thread) still decides everything in
// today's order: selection, loops, left-out directories, warnings and hidden
// counts are taken from a read-ahead directory only when the walk enters it,
// so the items and warnings are the same, in the same order, for any N. When
// the directory it needs is not being read yet, the walk reads it itself;
// when it is being read, the walk waits on a condition variable. At most
// kReadAheadPerThread x N directories (and about kReadAheadEntries entries)
// are read and not yet entered, each holding one descriptor; a reader that
// hits a resource error (EMFILE, ENOMEM) leaves that directory to the walk,
// which retries it itself and stops with a status if it fails again.
// Threads, not io_uring: the kernel has no getdents opcode for io_uring (and
// openat alone in a ring would leave the round trip that matters, the read,
// synchronous). The readers are joined when the walk ends and in ~TreeWalker.
// Only what a child needs is read ahead: a directory one level below one the
// walk has entered; a chain of single directories gains nothing.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "common/status.h"
#include "config/settings.h"
#include "master/glob.h"
#include "master/item_source.h"

namespace shoal {

class TreeWalker : public ItemSource {
 public:
  // A directory the walk leaves out: `path` relative to input.path, matched
  // by name and, when it exists at Open, by identity (reached by a link).
  // `why` ends the warning.
  struct LeftOut {
    std::string path;
    std::string why;
  };

  // A seam for tests: before_read(path) runs, on whichever thread reads it,
  // before a directory below input.path (path relative to it) is opened to
  // be entered. It may block, to stand for slow storage.
  struct Hooks {
    std::function<void(const std::string& path)> before_read;
  };

  // Opens and reads input.path. Fails, naming it, when it is missing, not a
  // directory or unreadable, or when a glob does not compile.
  static Result<std::unique_ptr<TreeWalker>> Open(const InputSettings& input,
                                                  std::vector<LeftOut> left_out = {},
                                                  Hooks hooks = {});
  ~TreeWalker() override;

  TreeWalker(const TreeWalker&) = delete;
  TreeWalker& operator=(const TreeWalker&) = delete;

  bool Next(Item* item) override;
  Status status() const override { return status_; }
  uint64_t seen() const override { return seen_; }
  bool done() const override { return done_; }
  std::vector<std::string> TakeWarnings() override;

  // At most this many warnings wait for TakeWarnings; later ones are counted.
  static constexpr size_t kMaxPendingWarnings = 1000;
  // Directories read ahead and not yet entered, per reader thread.
  static constexpr size_t kReadAheadPerThread = 4;
  // No reader starts another directory while this many entries wait.
  static constexpr size_t kReadAheadEntries = size_t{1} << 18;
  // The most directories read (or being read) ahead and not yet entered.
  size_t read_ahead_cap() const { return cap_; }

 private:
  enum EntryType : uint8_t { kFile = 1, kDir = 2 };
  struct Entry {
    uint64_t key;   // the name's first 8 bytes, big-endian, zero-padded: sorts most pairs alone
    uint32_t name;  // offset into Dir::names, NUL-terminated
    uint16_t len;
    EntryType type;
  };
  // Hidden entries left out of the directories read (input.hidden = false).
  struct Hidden {
    uint64_t count = 0;
    std::string example;  // the first in byte order
    void Add(std::string entry);
  };
  // One directory on the current path. Dirs are reused level by level, so
  // their buffers are allocated once per depth, not once per directory.
  // The fd is shared with the readers that open its subdirectories.
  struct Dir {
    std::shared_ptr<UniqueFd> fd;  // closed early when no longer needed (see kKeepFdDepth)
    size_t prefix = 0;             // its entries' paths start with path_[0, prefix)
    std::string names;
    std::vector<Entry> entries;
    size_t next = 0;
    dev_t dev = 0;
    ino_t ino = 0;
  };

  struct ReadAhead;

  TreeWalker(const InputSettings& input, Hooks hooks);
  // Sets stack_[level]'s dev and ino from its open fd; 0 or an errno.
  int Identify(size_t level);
  // Reads and sorts the entries of stack_[level], whose fd is open; 0 or an errno.
  int ReadDir(size_t level);
  // Reads and sorts the entries of the directory `fd`, `path`, which would be
  // stack_[level]; safe on any thread (reads only the settings).
  int ReadEntries(int fd, size_t level, const std::string& path, char* dents, std::string* names,
                  std::vector<Entry>* entries, bool* has_dirs, Hidden* hidden) const;
  // True, with a warning, when the directory dev, ino about to be entered at
  // path_ must not be: a loop back to the path, or a left-out directory.
  bool Refused(dev_t dev, ino_t ino);
  // Enters the read-ahead directory of the entry at path_ (the outcome of
  // its open, require, identify and read, as Next would have met them).
  // Sets *want false when `require` is missing; false when the walk stops.
  bool EnterReadAhead(ReadAhead& ra, bool* want);

  // Reader threads: the walk queues, the readers read, the walk takes.
  void StartReaders(int n);
  void StopReaders();
  void ReaderLoop();
  void ReadAheadOf(ReadAhead& ra, char* dents) const;
  // Queues the subdirectories of stack_[level] that the walk will try to enter.
  void QueueChildren(size_t level);
  // The read-ahead of entry `index` of stack_[level], once read; null when
  // there is none or no reader had started it (the walk reads it itself).
  std::shared_ptr<ReadAhead> TakeReadAhead(size_t level, size_t index);
  // Forgets what is queued for stack_[level]'s subdirectories.
  void DropQueued(size_t level);
  // Lets go of a started read-ahead that the walk will not take; under mu_.
  void Forget(ReadAhead& ra);
  // Opens a subdirectory of the top directory, named by path_[top.prefix..].
  int OpenChild(const char* name);
  bool CanDescend(size_t entry_depth) const {
    return max_depth_ == 0 || entry_depth < static_cast<size_t>(max_depth_);
  }
  void Warn(std::string message);
  // Records a failure on path_; false when it must stop the walk.
  bool DirFailed(const char* what, int err);
  void Emit(size_t len, Item* item);
  // True, with a warning the first time, when path_ is left out, or (with
  // `identified`) the directory dev, ino is.
  bool LeftOutHere(bool identified, dev_t dev, ino_t ino);

  std::string root_;
  Select select_;
  int max_depth_;  // 0 = unlimited; recursive = false makes it 1
  bool follow_links_;
  bool hidden_;
  int walk_threads_;
  std::string require_;
  GlobSet include_;
  GlobSet exclude_;

  Hooks hooks_;
  std::vector<Dir> stack_;  // [0, depth_) is the current path, stack_[0] the root
  size_t depth_ = 0;
  std::string path_;               // relative path of the entry being looked at
  std::unique_ptr<char[]> dents_;  // getdents64 buffer, shared by all levels

  struct LeftOutDir {
    LeftOut dir;
    dev_t dev = 0;
    ino_t ino = 0;
    bool known = false;  // dev and ino are set
    bool said = false;
  };
  std::vector<LeftOutDir> left_out_;
  Hidden hidden_left_out_;  // input.hidden = false: entries not taken

  // Guarded by mu_: ahead_[level] holds the queued subdirectories of
  // stack_[level] in walk order, its first started_[level] taken by readers.
  std::mutex mu_;
  std::condition_variable work_cv_;  // readers: something to read, or stop
  std::condition_variable read_cv_;  // the walk: a read-ahead is done
  std::vector<std::deque<std::shared_ptr<ReadAhead>>> ahead_;
  std::vector<size_t> started_;
  size_t held_dirs_ = 0;     // started and not yet taken or forgotten
  size_t held_entries_ = 0;  // their entries
  bool stop_ = false;
  size_t cap_ = 0;  // read_ahead_cap(), set before the readers start
  std::vector<std::thread> readers_;

  BoundedWarnings warnings_{kMaxPendingWarnings};
  uint64_t seen_ = 0;
  bool done_ = false;
  Status status_;
};

}  // namespace shoal
