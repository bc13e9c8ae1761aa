#include "master/slurm.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/fd.h"
#include "common/shell_quote.h"
#include "common/timestamp.h"
#include "config/load.h"
#include "master/item_source.h"
#include "master/master.h"
#include "master/run_dir.h"
#include "master/run_state.h"
#include "master/supervisor.h"

extern char** environ;

namespace shoal {

namespace {

namespace fs = std::filesystem;

std::string ShellQuote(const std::string& s) {
  return ShellWords({s});
}

// job.name with only [A-Za-z0-9._-]: for --job-name and the job directory.
std::string PlainName(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    out += ok ? c : '_';
  }
  return out;
}

// The #SBATCH lines both scripts share.
std::string CommonDirectives(const SlurmJob& job) {
  std::string out;
  if (!job.partition.empty()) out += "#SBATCH --partition=" + job.partition + "\n";
  if (!job.time.empty()) out += "#SBATCH --time=" + job.time + "\n";
  for (const std::string& arg : job.sbatch_args) out += "#SBATCH " + arg + "\n";
  return out;
}

Status WriteFile(const std::string& path, const std::string& text, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) return Status::FromErrno("cannot write " + path, errno);
  return WriteAll(fd.get(), text, path);
}

struct Captured {
  int status = -1;  // exit status, 128 + signal
  std::string out;
};

// Runs argv (from PATH) with stdout captured, stderr passed through.
Result<Captured> RunCaptured(const std::vector<std::string>& argv) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  write_end.Reset();
  if (rc != 0) {
    if (rc == ENOENT) {
      return Status::Error(argv[0] + " not found: run this on a Slurm login node, or put " +
                           argv[0] + " on PATH");
    }
    return Status::FromErrno("cannot start " + argv[0], rc);
  }
  Captured c;
  char buf[4096];
  while (true) {
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    c.out.append(buf, static_cast<size_t>(n));
  }
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  c.status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  return c;
}

// "12" from sbatch --parsable's "12" or "12;cluster".
std::string JobId(const std::string& out) {
  std::string id = out.substr(0, out.find_first_of(";\n"));
  return !id.empty() && id.find_first_not_of("0123456789") == std::string::npos ? id : "";
}

Result<std::string> Submit(const std::vector<std::string>& argv) {
  Result<Captured> c = RunCaptured(argv);
  if (!c.ok()) return c.status();
  std::string command;
  for (const std::string& a : argv) command += (command.empty() ? "" : " ") + a;
  if (c->status != 0) {
    return Status::Error(command + " failed with exit status " + std::to_string(c->status));
  }
  const std::string id = JobId(c->out);
  if (id.empty()) return Status::Error(command + " printed no job id: '" + c->out + "'");
  return id;
}

// A field of 'scontrol show job -o': "JobState=COMPLETED" -> "COMPLETED".
std::string Field(const std::string& text, const std::string& name) {
  const std::string key = name + "=";
  for (size_t pos = text.find(key); pos != std::string::npos; pos = text.find(key, pos + 1)) {
    if (pos == 0 || text[pos - 1] == ' ' || text[pos - 1] == '\n') {
      const size_t start = pos + key.size();
      return text.substr(start, text.find_first_of(" \n", start) - start);
    }
  }
  return "";
}

// The exit status of the merge from the merged run's run.json; -1 if it
// has none (the merge refused, or never ran).
int MergeEnded(const std::string& merged_dir) {
  Result<RunState> state = ReadRunState(merged_dir);
  return state.ok() && state->ended ? *state->exit_status : -1;
}

}  // namespace

bool SafeForDirective(const std::string& s) {
  return s.find_first_of(" \t\n\r\"'\\") == std::string::npos;
}

std::string MergedDir(const SlurmJob& job) {
  return job.retry_of.empty() ? job.dir + "/merged" : job.retry_of;
}

std::string ShardsScript(const SlurmJob& job) {
  const std::string n = std::to_string(job.shards);
  std::string s = "#!/bin/bash\n";
  s += "# Written by 'shoal slurm': job " + job.name + ", " + n + " shards of the settings in\n";
  s += "#   " + job.dir + "/settings.toml\n";
  s += "# Each array task runs one shard: shoal reads it from SLURM_ARRAY_TASK_ID and\n";
  s += "# SLURM_ARRAY_TASK_COUNT (keep the array 0-" + std::to_string(job.shards - 1) +
       "). Submit with submit.sh, which\n# also submits the merge job.\n";
  s += "#SBATCH --job-name=" + job.name + "\n";
  s += "#SBATCH --array=0-" + std::to_string(job.shards - 1) + "\n";
  s += "#SBATCH --output=" + job.dir + "/shard-%a.out\n";
  s += "#SBATCH --open-mode=append\n";
  if (job.cpus_per_task > 0) {
    s += "#SBATCH --cpus-per-task=" + std::to_string(job.cpus_per_task) + "\n";
  }
  s += CommonDirectives(job);
  if (job.retry_of.empty()) {
    s += "exec " + ShellQuote(job.shoal) + " run " + ShellQuote(job.dir + "/settings.toml") +
         " --no-progress\n";
  } else {
    // Its share of the retry's items, with their indices in the retried run.
    s += "exec " + ShellQuote(job.shoal) + " retry " + ShellQuote(job.retry_of) +
         " --shard \"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\" --no-progress\n";
  }
  return s;
}

std::string MergeScript(const SlurmJob& job) {
  const std::string shards_dir = ShellQuote(job.dir + "/shards");
  std::string s = "#!/bin/bash\n";
  s += "# Written by 'shoal slurm': merges the " + std::to_string(job.shards) + " shards of job " +
       job.name + " into\n";
  s += "#   " + MergedDir(job) + "\n";
  s += "# once every array task has ended (submit.sh submits it with\n";
  s += "# --dependency=afterany:<array job>).\n";
  s += "#SBATCH --job-name=" + job.name + "-merge\n";
  s += "#SBATCH --output=" + job.dir + "/merge.out\n";
  s += "#SBATCH --open-mode=append\n";
  s += CommonDirectives(job);
  s += "shopt -s nullglob\n";
  s += "shards=(" + shards_dir + "/*/)\n";
  s += "if ((${#shards[@]} == 0)); then\n";
  s += "  echo \"shoal: no shard wrote a run directory under \"" + shards_dir +
       "\"; see the shard-*.out files beside this script\" >&2\n";
  s += "  exit 2\n";
  s += "fi\n";
  s += "exec " + ShellQuote(job.shoal) + " merge \"${shards[@]}\" -o " +
       ShellQuote(MergedDir(job)) + "\n";
  return s;
}

std::string SubmitScript(const SlurmJob& job) {
  std::string s = "#!/bin/bash\n";
  s += "# Written by 'shoal slurm': submits the " + std::to_string(job.shards) + " shards of job " +
       job.name +
       ", then the merge job\n# that runs once all of them have ended. Same as "
       "'shoal slurm ... --submit'.\n";
  s += "set -euo pipefail\n";
  s += "array=$(sbatch --parsable " + ShellQuote(job.dir + "/shards.sbatch") + ")\n";
  s += "array=${array%%;*}\n";
  s += "merge=$(sbatch --parsable --dependency=afterany:\"$array\" " +
       ShellQuote(job.dir + "/merge.sbatch") + ")\n";
  s += "merge=${merge%%;*}\n";
  s += "printf 'shards %s\\nmerge %s\\n' \"$array\" \"$merge\" >" +
       ShellQuote(job.dir + "/jobs.txt") + "\n";
  s += "echo \"shoal: submitted the shards as job $array and the merge as job $merge\"\n";
  s += "echo \"shoal: merged run directory, once job $merge has ended: \"" +
       ShellQuote(MergedDir(job)) + "\n";
  return s;
}

Result<std::string> SelfExecutable() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::Internal("cannot read /proc/self/exe: " + ec.message());
  return self.string();
}

Result<SlurmJob> WriteSlurmJob(const Settings& settings, const SlurmCommandLine& options,
                               const std::string& shoal_binary, const std::string& retry_of) {
  SlurmJob job;
  job.retry_of = retry_of;
  job.shoal = shoal_binary;
  job.name = "shoal-" + PlainName(settings.job.name);
  job.shards = options.shards;
  job.partition = options.partition;
  job.time = options.time;
  job.cpus_per_task = options.cpus_per_task;
  job.sbatch_args = options.sbatch_args;

  std::error_code ec;
  const std::string parent = fs::absolute(settings.output.dir, ec).lexically_normal().string();
  if (!SafeForDirective(parent)) {
    return Status::Error("output.dir '" + parent +
                         "' holds a space or a quote, which #SBATCH --output cannot take; "
                         "pass -o DIR with a plainer path");
  }
  fs::create_directories(parent, ec);
  if (ec) {
    return Status::Error("cannot create output.dir '" + parent + "': " + ec.message() +
                         "; set output.dir or pass -o DIR");
  }
  // As private as a run directory (output.mode): its settings.toml may hold secrets.
  const int dir_mode =
      RunDirMode(settings.output.mode) >= 0 ? RunDirMode(settings.output.mode) : 0700;
  const mode_t file_mode = static_cast<mode_t>(dir_mode) & 0666;
  Result<std::string> made =
      MakeFreshDir(parent + "/" + PlainName(settings.job.name) + "-" + RunStamp() + "-slurm",
                   "the job directory", static_cast<mode_t>(dir_mode));
  if (!made.ok()) return made.status();
  job.dir = std::move(made).value();

  Settings frozen = settings;
  frozen.input.shard.clear();
  frozen.output.dir = job.dir + "/shards";
  if (frozen.job.workers == 0 && frozen.job.workers_share.empty() && job.cpus_per_task > 0) {
    frozen.job.workers = job.cpus_per_task;
  }
  Status st = WriteFile(job.dir + "/settings.toml", SettingsToToml(frozen), file_mode);
  if (st.ok() && !retry_of.empty()) {
    st = WriteFile(parent + "/settings.toml", SettingsToToml(frozen), file_mode);
  }
  if (st.ok()) st = WriteFile(job.dir + "/shards.sbatch", ShardsScript(job), file_mode);
  if (st.ok()) st = WriteFile(job.dir + "/merge.sbatch", MergeScript(job), file_mode);
  if (st.ok()) {
    st = WriteFile(job.dir + "/submit.sh", SubmitScript(job), static_cast<mode_t>(dir_mode));
  }
  if (st.ok() && ::mkdir((job.dir + "/shards").c_str(), static_cast<mode_t>(dir_mode)) != 0) {
    st = Status::FromErrno("cannot create " + job.dir + "/shards", errno);
  }
  if (!st.ok()) return st;
  return job;
}

Result<SubmittedJob> SubmitSlurmJob(const SlurmJob& job) {
  SubmittedJob submitted;
  Result<std::string> array = Submit({"sbatch", "--parsable", job.dir + "/shards.sbatch"});
  if (!array.ok()) return array.status();
  submitted.array_id = *array;
  Result<std::string> merge = Submit(
      {"sbatch", "--parsable", "--dependency=afterany:" + *array, job.dir + "/merge.sbatch"});
  if (!merge.ok()) {
    return Status::Error(merge.status().message() + "; the shards run as job " + *array +
                         " (scancel " + *array + " to cancel them)");
  }
  submitted.merge_id = *merge;
  Status st = WriteFile(job.dir + "/jobs.txt",
                        "shards " + submitted.array_id + "\nmerge " + submitted.merge_id + "\n",
                        FileModeIn(job.dir));
  if (!st.ok()) return st;
  return submitted;
}

int WaitForMergeJob(const SlurmJob& job, const std::string& merge_id) {
  int failures = 0;
  while (true) {
    Result<Captured> c = RunCaptured({"scontrol", "-o", "show", "job", merge_id});
    const std::string state = c.ok() && c->status == 0 ? Field(c->out, "JobState") : "";
    if (state.empty()) {
      // Gone from the controller (after MinJobAge) or scontrol failed: the
      // merged run's run.json says how the merge ended, if it ran.
      if (++failures < 5) {
        std::this_thread::sleep_for(std::chrono::seconds(1));
        continue;
      }
      const int ended = MergeEnded(MergedDir(job));
      if (ended >= 0) return ended;
      std::fprintf(stderr, "shoal: cannot read the state of job %s; see %s/merge.out\n",
                   merge_id.c_str(), job.dir.c_str());
      return kExitInternal;
    }
    failures = 0;
    if (state == "COMPLETED" || state == "FAILED") {
      // ExitCode=1:0 is the script's exit status, then the signal.
      const std::string code = Field(c->out, "ExitCode");
      const int status = std::atoi(code.c_str());
      if (state == "COMPLETED" || status == kExitItemsFailed || status == kExitUsage) {
        return status;
      }
      std::fprintf(stderr, "shoal: merge job %s failed (ExitCode=%s); see %s/merge.out\n",
                   merge_id.c_str(), code.c_str(), job.dir.c_str());
      return kExitInternal;
    }
    if (state != "PENDING" && state != "RUNNING" && state != "CONFIGURING" &&
        state != "COMPLETING" && state != "SUSPENDED" && state != "REQUEUED" &&
        state != "RESIZING" && state != "SIGNALING" && state != "STAGE_OUT" &&
        state != "REQUEUE_HOLD" && state != "REQUEUE_FED" && state != "SPECIAL_EXIT") {
      std::fprintf(stderr, "shoal: merge job %s ended %s; see %s/merge.out\n", merge_id.c_str(),
                   state.c_str(), job.dir.c_str());
      return kExitInternal;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Result<int> RunSlurmJob(const Settings& settings, const SlurmCommandLine& options, bool quiet,
                        const std::string& retry_of) {
  // The tasks run this shoal: a broken installation is said before any script is written.
  if (Result<std::string> worker = FindWorkerExe(); !worker.ok()) return worker.status();
  Result<std::string> self = SelfExecutable();
  if (!self.ok()) return self.status();
  // A missing input is better said now than by every task on its node (a
  // retry's items come from its records).
  if (retry_of.empty()) {
    Result<InputKind> kind = ResolveInputKind(settings.input);
    if (!kind.ok()) return kind.status();
  }
  Result<SlurmJob> job = WriteSlurmJob(settings, options, *self, retry_of);
  if (!job.ok()) return job.status();
  if (!options.submit) {
    std::printf("wrote %s/shards.sbatch (%d shards), merge.sbatch and submit.sh\n",
                job->dir.c_str(), job->shards);
    std::printf("submit them with: %s/submit.sh\n", job->dir.c_str());
    return kExitOk;
  }
  Result<SubmittedJob> submitted = SubmitSlurmJob(*job);
  if (!submitted.ok()) {
    // sbatch is missing or refused the job: the scripts are there to fix and submit by hand.
    return Status::Error(submitted.status().message() + "\nshoal: the scripts are in " + job->dir);
  }
  std::printf("submitted the shards as job %s and the merge as job %s\n",
              submitted->array_id.c_str(), submitted->merge_id.c_str());
  std::printf("merged run directory, once job %s has ended: %s\n", submitted->merge_id.c_str(),
              MergedDir(*job).c_str());
  std::fflush(stdout);
  if (!options.wait) return kExitOk;
  const int code = WaitForMergeJob(*job, submitted->merge_id);
  if (!quiet || code != kExitOk) {
    std::fprintf(stderr, "shoal: merge job %s ended, exit status %d; see %s/log.txt\n",
                 submitted->merge_id.c_str(), code, MergedDir(*job).c_str());
  }
  return code;
}

}  // namespace shoal
