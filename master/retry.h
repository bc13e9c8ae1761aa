// Retry: the failed items of an ended run run again in its own directory,
// so that it stays the one place that holds every item's latest outcome.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
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
Result<int> RetryJob(const std::string& run_dir, const std::vector<Override>& overrides,
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
// The run goes on with the items of retry `n` that have no record yet.
Result<int> RunRetryItems(const std::string& run_dir, const Settings& settings, uint64_t n,
                          RunOptions options);

}  // namespace shoal
