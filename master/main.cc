// shoal: the command line. Parses, loads settings, hands over to
// RunJob, and is the only place that turns a result into an exit status.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "config/cli.h"
#include "config/load.h"
#include "master/master.h"
#include "master/merge.h"
#include "master/report.h"
#include "master/resume.h"
#include "master/retry.h"
#include "master/run_dir.h"
#include "master/shard.h"
#include "master/slurm.h"
#include "master/supervisor.h"

namespace shoal {
namespace {

int PrintError(const std::string& message, int code) {
  std::fprintf(stderr, "shoal: %s\n", message.c_str());
  return code;
}

// The one mapping from an error's kind to an exit status.
int ExitStatusOf(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kUsage:
      return kExitUsage;
    case StatusCode::kIo:
    case StatusCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

int PrintError(const Status& status) {
  return PrintError(status.message(), ExitStatusOf(status));
}

// A run's exit status, or the error that kept it from running.
int ExitStatusOf(const Result<int>& run) {
  return run.ok() ? run.value() : PrintError(run.status());
}

RunOptions OptionsOf(const CommandLine& cl) {
  RunOptions o;
  o.items_file = cl.items_file;
  o.dry_run = cl.dry_run;
  o.progress = cl.progress;
  o.quiet = cl.quiet;
  o.verbose = cl.verbose;
  return o;
}

// Without --shard or input.shard, a run in a Slurm array task or a Kubernetes
// Indexed Job takes its shard from the environment; an environment that names
// no consistent shard is an error rather than a run of the wrong items.
Status ApplyEnvironmentShard(const CommandLine& cl, Settings* settings) {
  if (!settings->input.shard.empty()) return Status::Ok();
  Result<EnvShard> env = ShardFromEnvironment(::getenv);
  if (!env.ok()) return env.status();
  if (!env->note.empty() && !cl.quiet) std::fprintf(stderr, "shoal: note: %s\n", env->note.c_str());
  if (!env->shard.empty() && cl.verbose > 0) {
    std::fprintf(stderr, "shoal: shard %s, from %s\n", env->shard.c_str(), env->source.c_str());
  }
  settings->input.shard = env->shard;
  return Status::Ok();
}

// "shoal: warning: <count> <what>:" and the examples, one a line.
void WarnWithExamples(uint64_t count, const char* what, const std::vector<std::string>& examples) {
  if (count == 0) return;
  std::fprintf(stderr, "shoal: warning: %llu %s:\n", static_cast<unsigned long long>(count), what);
  for (const std::string& e : examples) std::fprintf(stderr, "shoal:   %s\n", e.c_str());
}

int Merge(const CommandLine& cl) {
  Result<MergeReport> report = MergeShards(cl.run_dirs, cl.merge_dir);
  if (!report.ok()) return PrintError(report.status());
  WarnWithExamples(report->duplicates,
                   "record(s) repeat the index of another record (items in two shards, or shards "
                   "that did not see the same input); all were kept",
                   report->duplicate_examples);
  WarnWithExamples(report->file_conflicts,
                   "file(s) exist in more than one shard at the same path; the first shard's is "
                   "linked, the others stay in their shard directories",
                   report->file_conflict_examples);
  if (!cl.quiet || report->exit_code != kExitOk) {
    std::fprintf(stderr,
                 "shoal: merged %u shards: %llu ok, %llu failed\nshoal: run directory: %s\n",
                 report->shards, static_cast<unsigned long long>(report->ok),
                 static_cast<unsigned long long>(report->failed), report->dir.c_str());
  }
  return report->exit_code;
}

// shoal report RUN_DIR [--open]: the page, its path on stdout; --open hands
// it to xdg-open when there is one (no shell), else the path is all.
int Report(const CommandLine& cl) {
  if (!std::filesystem::is_directory(cl.run_dir)) {
    return PrintError("report: " + cl.run_dir + " is not a run directory", kExitUsage);
  }
  Result<std::string> page = WriteReport(cl.run_dir);
  if (!page.ok()) return PrintError(page.status());
  std::printf("%s\n", page->c_str());
  std::fflush(stdout);
  if (!cl.open) return kExitOk;
  const char* argv[] = {"xdg-open", page->c_str(), nullptr};
  pid_t pid = 0;
  if (::posix_spawnp(&pid, "xdg-open", nullptr, nullptr, const_cast<char* const*>(argv), environ) !=
      0) {
    std::fprintf(stderr, "shoal: no xdg-open here: open %s in a browser\n", page->c_str());
    return kExitOk;
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return kExitOk;
}

// retry --shard K/N (or --set input.shard=K/N): one shard of a retry.
bool GivesShard(const std::vector<Override>& overrides) {
  return std::any_of(overrides.begin(), overrides.end(),
                     [](const Override& o) { return o.key == "input.shard"; });
}

// The one-line form: the settings are the command line's alone. The :::
// items go to a temporary file in output.dir that the master moves into the
// run directory (RunOptions::store_input); *stored names it ("" = none).
Result<int> RunOneLine(const CommandLine& cl, std::string* stored) {
  if (cl.items_path == "-" && cl.items.empty() && ::isatty(0)) {
    // A mistyped command ("shoal rnu") lands here too: say so.
    std::vector<std::string> verbs{"run",  "retry", "resume", "check",
                                   "init", "merge", "slurm",  "report"};
    const std::string guess = DidYouMean(cl.command.front(), verbs);
    return Status::Error("no items: give them after ::: (shoal " + cl.command.front() +
                         " ... ::: a b c), in a file with :::: FILE, or on stdin" +
                         (guess.empty() ? "" : " (or did you mean 'shoal " + guess + "'?)") +
                         "; see 'shoal --help'");
  }
  auto settings =
      ParseSettings("", "the command line", std::filesystem::current_path().string(), cl.overrides);
  if (!settings.ok()) return settings.status();
  RunOptions options = OptionsOf(cl);
  // Quiet unless someone watches: `shoal ... | sort` gets the jobs' output
  // and nothing else; stderr has shoal's lines only on a terminal or with -v.
  if (cl.verbose == 0 && cl.progress != 1 && ::isatty(2) == 0) options.quiet = true;
  if (!cl.items.empty() || !cl.sources.empty()) {
    // A dry run creates nothing: its items are read from /tmp, and the file
    // is gone again when it ends.
    std::string path = "/tmp/shoal-items-XXXXXX";
    if (!cl.dry_run) {
      std::error_code ec;
      std::filesystem::create_directories(settings->output.dir, ec);
      if (ec) {
        return Status::IoError("cannot create " + settings->output.dir + ": " + ec.message() +
                               "; pass -o DIR");
      }
      path = settings->output.dir + "/.items-XXXXXX";
    }
    int fd = ::mkstemp(path.data());
    if (fd < 0) return Status::FromErrno("cannot write the items to " + path, errno);
    *stored = path;
    // One ::: item may hold a line end (none of several may: cli.cc).
    const bool nul = std::any_of(cl.items.begin(), cl.items.end(), [](const std::string& i) {
      return i.find('\n') != std::string::npos;
    });
    std::string text;
    bool ok = true;
    auto flush = [&] {
      for (std::string_view rest = text; ok && !rest.empty();) {
        ssize_t n = ::write(fd, rest.data(), rest.size());
        ok = n > 0;
        if (ok) rest.remove_prefix(static_cast<size_t>(n));
      }
      text.clear();
    };
    uint64_t count = 0;
    auto add = [&](std::string_view item) {
      ++count;
      (text += item) += nul ? '\0' : '\n';
      if (text.size() >= (1u << 16)) flush();
    };
    for (const std::string& item : cl.items) add(item);
    ForEachProductRecord(cl, add);
    flush();
    ok &= ::close(fd) == 0;
    if (!ok) return Status::FromErrno("cannot write the items to " + path, errno);
    settings->input.path = path;
    if (nul) settings->input.separator = Separator::kNul;
    if (!cl.dry_run) options.store_input = path;
    options.stored_items = count;
  }
  Status st = CheckStorable(*settings);
  if (!st.ok()) return st;
  st = ApplyEnvironmentShard(cl, &*settings);
  if (!st.ok()) return st;
  return RunJob(*settings, options);
}

// What `shoal init --handler python` starts a job.py with.
constexpr char kJobPySkeleton[] =
    R"PY(# The function shoal runs for each item (handler = "python", settings.toml).
# Each worker imports this file once; then, for each item:
#     process(item, ctx) -> output
# item: the item's text (a file's path for a tree, a line for a list).
# ctx: index, item, path, rel, name, stem, ext, dir, worker; ctx.out (the
#     item's {out} directory, created on use); ctx.log("text") for log.txt.
# Return a str (the output as is), bytes, any JSON-serialisable value (put
# in the record as JSON), or None (no output). An exception fails the item
# ("exception: ValueError", the traceback in errors.jsonl); raise
# shoal.Permanent("why") for a failure that job.retries should not retry.
import shoal

settings = {}


def init(config):
    """Optional: once per worker, before any item, with [python.config]."""
    settings.update(config)


def process(item, ctx):
    with open(ctx.path, "rb") as f:
        data = f.read()
    if not data:
        raise shoal.Permanent("empty file")
    return {"bytes": len(data), "lines": data.count(b"\n")}


def finish():
    """Optional: once per worker when the run ends in order."""
)PY";

int Init(const CommandLine& cl) {
  struct stat st;
  if (::stat(cl.init_path.c_str(), &st) == 0) {
    return PrintError(cl.init_path + " exists; remove it or name another path", kExitUsage);
  }
  FILE* f = std::fopen(cl.init_path.c_str(), "wx");
  if (f == nullptr) return PrintError("cannot write " + cl.init_path, kExitUsage);
  std::string text = InitTemplate(cl.init_handler);
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok &= std::fclose(f) == 0;
  if (!ok) return PrintError("cannot write " + cl.init_path, kExitInternal);
  if (cl.init_handler == HandlerKind::kPython) {
    // python.module = "job.py" is relative to the settings file.
    const std::string job = (std::filesystem::path(cl.init_path).parent_path() / "job.py").string();
    if (::stat(job.c_str(), &st) == 0) {
      std::printf("kept the existing %s (python.module)\n", job.c_str());
    } else {
      FILE* py = std::fopen(job.c_str(), "wx");
      if (py == nullptr) return PrintError("cannot write " + job, kExitInternal);
      ok = std::fputs(kJobPySkeleton, py) >= 0;
      ok &= std::fclose(py) == 0;
      if (!ok) return PrintError("cannot write " + job, kExitInternal);
      std::printf("wrote %s, the function each item runs\n", job.c_str());
    }
  }
  std::printf("wrote %s; edit it, then check it with 'shoal check %s'\n", cl.init_path.c_str(),
              cl.init_path.c_str());
  return kExitOk;
}

int Main(int argc, char** argv) {
  auto cl = ParseCommandLine(argc, argv);
  if (!cl.ok()) return PrintError(cl.status());
  switch (cl->verb) {
    case Verb::kHelp:
      std::fputs(HelpText(cl->help_topic).c_str(), stdout);
      return kExitOk;
    case Verb::kVersion:
      std::printf("shoal %s\n", kShoalVersion);
      return kExitOk;
    case Verb::kInit:
      return Init(*cl);
    case Verb::kCheck: {
      auto settings = LoadSettings(cl->settings_path, cl->overrides);
      if (!settings.ok()) return PrintError(settings.status());
      Status st = ApplyEnvironmentShard(*cl, &*settings);
      if (!st.ok()) return PrintError(st);
      // Exactly what `shoal run` refuses before it creates anything.
      auto input = CheckJobInput(*settings, OptionsOf(*cl));
      if (!input.ok()) return PrintError(input.status());
      if (Result<std::string> worker = FindWorkerExe(); !worker.ok()) {
        return PrintError(worker.status());
      }
      std::fputs(SettingsToAnnotatedToml(*settings).c_str(), stdout);
      return kExitOk;
    }
    case Verb::kRun: {
      if (cl->one_line) {
        std::string stored;
        Result<int> run = RunOneLine(*cl, &stored);
        // Moved into the run directory unless the run never started.
        if (!stored.empty()) ::unlink(stored.c_str());
        return ExitStatusOf(run);
      }
      auto settings = LoadSettings(cl->settings_path, cl->overrides);
      if (!settings.ok()) return PrintError(settings.status());
      Status st = ApplyEnvironmentShard(*cl, &*settings);
      if (!st.ok()) return PrintError(st);
      return ExitStatusOf(RunJob(*settings, OptionsOf(*cl)));
    }
    case Verb::kSlurm: {
      auto settings = LoadSettings(cl->settings_path, cl->overrides);
      if (!settings.ok()) return PrintError(settings.status());
      if (!settings->input.shard.empty()) {
        return PrintError("input.shard = \"" + settings->input.shard + "\" is set in " +
                              cl->settings_path +
                              "; shoal slurm gives each array task its own shard: remove it",
                          kExitUsage);
      }
      return ExitStatusOf(RunSlurmJob(*settings, cl->slurm, cl->quiet));
    }
    case Verb::kMerge:
      return Merge(*cl);
    case Verb::kReport:
      return Report(*cl);
    case Verb::kRetry: {
      if (cl->slurm.shards > 0) {
        return ExitStatusOf(RetryOnSlurmJob(cl->run_dir, cl->overrides, cl->slurm, cl->quiet));
      }
      if (GivesShard(cl->overrides)) {
        return ExitStatusOf(RetryShardJob(cl->run_dir, cl->overrides, OptionsOf(*cl)));
      }
      // The run's own settings; its directory completed in place.
      return ExitStatusOf(RetryJob(cl->run_dir, cl->overrides, OptionsOf(*cl)));
    }
    case Verb::kResume:
      return ExitStatusOf(ResumeJob(cl->run_dir, cl->overrides, OptionsOf(*cl), cl->force));
  }
  return kExitInternal;
}

}  // namespace
}  // namespace shoal

int main(int argc, char** argv) {
  // A closed stderr (`shoal run ... 2>&1 | head -1`) must not kill the run
  // part-way: writes to it fail with EPIPE and are ignored. Workers and
  // commands are started with SIGPIPE back at its default (Supervisor,
  // CommandHandler).
  ::signal(SIGPIPE, SIG_IGN);
  try {
    return shoal::Main(argc, argv);
  } catch (const std::exception& e) {
    // Destructors have run by now: the shared segment is gone, workers were
    // killed by PDEATHSIG when the master exits.
    std::fprintf(stderr, "shoal: internal error: %s\n", e.what());
    return shoal::kExitInternal;
  }
}
