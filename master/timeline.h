// RUN_DIR/timeline.jsonl: the counters the master already keeps, sampled
// once a second, so that throughput, failures and how busy the workers were
// can be drawn over time (shoal report) without rebuilding them from a
// million records. One line a second whatever the number of items:
//
//   {"t":3.000,"unix_ms":1796180103123,"done":1200,"ok":1197,"failed":3,
//    "retried":1,"in_flight":16,"seen":1300,"busy":[1.000,0.981],"cpu_master_s":0.041,
//    "cpu_threads_s":0.002}
//
// t: seconds since this run (or resume) started; done/ok/failed: this
// run's records so far (a resume's earlier records not included); in_flight:
// items queued to or running on a worker; seen: items read from the input;
// busy: per worker slot, the share of the last interval it was running an
// item (at most 1, also for a handler with several calls in flight);
// cpu_master_s: the master's own CPU time so far, all its threads;
// cpu_threads_s: the part of it of the threads besides its loop (the walk
// of a tree ahead, the record writer). The master writes a last
// line when the run ends, so that a run shorter than a second has one too.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shoal {

inline constexpr char kTimelineFile[] = "timeline.jsonl";
// A merged run (shoal merge): each shard's timeline, as shard-K.jsonl.
inline constexpr char kShardTimelinesDir[] = "timelines";

struct TimelineSample {
  uint64_t done = 0, ok = 0, failed = 0, retried = 0, in_flight = 0, seen = 0;
  std::vector<double> busy;  // per worker slot, 0..1
  double cpu_master_s = 0;
  double cpu_threads_s = 0;
};

// When the next line is due, and its text. Time comes in as monotonic ns
// from the master's Clock, so a test drives it with a fake one.
class Timeline {
 public:
  static constexpr uint64_t kEveryNs = 1'000'000'000;
  explicit Timeline(uint64_t start_ns) : start_ns_(start_ns), next_due_ns_(start_ns + kEveryNs) {}
  uint64_t next_due_ns() const { return next_due_ns_; }
  bool Due(uint64_t now_ns) const { return now_ns >= next_due_ns_; }
  // Appends the line for `now_ns` to *out. The next one is due at the next
  // whole second after now: a master that woke late skips the seconds it
  // slept through rather than writing a burst of equal lines.
  void Append(uint64_t now_ns, int64_t unix_ms, const TimelineSample& s, std::string* out);

 private:
  uint64_t start_ns_;
  uint64_t next_due_ns_;
};

}  // namespace shoal
