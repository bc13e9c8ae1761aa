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
  uint64_t torn = 0;        // torn last lines (cut by RepairRunRecords)
  // The sum of RecordTerm(index, item) over the recorded items: the input
  // must give the same sum at the same positions (CheckRecordedInput).
  uint64_t digest = 0;
  LineScan results, errors;  // what RepairRunRecords cuts
};

// FNV-1a of the item text: what identifies an item beside its index.
uint64_t ItemHash(std::string_view item);
// One item's part of RunRecords::digest: a sum of these does not depend on
// the order of the records (completion order), so the whole input is checked
// in one streaming pass with no memory per item.
uint64_t RecordTerm(uint64_t index, std::string_view item);

// Reads results.jsonl / results.tsv and errors.jsonl of a run directory and
// checks every one of the run's files, changing nothing: each line must be
// a record (a torn last line is only noted), and no file may be a symlink or
// anything but a regular file.
Result<RunRecords> ReadRunRecords(const std::string& run_dir, const Settings& settings);

// Calls on_record(index, item, ok) for every record of the run (duplicates
// included), reading the files ReadRunRecords checked.
Status ForEachRecord(const std::string& run_dir, const Settings& settings,
                     const std::function<void(uint64_t, std::string_view, bool)>& on_record);

// Once everything is checked: cuts the torn last lines, and rebuilds
// failed.txt from errors.jsonl (failed.txt is derived: a master killed between
// the two writes leaves it short).
Status RepairRunRecords(const std::string& run_dir, const Settings& settings,
                        const RunRecords& records);

// RUN_DIR as resume and retry use it: absolute, normalized, symlinks
// resolved. Commands run in another directory (command.cwd) and workers
// write {out} beneath it, so a relative path would point elsewhere there.
std::string ResolveRunDir(const std::string& run_dir);

// shoal resume RUN_DIR: the run's exit status, as RunJob. A run whose
// retry did not finish (run.json "retrying") finishes that retry.
Result<int> ResumeJob(const std::string& run_dir, const std::vector<Override>& overrides,
                      RunOptions options);

// shoal retry RUN_DIR: runs the failed items of an ended run again in its
// own directory, each with its original index, so that afterwards the run
// directory holds every item's latest outcome exactly once.
//
// Retry N first moves the failure records aside, crash-safely:
//   1. retries/N.tmp/errors.jsonl (the failed records that can run again)
//      and failed.txt are written and synced, the directory renamed to
//      retries/N;
//   2. errors.jsonl.retry (the failed records that stay: items the input
//      could not deliver whole, which have no text to run) is written whole;
//   3. run.json says retries = N, retrying = true: the commit point;
//   4. errors.jsonl.retry is renamed over errors.jsonl, failed.txt rebuilt.
// A crash before 3 leaves leftovers that the next retry or resume removes
// (nothing changed); after 3, resume redoes 4 if it is still to do and runs
// the items of retries/N/errors.jsonl that have no record yet. New outcomes
// are appended to the run's own records; run.json's retrying goes back to
// false once every one of them has one.
Result<int> RetryJob(const std::string& run_dir, const std::vector<Override>& overrides,
                     RunOptions options);

// The items of a retry: the records of retries/N/errors.jsonl, in file
// order, each with its recorded index and exact item bytes; records without
// an item (which cannot run again) are passed over. Streamed.
Result<std::unique_ptr<ItemSource>> OpenRetryItems(const std::string& path);

// Removes the temporary files of command.stdout = "file"
// (".NAME.shoal-tmp-INDEX") that a killed worker left in the run directory
// and in output.tree; *removed counts them. Run before anything runs again.
Status RemoveLeftoverTemporaries(const std::string& run_dir, const Settings& settings,
                                 uint64_t* removed);

}  // namespace shoal
