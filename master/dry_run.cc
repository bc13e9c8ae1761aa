#include "master/dry_run.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <span>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/shell_quote.h"
#include "common/timestamp.h"
#include "config/capacity.h"
#include "job/argv_builder.h"
#include "job/fields.h"
#include "job/item_paths.h"
#include "master/clock.h"
#include "master/host_gauges.h"
#include "master/resume.h"
#include "master/run_dir.h"
#include "master/scheduler.h"
#include "master/worker_pool.h"

namespace shoal {

namespace {

// Output is gathered and written in chunks of about this size: a dry run over
// a large tree prints one line per item, and a stdio call per line costs more
// than building the line.
constexpr size_t kOutputChunk = 256 * 1024;

// The argv a worker would run for one item (as the command handler builds
// it); the sha256 and plugin handlers run in-process and show as a pseudo-argv.
class DryRunArgv {
 public:
  static Result<DryRunArgv> Make(const Settings& s) {
    DryRunArgv d(s);
    if (s.job.handler != HandlerKind::kCommand) return d;
    Result<ArgvBuilder> line = ArgvBuilder::Compile(s.command, FieldContextOf(s));
    if (!line.ok()) return Status::Error("command.argv: " + line.status().message());
    d.line_ = std::move(line).value();
    Result<FieldSplitter> splitter = FieldSplitter::Make(s.input);
    if (!splitter.ok()) return splitter.status();
    d.splitter_ = std::move(splitter).value();
    return d;
  }

  const FieldSplitter& splitter() const { return splitter_; }
  unsigned fields() const {
    return settings_->job.handler == HandlerKind::kCommand ? line_.fields() : kFieldPath;
  }
  // command.batch: as the command handler's (worker/command_handler.cc).
  size_t max_batch() const {
    return settings_->job.handler == HandlerKind::kCommand ? line_.max_batch() : 1;
  }
  size_t Fit(std::span<const ItemPaths> items) const { return line_.Fit(items); }
  Status BuildBatch(std::span<const ItemPaths> items, std::vector<std::string>* argv) const {
    return line_.BuildBatch(items, /*make_out_dir=*/false, argv);
  }

  Status Build(const ItemPaths& paths, std::vector<std::string>* argv) const {
    switch (settings_->job.handler) {
      case HandlerKind::kSha256:
        *argv = {"sha256", paths.path};
        return Status::Ok();
      case HandlerKind::kPlugin:
        *argv = {"plugin", settings_->plugin.library, paths.path};
        return Status::Ok();
      case HandlerKind::kHttp:
        *argv = {"http", settings_->http.method, settings_->http.url, paths.item};
        return Status::Ok();
      case HandlerKind::kPython:
        *argv = {"python", settings_->python.module + ":" + settings_->python.function, paths.item};
        return Status::Ok();
      case HandlerKind::kCommand:
        break;
    }
    return line_.Build(paths, /*make_out_dir=*/false, argv);
  }

 private:
  explicit DryRunArgv(const Settings& s) : settings_(&s) {}
  const Settings* settings_;
  ArgvBuilder line_;
  FieldSplitter splitter_;
};

// The pool of a dry run: `workers` slots, as many as the real run would
// start, that "run" each task by printing its argv (buffered: one line per
// item of a large tree) and report it done at once. The scheduler in front
// of it reads the input, skips what a resumed run has recorded and hands
// items out exactly as in a real run, so command.batch lines hold what a
// real run's would (-X: the input split evenly among the workers).
class DryRunPool final : public WorkerPool {
 public:
  DryRunPool(const Settings& s, const DryRunArgv& builder, InputKind kind, std::string run_dir,
             int workers)
      : s_(s),
        builder_(builder),
        kind_(kind),
        run_dir_(std::move(run_dir)),
        slots_(static_cast<size_t>(workers)) {
    out_.reserve(kOutputChunk + 4096);
  }

  Result<int> Start(int) override { return static_cast<int>(::getpid()); }
  OfferResult Offer(int slot, const TaskRecord& task) override {
    Slot& w = slots_[static_cast<size_t>(slot)];
    if (w.taken.size() <= w.pending) w.taken.emplace_back();
    ItemPaths& paths = w.taken[w.pending];
    FillItemPaths(s_, kind_, task.item, task.index, slot + 1, run_dir_, &paths, builder_.fields(),
                  &builder_.splitter());
    // An item that cannot be built says so alone, as it would fail alone.
    Status built = builder_.Build(paths, &argv_);
    if (built.ok() && builder_.max_batch() == 1) {
      PrintLine();
    } else if (built.ok()) {
      if (++w.pending == builder_.max_batch()) CutLines(w);
    } else {
      WouldFail(task.index, built.message());
    }
    done_.push_back({slot, task.seq});
    return OfferResult::kQueued;
  }
  // command.batch: the lines of the items every worker was handed, in the
  // order of their first items, as the input order of a real run's lines.
  void PrintTaken() {
    for (Slot& w : slots_) CutLines(w);
    std::stable_sort(lines_.begin(), lines_.end(),
                     [](const Line& a, const Line& b) { return a.first < b.first; });
    for (Line& line : lines_) {
      if (line.error.empty()) {
        argv_ = std::move(line.argv);
        PrintLine();
      } else {
        WouldFail(line.first, line.error);
      }
    }
    lines_.clear();
  }
  void Publish(int) override {}
  WorkerState State(int) const override { return {true, 0, 0}; }
  void Kill(int) override {}
  void SignalCommand(int, int) override {}
  void Shutdown() override { shut_down_ = true; }

  // Reports every printed task done (ok: the dry run itself printed why an
  // item would fail, and retries would only print it again). The lines of
  // the round are printed first.
  void Deliver(WorkerEvents& events) {
    PrintTaken();
    for (const Done& d : done_) {
      OutcomeRecord o;
      o.seq = d.seq;
      o.ok = true;
      o.exit_code = 0;
      events.OnOutcome(d.slot, o);
    }
    done_.clear();
  }
  void WouldFail(uint64_t index, std::string_view why) {
    Flush();
    std::fprintf(stderr, "shoal: item %llu would fail: %.*s\n",
                 static_cast<unsigned long long>(index), static_cast<int>(why.size()), why.data());
  }
  void Flush() {
    std::fflush(stdout);
    Status st = WriteAll(STDOUT_FILENO, out_, "standard output");
    if (!st.ok() && written_.ok()) written_ = st;
    out_.clear();
  }
  bool shut_down() const { return shut_down_; }
  const Status& written() const { return written_; }

 private:
  struct Slot {
    std::vector<ItemPaths> taken;  // reused; the first `pending` wait for their line
    size_t pending = 0;
  };
  // A command line of a round, printed once every worker's are cut.
  struct Line {
    uint64_t first;  // the index of its first item
    std::vector<std::string> argv;
    std::string error;  // why it would fail; "" = none
  };
  struct Done {
    int slot;
    uint64_t seq;
  };

  // The pending items of `w` as the command lines a worker handed them at
  // once would run (Fit's, the last one shorter).
  void CutLines(Slot& w) {
    std::span<const ItemPaths> rest(w.taken.data(), w.pending);
    while (!rest.empty()) {
      const size_t fit = std::max<size_t>(builder_.Fit(rest), 1);
      Line& line = lines_.emplace_back();
      line.first = rest.front().index;
      Status built = builder_.BuildBatch(rest.first(fit), &line.argv);
      if (!built.ok()) line.error = built.message();
      rest = rest.subspan(fit);
    }
    w.pending = 0;
  }
  // argv_, shell-quoted, as one line.
  void PrintLine() {
    for (size_t i = 0; i < argv_.size(); ++i) {
      if (i > 0) out_.push_back(' ');
      AppendShellWord(&out_, argv_[i]);
    }
    out_.push_back('\n');
    if (out_.size() >= kOutputChunk) Flush();
  }

  const Settings& s_;
  const DryRunArgv& builder_;
  InputKind kind_;
  std::string run_dir_;
  std::vector<Slot> slots_;
  std::vector<Line> lines_;
  std::vector<std::string> argv_;
  std::string out_;
  std::vector<Done> done_;
  Status written_;
  bool shut_down_ = false;
};

// Records of a dry run: none; an item the input could not produce is said
// as any item that would fail.
class DryRunRecorder final : public RunRecorder {
 public:
  explicit DryRunRecorder(DryRunPool& pool) : pool_(pool) {}
  void Succeeded(const RunDirectory::Finished&) override {}
  void Failed(const RunDirectory::Finished& f) override { pool_.WouldFail(f.index, f.reason); }
  void Log(std::string_view) override {}
  void Say(const std::string& message) override { std::fprintf(stderr, "%s\n", message.c_str()); }

 private:
  DryRunPool& pool_;
};

}  // namespace

Result<int> DryRun(const Settings& settings, const RunOptions& options) {
  auto input = OpenJobInput(settings, options);
  if (!input.ok()) return input.status();
  // What the workers would run by: the names of the header's fields.
  Settings s = settings;
  if (s.input.field_names.empty()) s.input.field_names = input->field_names;
  // The {run} a real run started now would most likely get (not -2, -3).
  const std::string run_dir =
      options.resume_dir.empty() ? RunDirName(s, RunStamp()) : options.resume_dir;
  Result<DryRunArgv> builder = DryRunArgv::Make(s);
  if (!builder.ok()) return builder.status();
  ItemSource& source = *input->source;
  // As many workers as the real run would start: they split -X lines.
  int workers = ResolveWorkers(s.job, ProcHostGauges().OnlineCores());
  if (options.stored_items > 0 && static_cast<uint64_t>(workers) > options.stored_items) {
    workers = static_cast<int>(options.stored_items);
  }
  DryRunPool pool(s, *builder, input->kind, run_dir, workers);
  DryRunRecorder recorder(pool);
  MonotonicClock clock;
  // Every item is shown: nothing fails for real, so nothing halts or retries.
  Settings shown = s;
  shown.job.max_failures = 0;
  shown.job.max_failures_percent = 0;
  shown.job.halt = "never";  // not even on successes: each item is shown once
  shown.job.retries = 0;
  // No pacing: nothing is called, the dry run does not wait. (No HostGauges
  // either: job.memfree and job.load hold nothing back.)
  shown.job.rate.clear();
  shown.job.delay = Millis(0);
  const DoneSet* done = options.resume ? &options.resume->done : nullptr;
  Scheduler scheduler(shown, workers, source, done, pool, recorder, clock);
  Status started = scheduler.StartWorkers();
  if (!started.ok()) return started;
  while (!scheduler.Finished()) {
    scheduler.Feed();
    if (scheduler.input_would_block()) {
      pollfd p{source.WaitFd(), POLLIN, 0};
      ::poll(&p, 1, -1);
    }
    pool.Deliver(scheduler);
    if (!pool.written().ok()) scheduler.BeginStop();
    if (!scheduler.stopping() && scheduler.WorkDone()) scheduler.BeginStop();
    for (int w = 0; pool.shut_down() && w < workers; ++w) {
      if (scheduler.running(w)) scheduler.OnWorkerExit(w, WorkerExit{0, true, 0});
    }
  }
  if (pool.written().ok()) pool.PrintTaken();
  if (pool.written().ok()) pool.Flush();
  if (!pool.written().ok()) {
    std::fprintf(stderr, "shoal: dry run: %s\n", pool.written().message().c_str());
    return kExitInternal;
  }
  std::fflush(stdout);
  for (const std::string& w : source.TakeWarnings())
    std::fprintf(stderr, "shoal: input: %s\n", w.c_str());
  if (scheduler.fatal()) {
    std::fprintf(stderr, "shoal: %s\n", scheduler.fatal_message().c_str());
    return kExitInternal;
  }
  return kExitOk;
}

}  // namespace shoal
