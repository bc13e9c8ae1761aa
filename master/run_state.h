// run.json: the state of a run as data, for the commands that act on a run
// directory (merge, slurm --wait, scripts with jq) instead of its log.txt,
// which is for people and free to change its words. One JSON object:
//
//   {"version":1,"shoal":"0.1.0","started":"2026-11-22T03:15:00.123Z",
//    "ended":true,"ended_at":"2026-11-22T03:16:40.007Z","exit_status":1,
//    "ok":998,"failed":2,"settings_sha256":"<64 hex>","workers":8}
//
//   ... ,"retries":1,"retrying":false}   once 'shoal retry' has run
//   ... ,"retries":1,"retrying":false,"retry_of":"/runs/x"}   a retry's shard
//   ... ,"halted":"1 failure reached job.halt = now,fail=1"}   a run job.halt stopped
//
// The master writes it when a run starts (ended false, exit_status and
// ended_at null) and again once the run's records are on disk (ended true).
// A resumed run rewrites it the same way: started is when the last run in
// the directory started, ok and failed count every record in the directory.
// `shoal merge` writes one for the merged run. Readers ignore keys they do
// not know; a change that older readers would misread bumps version.
//
// Named run.json because it describes the run its directory holds, beside
// settings.toml; JSON because jq and every scripting language read it as is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace shoal {

inline constexpr int kRunStateVersion = 1;
inline constexpr char kRunStateFile[] = "run.json";

struct RunState {
  std::string shoal;    // the version of the shoal that wrote it
  std::string started;  // UTC, "2026-11-22T03:15:00.123Z"
  bool ended = false;
  std::string ended_at;            // "" while the run has not ended (null)
  std::optional<int> exit_status;  // the run's exit status once ended (null before)
  uint64_t ok = 0;                 // records in results
  uint64_t failed = 0;             // records in errors.jsonl
  // Hex SHA-256 of the settings the run used: the bytes of its settings.toml
  // (a resume with -j or other overrides: of the settings with them applied).
  std::string settings_sha256;
  int workers = 0;  // 0 for a merge of shards with different job.workers
  // Retries of this run done in its own directory ('shoal retry'): how many
  // have begun (retry K's failed records are under retries/K/), and whether
  // the last one has not finished (then 'shoal resume' finishes it). Written
  // only once there has been one; absent means 0 and false.
  uint64_t retries = 0;
  bool retrying = false;
  // A shard of another run's retry ('shoal retry RUN --shard K/N', the tasks
  // of 'shoal retry RUN --shards N'): RUN, absolute, whose retries/<retries>
  // holds its items. 'shoal merge ... -o RUN' joins such shards into RUN.
  // Written only when set; absent means "".
  std::string retry_of;
  // Why job.halt (or job.max_failures) stopped the last run early, in
  // words; "" = it did not (absent).
  std::string halted;

  // A run of this shoal starting now with the settings `settings_toml` (the
  // text of its settings.toml) and the records already in its directory (a
  // resumed run's; 0 for a new run).
  static RunState Start(std::string_view settings_toml, int workers, uint64_t ok_records,
                        uint64_t failed_records);
  // The run ended now with exit status `status` and these counts in all.
  void End(int status, uint64_t ok_records, uint64_t failed_records);
  bool operator==(const RunState&) const = default;
};

// The JSON text of run.json, one line.
std::string FormatRunState(const RunState& state);

// Replaces <run_dir>/run.json atomically: a reader, or a crash at any point,
// sees the old file or the new one whole, never a mix. The new text is
// written to run.json.tmp beside it, fsync'd, renamed over run.json, and the
// directory fsync'd.
Status WriteRunState(const std::string& run_dir, const RunState& state);

// Reads <run_dir>/run.json. The error names the file and, for a directory
// without one, says so in words a caller can add its own fix to.
Result<RunState> ReadRunState(const std::string& run_dir);

// True when `run_dir` has no run.json at all (a run of an older shoal).
bool MissingRunState(const std::string& run_dir);

}  // namespace shoal
