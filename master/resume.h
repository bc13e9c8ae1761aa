// Resume: finish an interrupted run in its own directory. The records on
// disk say which items are done (succeeded or failed); everything else runs.
// Memory is one bit per input position, not one entry per item.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/load.h"
#include "config/settings.h"
#include "master/master.h"

namespace shoal {

// The set of input positions that already have a record.
class DoneSet {
 public:
  bool Contains(uint64_t index) const {
    uint64_t w = index / 64;
    return w < bits_.size() && (bits_[w] >> (index % 64) & 1) != 0;
  }
  // False if it was there already (a duplicate record).
  bool Add(uint64_t index);
  uint64_t count() const { return count_; }
  uint64_t max_index() const { return max_; }

 private:
  std::vector<uint64_t> bits_;
  uint64_t count_ = 0;
  uint64_t max_ = 0;
};

struct RunRecords {
  DoneSet done;
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t duplicates = 0;  // records for an index seen before (should be 0)
  uint64_t torn = 0;        // torn last lines dropped
  // Hash of the item text for the smallest recorded indices: checked against
  // the input before anything runs, so a changed input is refused early.
  std::map<uint64_t, uint64_t> sample;
};

// FNV-1a of the item text: what identifies an item beside its index.
uint64_t ItemHash(std::string_view item);

// Reads results.jsonl / results.tsv and errors.jsonl of a run directory.
// A torn last line (a master killed mid-write) is cut off the file so that
// appending continues on a line boundary.
Result<RunRecords> ReadRunRecords(const std::string& run_dir, const Settings& settings);

// RUN_DIR as resume and retry use it: absolute, normalized, symlinks
// resolved. Commands run in another directory (command.cwd) and workers
// write {out} beneath it, so a relative path would point elsewhere there.
std::string ResolveRunDir(const std::string& run_dir);

// shoal resume RUN_DIR: the run's exit status, as RunJob.
Result<int> ResumeJob(const std::string& run_dir, const std::vector<Override>& overrides,
                      RunOptions options);

}  // namespace shoal
