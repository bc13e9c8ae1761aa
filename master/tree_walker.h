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
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
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

  // Opens and reads input.path. Fails, naming it, when it is missing, not a
  // directory or unreadable, or when a glob does not compile.
  static Result<std::unique_ptr<TreeWalker>> Open(const InputSettings& input,
                                                  std::vector<LeftOut> left_out = {});

  TreeWalker(const TreeWalker&) = delete;
  TreeWalker& operator=(const TreeWalker&) = delete;

  bool Next(Item* item) override;
  Status status() const override { return status_; }
  uint64_t seen() const override { return seen_; }
  bool done() const override { return done_; }
  std::vector<std::string> TakeWarnings() override;

  // At most this many warnings wait for TakeWarnings; later ones are counted.
  static constexpr size_t kMaxPendingWarnings = 1000;

 private:
  enum EntryType : uint8_t { kFile = 1, kDir = 2 };
  struct Entry {
    uint64_t key;   // the name's first 8 bytes, big-endian, zero-padded: sorts most pairs alone
    uint32_t name;  // offset into Dir::names, NUL-terminated
    uint16_t len;
    EntryType type;
  };
  // One directory on the current path. Dirs are reused level by level, so
  // their buffers are allocated once per depth, not once per directory.
  struct Dir {
    UniqueFd fd;        // closed early when no longer needed (see kKeepFdDepth)
    size_t prefix = 0;  // its entries' paths start with path_[0, prefix)
    std::string names;
    std::vector<Entry> entries;
    size_t next = 0;
    dev_t dev = 0;
    ino_t ino = 0;
  };

  explicit TreeWalker(const InputSettings& input);
  // Sets stack_[level]'s dev and ino from its open fd; 0 or an errno.
  int Identify(size_t level);
  // Reads and sorts the entries of stack_[level], whose fd is open; 0 or an errno.
  int ReadDir(size_t level);
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
  std::string require_;
  GlobSet include_;
  GlobSet exclude_;

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
  uint64_t hidden_left_out_ = 0;  // input.hidden = false: entries not taken
  std::string hidden_example_;    // the first of them

  BoundedWarnings warnings_{kMaxPendingWarnings};
  uint64_t seen_ = 0;
  bool done_ = false;
  Status status_;
};

}  // namespace shoal
