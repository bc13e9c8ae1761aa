// shoal slurm: one job run as a Slurm job array, one shard of the input per
// array task, and a merge job that runs once every task has ended. Slurm does
// the scheduling; each task is an ordinary 'shoal run' master on its node,
// which takes its shard from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT.
//
// The job directory, <output.dir>/<job.name>-<stamp>-slurm/ (job.name with
// any character but [A-Za-z0-9._-] made '_', for #SBATCH --output):
//   settings.toml   the effective settings, frozen when the job is written
//                   (output.dir = its shards/, input.shard empty)
//   shards.sbatch   the array 0..N-1, each task 'shoal run settings.toml'
//   merge.sbatch    'shoal merge shards/*/ -o merged'
//   submit.sh       sbatch of the array, then of the merge job with
//                   --dependency=afterany:<array job>; jobs.txt gets both ids
//   shards/         a run directory per shard (<name>-<stamp>-shard-K-of-N)
//   merged/         the merged run directory, once the merge job has run
//   shard-K.out, merge.out   what Slurm captured of each task's output
// Paths in the scripts are absolute: shoal, the job directory, the settings,
// the input and output.dir must be seen at the same path on every node.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/cli.h"
#include "config/settings.h"

namespace shoal {

struct SlurmJob {
  std::string shoal;  // absolute path of the shoal binary that the tasks run
  std::string dir;    // the job directory, absolute
  std::string name;   // --job-name: job.name with only [A-Za-z0-9._-]
  int shards = 1;
  std::string partition;
  std::string time;
  int cpus_per_task = 0;
  std::vector<std::string> sbatch_args;  // each becomes an "#SBATCH ARG" line
  // 'shoal retry RUN --shards N': RUN, whose retry in progress the tasks run
  // ('shoal retry RUN --shard K/N') and the merge job joins into RUN.
  std::string retry_of;
};

// #SBATCH lines are read by sbatch, not by a shell: no quoting, so a path
// in one (--output) can have no space or quote.
bool SafeForDirective(const std::string& s);

// Where the merge job writes: <dir>/merged, or the retried run itself.
std::string MergedDir(const SlurmJob& job);

// The scripts' text, from the job alone (no file system access).
std::string ShardsScript(const SlurmJob& job);
std::string MergeScript(const SlurmJob& job);
std::string SubmitScript(const SlurmJob& job);

// Makes the job directory under settings.output.dir and writes the frozen
// settings.toml and the three scripts. `settings` must have no input.shard.
// With --cpus-per-task C and job.workers = 0, each shard runs C workers.
// For a retry (retry_of = RUN), output.dir is RUN/retries/K and the frozen
// settings are also written there, where the tasks' 'shoal retry' reads them.
Result<SlurmJob> WriteSlurmJob(const Settings& settings, const SlurmCommandLine& options,
                               const std::string& shoal_binary, const std::string& retry_of = "");

// The absolute path of the running executable (/proc/self/exe).
Result<std::string> SelfExecutable();

// What sbatch said: the job ids. "12" of "12;cluster".
struct SubmittedJob {
  std::string array_id;
  std::string merge_id;
};

// Runs what submit.sh runs (sbatch of the array, then of the merge job) and
// writes jobs.txt.
Result<SubmittedJob> SubmitSlurmJob(const SlurmJob& job);

// Waits until the merge job has ended (polling scontrol every second), and
// returns its exit status: 0 all items ok, 1 some failed, 2 merge refused;
// 3 when the job ended otherwise (cancelled, timed out, node failure).
int WaitForMergeJob(const SlurmJob& job, const std::string& merge_id);

// shoal slurm, and shoal retry --shards: writes the job, submits it with
// options.submit, waits with options.wait. Returns the exit status, or the error that kept it from
// submitting.
Result<int> RunSlurmJob(const Settings& settings, const SlurmCommandLine& options, bool quiet,
                        const std::string& retry_of = "");

}  // namespace shoal
