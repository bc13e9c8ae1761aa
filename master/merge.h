// shoal merge: the run directories of one job's shards become one run
// directory, as if one machine had run the whole input: results, errors.jsonl
// and failed.txt of every shard, a log.txt with each shard's summary line and
// the total, and a settings.toml without input.shard, so that 'shoal retry'
// on the merged directory runs every failed item again, anywhere.
//
// Nothing is written unless the shards fit together: the same settings
// (input.shard, output.dir and job.workers may differ), each shard 0..N-1
// exactly once, and every shard finished (its run.json says it ended with
// exit status 0 or 1; an interrupted shard must be resumed first, or its
// unfinished items would be lost from the failed list). Records are copied
// as they are; a record whose index another record already has (an item in
// two shards) is kept and reported, never silently dropped. The files
// records point to (out/, spill/, logs/) are linked in beside them; the
// shards are left as they are. The merged directory gets a run.json of its
// own, written last: ended, with the merge's exit status and counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace shoal {

struct MergeReport {
  std::string dir;  // the merged run directory
  uint32_t shards = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;
  // Records whose index an earlier record (of another shard, or the same one)
  // had already; with examples such as
  // "item 17 \"d/f.bin\": shard 0 (ok), shard 2 (failed)".
  uint64_t duplicates = 0;
  std::vector<std::string> duplicate_examples;
  // Files under the shards' out/, spill/ and logs/ (what records name in
  // output_file, and item logs), linked (or, across file systems, copied)
  // into the merged directory at the same path; a path that two shards both
  // have keeps the first shard's file and is counted here.
  uint64_t files = 0;
  uint64_t file_conflicts = 0;
  std::vector<std::string> file_conflict_examples;
  int exit_code = 0;  // 0 every item succeeded, 1 some failed
  // A join of a retry's shards: their records that the run had already (a
  // join run again), and the retry's items that still have no record.
  uint64_t already_joined = 0;
  uint64_t unjoined = 0;
};

// Merges `run_dirs` (the run directories of shards) into `out_dir`, which is
// created and must not exist or be empty. Shards of a retry
// ('shoal retry RUN --shards N', run.json "retry_of") join RUN instead, in
// place, and `out_dir` must name RUN: their records that RUN lacks are
// appended to RUN's (its records stay; after the retry's split it has none
// for the retried items), their out/, spill/ and logs/ files replace RUN's
// at the same paths, failed.txt is rebuilt from errors.jsonl, and, synced,
// run.json says the retry ended. Run again after a crash, it gives the same
// result. An error means nothing was merged
// (exit status 2); its message names the directory and what to do.
Result<MergeReport> MergeShards(const std::vector<std::string>& run_dirs,
                                const std::string& out_dir);

}  // namespace shoal
