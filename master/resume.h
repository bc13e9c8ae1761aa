// Resume: finish an interrupted run in its own directory. The records on
// disk say which items are done (succeeded or failed); everything else runs.
// Memory is one bit per input position, not one entry per item.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/load.h"
#include "config/settings.h"
#include "master/item_source.h"
#include "master/master.h"
#include "master/run_dir.h"
#include "master/run_state.h"

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
  uint64_t never_ran = 0;   // of the failed: ones that cannot run again (CanRunAgain)
  uint64_t duplicates = 0;  // records for an index seen before (should be 0)
  uint64_t torn = 0;        // torn last lines (cut by RepairRunRecords)
  // The sum of RecordTerm(index, item) over the recorded items: the input
  // must give the same sum at the same positions (CheckRecordedInput).
  uint64_t digest = 0;
  LineScan results, errors;  // what RepairRunRecords cuts
  LineScan times;            // times.tsv, for the sha256 handler's results.tsv
};

// One item's part of RunRecords::digest: a sum of these does not depend on
// the order of the records (completion order), so the whole input is checked
// in one streaming pass with no memory per item.
uint64_t RecordTerm(uint64_t index, std::string_view item);
// The same from ItemHash(item): all a record of output.records = "failures" keeps.
uint64_t HashedRecordTerm(uint64_t index, uint64_t item_hash);

// Reads results.jsonl / results.tsv and errors.jsonl of a run directory and
// checks every one of the run's files, changing nothing: each line must be
// a record (a torn last line is only noted), and no file may be a symlink or
// anything but a regular file.
Result<RunRecords> ReadRunRecords(const std::string& run_dir, const Settings& settings);

// Calls on_record(key, ok) for every record of the run (duplicates
// included), reading the files ReadRunRecords checked.
Status ForEachRecord(const std::string& run_dir, const Settings& settings,
                     const std::function<void(const RecordKey&, bool)>& on_record);

// Once everything is checked: cuts the torn last lines, and rebuilds
// failed.txt from errors.jsonl (failed.txt is derived: a master killed between
// the two writes leaves it short).
Status RepairRunRecords(const std::string& run_dir, const Settings& settings,
                        const RunRecords& records);

// failed.txt as FormatFailure writes it, from errors.jsonl: written beside
// it, synced and renamed over it, so a crash leaves the old list or the new.
Status RebuildFailedList(const std::string& run_dir, const Settings& settings);

// Files of the run that resume and retry append to or replace without
// reading them: they too must be regular files (or missing), never symlinks.
Status CheckRegularOrMissing(const std::string& path);

// RUN_DIR as resume and retry use it: absolute, normalized, symlinks
// resolved. Commands run in another directory (command.cwd) and workers
// write {out} beneath it, so a relative path would point elsewhere there.
std::string ResolveRunDir(const std::string& run_dir);

// shoal resume RUN_DIR: the run's exit status, as RunJob. A run whose
// retry did not finish (run.json "retrying") finishes that retry, unless
// it is a Slurm retry not joined yet (its job directory is in
// retries/K/): its shards may be running those items, so resume refuses
// with a usage error, unless `force` (the job was cancelled).
Result<int> ResumeJob(const std::string& run_dir, const std::vector<Override>& overrides,
                      RunOptions options, bool force = false);

// The job directory of a Slurm retry of run_dir that has begun and is not
// joined yet (retries/K/*-slurm with run.json retrying and not ended), or "".
std::string PendingSlurmRetry(const std::string& run_dir, const RunState& state);

// Removes the temporary files of command.stdout = "file"
// (".NAME.shoal-tmp-INDEX") that a killed worker left in the run directory
// and in output.tree, and says how many on stderr unless quiet. Run before
// anything runs again.
Status RemoveLeftoverTemporaries(const std::string& run_dir, const Settings& settings, bool quiet);

// The common start of resume and retry: the run's settings (overrides
// applied) and its run.json (an older run without one reads as ended).
Status OpenRunDir(const std::string& run_dir, const std::vector<Override>& overrides,
                  Settings* settings, RunState* state);

}  // namespace shoal
