// Where items come from: a walked directory tree or a list file, streamed.
// A source is read lazily, one item at a time, so memory does not grow with
// the number of items; the master pulls only as fast as the rings have room.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/settings.h"

namespace shoal {

struct Item {
  // 1-based, increasing: a tree's position in the walk; a list's line (or
  // record) number, so not dense (master/list_reader.h).
  uint64_t index = 0;
  std::string text;  // the item exactly as read (tree: path relative to input.path)
  // Non-empty when this one item is bad (e.g. a line over the length limit):
  // it fails with this reason and the run goes on.
  std::string error;
};

// A source's warnings between two TakeWarnings() calls: at most `max` are
// kept, later ones only counted and reported as one line, so that a tree of
// a million unreadable directories cannot fill memory with messages.
class BoundedWarnings {
 public:
  explicit BoundedWarnings(size_t max) : max_(max) {}
  void Add(std::string message);
  // The kept warnings, oldest first, then "N more warnings like these were
  // not kept" if any were dropped; empties the list.
  std::vector<std::string> Take();

 private:
  size_t max_;
  std::vector<std::string> kept_;
  uint64_t dropped_ = 0;
};

class ItemSource {
 public:
  virtual ~ItemSource() = default;
  // Fills *item and returns true, or returns false at the end of the input
  // or on an error that stops the input (then status() says why).
  virtual bool Next(Item* item) = 0;
  virtual Status status() const = 0;
  // Items produced so far; the total once done() is true.
  virtual uint64_t seen() const = 0;
  virtual bool done() const = 0;
  // Problems that did not stop the input, oldest first, each returned once
  // ("cannot read directory 'a/b': Permission denied"); the master logs them.
  // A source keeps a bounded number between calls, so call it now and then.
  virtual std::vector<std::string> TakeWarnings() { return {}; }
  // Non-empty, and saying why, once the input has ended without delivering
  // all of itself while read() saw no error: a list file truncated while it
  // was read. The items it did deliver run; the run then ends with exit 1,
  // since it cannot know what it missed. The source warns of it too.
  virtual std::string Incomplete() const { return {}; }
  // For inputs that arrive over time (a pipe, a terminal): true when the
  // next Next() would wait for the writer, and the fd to watch until it is
  // readable. The master then waits in epoll rather than in read(), so it
  // goes on draining results and hears signals while the producer is slow.
  // (A record the writer left half-written can still block, briefly.)
  virtual bool WouldBlock() { return false; }
  // A list's header record (input.header, input.skip_header), read now if
  // it is not yet (standard input: this waits for its first line); nullptr
  // when there is none. A read error is status().
  virtual const std::string* Header() { return nullptr; }
  virtual int WaitFd() const { return -1; }
};

// The source for a job: a tree walker or a list reader per settings.input
// (kind "auto": a directory is a tree, anything else a list; "-" is stdin).
// With items_file non-empty, items come from that list file instead, in the
// input's own form (tree: paths relative to input.path).
Result<std::unique_ptr<ItemSource>> OpenItemSource(const Settings& settings,
                                                   const std::string& items_file);

// Kind "auto" resolved against the file system: kTree or kList.
Result<InputKind> ResolveInputKind(const InputSettings& input);

}  // namespace shoal
