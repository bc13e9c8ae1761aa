// Retry: the failed items of an ended run run again in its own directory,
// so that it stays the one place that holds every item's latest outcome.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/cli.h"
#include "config/load.h"
#include "config/settings.h"
#include "master/item_source.h"
#include "master/master.h"
#include "master/run_state.h"

namespace shoal {

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
//
// The sha256 handler's results.tsv (sha256sum's format) has its indices in
// times.tsv (master/run_dir.h), so such a run is retried in place as well.
Result<int> RetryJob(const std::string& run_dir, const std::vector<Override>& overrides,
                     RunOptions options);

// shoal retry RUN_DIR --shards N: steps 1 to 4 as above, then a Slurm job
// (master/slurm.h) in retries/K/<name>-<stamp>-slurm/ whose array tasks each
// run 'shoal retry RUN_DIR --shard I/N', and whose merge job,
// 'shoal merge <the shards> -o RUN_DIR', joins them into RUN_DIR
// (master/merge.h). The settings of the shards (overrides and
// --cpus-per-task applied) are frozen in retries/K/settings.toml.
Result<int> RetryOnSlurmJob(const std::string& run_dir, const std::vector<Override>& overrides,
                            const SlurmCommandLine& slurm, bool quiet);

// shoal retry RUN_DIR --shard I/N: shard I of the retry in progress of
// RUN_DIR, in a new run directory under output.dir: the items of
// retries/K/errors.jsonl whose text hashes to I (master/shard.h), each with
// its index in RUN_DIR. Its run.json names RUN_DIR (retry_of) and K, so
// that resume finishes it and merge joins it into RUN_DIR.
Result<int> RetryShardJob(const std::string& run_dir, const std::vector<Override>& overrides,
                          RunOptions options);

// The items of a retry: the records of retries/N/errors.jsonl, in file
// order, each with its recorded index and exact item bytes; records without
// an item (which cannot run again) are passed over. Streamed.
Result<std::unique_ptr<ItemSource>> OpenRetryItems(const std::string& path);

// For resume, on a run whose run.json says a retry began:
// Leftovers of a retry that never reached its commit point (retries/K.tmp,
// retries/K beyond run.json's count, errors.jsonl.retry when no retry is in
// progress) are removed; none holds the only copy of a record.
Status RemoveUncommittedRetry(const std::string& run_dir, const RunState& state);
// Step 4 above, if it is still to do.
Status FinishRetrySplit(const std::string& run_dir);
// The run goes on with the items of retry state.retries that have no
// record yet (of state.retry_of's retry, for a shard of one).
Result<int> RunRetryItems(const std::string& run_dir, const Settings& settings,
                          const RunState& state, RunOptions options);
// retries/K/errors.jsonl of run_dir, K = state.retries.
std::string RetryItemsPath(const std::string& run_dir, const RunState& state);

}  // namespace shoal
