// Running a job: the master process. One thread, one event loop (epoll over
// the wake eventfd, a signalfd and one pidfd per worker): it streams items
// into the workers' task rings only as fast as they have room, drains the
// results, logs and errors rings into the run directory, replaces workers
// that die and gives their items another attempt, and sleeps when there is
// nothing to do.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/settings.h"
#include "master/item_source.h"

namespace shoal {

struct RunRecords;

struct RunOptions {
  std::string items_file;  // run only these items (a failed.txt); "" = the input
  bool dry_run = false;
  int progress = -1;  // -1 auto, 0 off, 1 on
  bool quiet = false;
  int verbose = 0;
  // Resume: append to this run directory, skipping the recorded items.
  std::string resume_dir;
  std::shared_ptr<const RunRecords> resume;
  // 'shoal retry' completes resume_dir: the items come from retry_items (a
  // retries/N/errors.jsonl, each with its recorded index) instead of the
  // input. `retries` is what run.json counts; `retrying` says that retry
  // `retries` is in progress, and stays in run.json until it has finished.
  std::string retry_items;
  uint64_t retries = 0;
  bool retrying = false;
  // A shard of the retry of another run (RunState::retry_of): that run.
  // Without resume_dir, such a shard runs in a new run directory of its own.
  std::string retry_of;
  // The one-line form's ::: items, written to this temporary file (it is
  // input.path): once the run directory exists, the file moves into it as
  // input.txt and its settings.toml names it there, so that resume and
  // retry find the items as long as the run directory exists.
  std::string store_input;
  // How many items the command line gave (0 = not known, none): no more
  // workers start, in a run or a dry run.
  uint64_t stored_items = 0;
};

// Where store_input goes in the run directory.
inline constexpr char kStoredInputName[] = "input.txt";

// The exit statuses (main maps a Status's kind to the last two).
inline constexpr int kExitOk = 0;
inline constexpr int kExitItemsFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInternal = 3;

// What can be checked of the job itself before anything runs: the command's
// templates and a fixed command.cwd, or the plugin library. A failure is a
// bad setting (kUsage). `shoal check` runs it too.
Status CheckJob(const Settings& settings);

// What a run or a dry run reads: the resolved input kind, the items file
// (absolute; "" = the input itself) and the source.
struct JobInput {
  InputKind kind = InputKind::kList;
  std::string items;
  std::unique_ptr<ItemSource> source;
  // input.header: the names of the header's fields, for the effective
  // settings (input.field_names) the workers read; else empty.
  std::vector<std::string> field_names;
};
// Every check a run makes before it creates anything: the input (path, kind,
// globs, items file, shard), CheckJob, what its settings.toml must hold, and
// that a walk is not of output.dir itself. `shoal check` runs exactly this,
// so that check and run refuse alike. The source is opened, not read.
// (An output.dir that cannot be made is the system's refusal, found when
// the run makes it: exit 3.)
Result<JobInput> CheckJobInput(const Settings& settings, const RunOptions& options);
// CheckJobInput, then a tree's walk started on a thread of its own.
Result<JobInput> OpenJobInput(const Settings& settings, const RunOptions& options);

// Runs the job to its end and returns its exit status (kExitOk,
// kExitItemsFailed, kExitInternal for a run that failed part-way, 128 + the
// signal that interrupted it). A problem found before anything runs (missing
// input, bad template, a run directory that cannot be made) is the Status
// instead; no run directory is left then.
Result<int> RunJob(const Settings& settings, const RunOptions& options);

}  // namespace shoal
