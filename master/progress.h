// Where a run is, for the people watching it. On a terminal: one live line on
// stderr, redrawn a few times a second and erased at the end. Elsewhere (a
// batch job's log): a plain status line every output.status_every. The master
// owns one ProgressDisplay and calls Tick from its event loop; next_due_ns()
// goes into the loop's wait timeout, so nothing here ever waits or spins.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "master/item_source.h"

namespace shoal {

struct ProgressCounts {
  uint64_t done = 0;         // finished items, ok or failed (with those recorded before a resume)
  uint64_t failed = 0;       // of those, failed
  uint64_t seen = 0;         // items read from the input so far
  bool total_known = false;  // the input is read to its end: `seen` is the total
  double rate = 0;           // items per second, recently
  double elapsed_s = 0;      // since this run started
  // The most frequent failure reason of this run and how many had it; ""
  // when none failed. The live line shows it beside the failed count.
  std::string top_reason;
  uint64_t top_reason_count = 0;
};

// "12s", "2m05s", "1h02m", "3d04h".
std::string FormatSeconds(double seconds);

// For log.txt and a non-terminal stderr:
//   "1234 done, 3 failed, 3766 remaining, 250 items/s, elapsed 12s, ETA 15s"
// While the input is still being read the total is not known:
//   "1234 done, 3 failed, ? remaining (1300 read so far), 250 items/s, elapsed 12s, ETA ?"
std::string FormatStatusLine(const ProgressCounts& c);

// The live line, at most width - 1 columns (the last column would wrap on some
// terminals), for example
//   "[#######.............] 1234/5000 24% | 3 failed | 250/s | 12s | ETA 15s"
// with failures, the top reason beside their count:
//   "[####.........] 1234/5000 24% | 3 failed (exit 1 x2) | 250/s | 12s | ETA 15s"
//   "1234 done, seen 1300 | 3 failed | 250/s | 12s"
std::string FormatLiveLine(const ProgressCounts& c, int width);

// Items per second over about the last minute, or since the start while
// fewer than kMinItems items finished in that window (slow items would
// otherwise show as 0/s between completions). Fixed size.
class RateMeter {
 public:
  static constexpr uint64_t kSampleEveryNs = 1'000'000'000;
  static constexpr uint64_t kMinItems = 10;
  explicit RateMeter(uint64_t start_ns) : start_ns_(start_ns) {}
  // `finished`: items finished so far, never decreasing. Keeps one sample a second.
  void Add(uint64_t now_ns, uint64_t finished);
  double Rate(uint64_t now_ns, uint64_t finished) const;

 private:
  struct Sample {
    uint64_t ns;
    uint64_t finished;
  };
  uint64_t start_ns_;
  std::array<Sample, 60> ring_{};
  size_t size_ = 0, next_ = 0;
};

// Counts the input ahead of the run with a second source over it, so that
// progress shows a total and an ETA long before the run has read that far
// (the run reads its input only as fast as workers take items). Stepped in
// small time slices from the master's loop when it would otherwise sleep.
// Gives up past max_items (a huge tree is not walked twice) or on an error.
class InputCounter {
 public:
  InputCounter(std::unique_ptr<ItemSource> source, uint64_t max_items)
      : source_(std::move(source)), max_items_(max_items) {}
  // Counts for about budget_ns at most, and stops sooner once `yield()` says
  // so (asked every few dozen items); false once there is nothing more to do.
  bool Step(uint64_t budget_ns, const std::function<bool()>& yield = nullptr);
  bool active() const { return source_ != nullptr; }
  // Counted to the end of the input: total() is the number of items.
  bool finished() const { return finished_; }
  uint64_t total() const { return count_; }

 private:
  std::unique_ptr<ItemSource> source_;  // released when done or given up
  uint64_t max_items_;
  uint64_t count_ = 0;
  bool finished_ = false;
};

enum class ProgressMode { kOff, kLive, kLines };

// --progress (flag 1) forces the live line, --no-progress (0) turns it off;
// by default (-1) it is on when stderr is a terminal and -q is not given.
// Without the live line, status lines are printed unless -q.
ProgressMode ChooseProgressMode(int flag, bool quiet, bool stderr_is_terminal);

class ProgressDisplay {
 public:
  static constexpr uint64_t kRedrawEveryNs = 250'000'000;

  // lines_every_ns: the status-line interval of kLines (0 = never).
  ProgressDisplay(ProgressMode mode, int fd, uint64_t lines_every_ns, uint64_t start_ns);
  ProgressDisplay(const ProgressDisplay&) = delete;
  ProgressDisplay& operator=(const ProgressDisplay&) = delete;

  ProgressMode mode() const { return mode_; }
  // When the next Tick has something to do (monotonic ns); UINT64_MAX = never.
  uint64_t next_due_ns() const { return next_due_ns_; }
  // Redraws the live line or prints a status line, if due.
  void Tick(uint64_t now_ns, const ProgressCounts& c);
  // Erases the live line ("\r" and erase-to-end-of-line) so that other
  // output starts on a clean line; the next due Tick draws it again.
  void Clear();

 private:
  void Write(std::string_view text);
  int Width() const;

  ProgressMode mode_;
  int fd_;
  uint64_t every_ns_;
  uint64_t next_due_ns_;
  bool drawn_ = false;
  std::string line_;
};

}  // namespace shoal
