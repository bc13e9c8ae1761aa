#include "master/merge.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>

#include "common/fault.h"
#include "common/fd.h"
#include "common/json.h"
#include "common/timestamp.h"
#include "config/load.h"
#include "job/output_file.h"
#include "master/master.h"
#include "master/record_key.h"
#include "master/resume.h"
#include "master/retry.h"
#include "master/run_dir.h"
#include "master/run_state.h"
#include "master/shard.h"
#include "master/timeline.h"

namespace shoal {

namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxExamples = 10;
constexpr size_t kFlushBytes = 1 << 20;

struct Shard {
  std::string dir;
  Settings settings;
  ShardSpec spec;
  // The "summary: ..." lines of its last run (resume makes several runs),
  // without their timestamps.
  std::vector<std::string> summary;
  // A shard of a retry: the retried run and the retry's number (run.json).
  std::string retry_of;
  uint64_t retries = 0;
};

// A retry's shards join the run they retried, in place.
struct Join {
  std::string run_dir;
  Settings settings;
  RunState state;
  RunRecords records;  // what the run held before the join (read, repaired)
};

std::string Name(const Shard& s) {
  return "shard " + std::to_string(s.spec.index) + " (" + s.dir + ")";
}

// The text after a log line's timestamp ("2026-...Z message").
std::string_view LogMessage(std::string_view line) {
  size_t space = line.find(' ');
  return space == std::string_view::npos ? line : line.substr(space + 1);
}

// A shard must have finished, as its run.json says: one still running,
// killed or interrupted would lose its unfinished items from the failed list.
Status CheckShardEnded(Shard* shard_ptr) {
  const Shard& shard = *shard_ptr;
  const std::string fix =
      "; finish it with 'shoal resume " + shard.dir + "' (anywhere), then merge again";
  if (MissingRunState(shard.dir)) {
    return Status::Error(Name(shard) + " has no " + kRunStateFile +
                         " (run by an older shoal, or killed as it started), so whether it "
                         "finished is not known" +
                         fix + " (resume writes " + kRunStateFile + ")");
  }
  Result<RunState> state = ReadRunState(shard.dir);
  if (!state.ok()) return Status::Error(Name(shard) + ": " + state.status().message());
  if (!state->ended) {
    return Status::Error(Name(shard) + " has not finished: its " + kRunStateFile +
                         " says its last run, started " + state->started +
                         ", has not ended (still running, killed, or out of time?)" + fix);
  }
  const int status = *state->exit_status;
  if (status != kExitOk && status != kExitItemsFailed) {
    return Status::Error(
        Name(shard) + " did not finish: it ended with exit status " + std::to_string(status) +
        (status == kExitInternal ? " (internal error, see its log.txt)" : " (interrupted)") + fix);
  }
  shard_ptr->retry_of = state->retry_of;
  shard_ptr->retries = state->retries;
  return Status::Ok();
}

// For shards of a retry ('shoal retry RUN --shards N'): -o must name RUN,
// whose run.json must still be at that retry. Reads and repairs RUN's
// records (a killed join leaves a torn last line at most), so that the join
// appends only what RUN lacks: run again, it gives the same result.
Result<std::optional<Join>> OpenJoin(const std::vector<Shard>& shards, const std::string& out) {
  const Shard& first = shards.front();
  for (const Shard& s : shards) {
    if (s.retry_of != first.retry_of || s.retries != first.retries) {
      return Status::Error(
          Name(s) + " and " + Name(first) +
          " are not shards of the same retry (their run.json say retry_of " +
          (s.retry_of.empty() ? "none" : s.retry_of + " " + std::to_string(s.retries)) + " and " +
          (first.retry_of.empty() ? "none" : first.retry_of + " " + std::to_string(first.retries)) +
          "); merge takes the shards of one job");
    }
  }
  if (first.retry_of.empty()) return std::optional<Join>();
  Join join;
  join.run_dir = ResolveRunDir(out);
  if (join.run_dir != first.retry_of) {
    return Status::Error("the shards are retry " + std::to_string(first.retries) + " of " +
                         first.retry_of + ", which they join in place: merge them with -o " +
                         first.retry_of);
  }
  Status st = OpenRunDir(join.run_dir, {}, &join.settings, &join.state);
  if (!st.ok()) return st;
  if (join.state.retries != first.retries) {
    return Status::Error(join.run_dir + " is at retry " + std::to_string(join.state.retries) +
                         ", the shards ran retry " + std::to_string(first.retries) +
                         "; they can no longer join it");
  }
  // Retry step 4, if a killed 'shoal retry --shards' left it to do.
  st = FinishRetrySplit(join.run_dir);
  if (!st.ok()) return st;
  Result<RunRecords> records = ReadRunRecords(join.run_dir, join.settings);
  if (!records.ok()) return records.status();
  st = RepairRunRecords(join.run_dir, join.settings, *records);
  if (!st.ok()) return st;
  join.records = std::move(records).value();
  return std::optional<Join>(std::move(join));
}

// The "summary: ..." lines of the shard's last run, for the merged log
// (people read them; nothing is decided by them).
Status ReadShardSummary(Shard* shard) {
  bool torn = false;
  return ForEachLine(shard->dir + "/log.txt", '\n', /*cut_torn=*/false, &torn,
                     [&](std::string_view line) {
                       std::string_view m = LogMessage(line);
                       if (m.starts_with("summary: ")) {
                         shard->summary.emplace_back(m);
                       } else if (m.starts_with("run started")) {
                         shard->summary.clear();  // a later run (resume) in the same directory
                       }
                     });
}

// The settings a shard's run directory must share with the others.
std::string Comparable(Settings s) {
  s.input.shard.clear();
  s.output.dir.clear();
  s.job.workers = 0;
  return SettingsToToml(s);
}

// "job.timeout = "1m"" for the first line where two settings texts differ.
std::string FirstDifference(const std::string& a, const std::string& b) {
  std::vector<std::string> la, lb;
  for (const std::string* text : {&a, &b}) {
    auto& lines = text == &a ? la : lb;
    size_t pos = 0;
    while (pos < text->size()) {
      size_t nl = text->find('\n', pos);
      if (nl == std::string::npos) nl = text->size();
      lines.push_back(text->substr(pos, nl - pos));
      pos = nl + 1;
    }
  }
  std::string section;
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    const std::string x = i < la.size() ? la[i] : "";
    const std::string y = i < lb.size() ? lb[i] : "";
    if (x.starts_with("[")) section = x.substr(1, x.find(']') - 1);
    if (x != y) {
      const size_t eq = x.find(" = ");
      const std::string key = eq == std::string::npos ? x : x.substr(0, eq);
      const std::string vy = y.find(" = ") == std::string::npos ? y : y.substr(y.find(" = ") + 3);
      const std::string vx = eq == std::string::npos ? x : x.substr(eq + 3);
      return section + "." + key + " = " + vx + " in one, " + vy + " in the other";
    }
  }
  return "";
}

Status CheckOutDir(const std::string& out_dir) {
  struct stat st;
  if (::stat(out_dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Status::FromErrno("cannot look at " + out_dir, errno, StatusCode::kUsage);
  }
  std::error_code ec;
  if (!S_ISDIR(st.st_mode) || !fs::is_empty(out_dir, ec)) {
    return Status::Error(out_dir +
                         " exists and is not an empty directory; merge writes a new run "
                         "directory: name one that does not exist yet");
  }
  return Status::Ok();
}

// Loads and checks the shards; sorted by shard index.
Result<std::vector<Shard>> LoadShards(const std::vector<std::string>& run_dirs) {
  std::vector<Shard> shards;
  for (std::string dir : run_dirs) {
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    struct stat st;
    if (::stat((dir + "/settings.toml").c_str(), &st) != 0) {
      return Status::Error(dir + " is not a shoal run directory (no settings.toml)");
    }
    Result<Settings> settings = LoadSettings(dir + "/settings.toml", {});
    if (!settings.ok()) return settings.status();
    if (settings->input.shard.empty()) {
      return Status::Error(dir +
                           " is not the run of a shard (its input.shard is empty); merge takes "
                           "the run directories of 'shoal run --shard K/N' or of 'shoal slurm'");
    }
    Result<ShardSpec> spec = ParseShard(settings->input.shard);
    if (!spec.ok()) return Status::Error(dir + ": " + spec.status().message());
    shards.push_back(Shard{dir, std::move(settings).value(), *spec, {}, {}, 0});
  }
  std::stable_sort(shards.begin(), shards.end(),
                   [](const Shard& a, const Shard& b) { return a.spec.index < b.spec.index; });

  const uint32_t n = shards.front().spec.count;
  for (const Shard& s : shards) {
    if (s.spec.count != n) {
      return Status::Error(Name(s) + " is one of " + std::to_string(s.spec.count) + " shards, " +
                           Name(shards.front()) + " one of " + std::to_string(n) +
                           "; merge takes the shards of one split");
    }
  }
  std::vector<std::vector<const Shard*>> by_index(n);
  for (const Shard& s : shards) by_index[s.spec.index].push_back(&s);
  std::string missing, twice;
  for (uint32_t k = 0; k < n; ++k) {
    if (by_index[k].empty()) missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    if (by_index[k].size() > 1) {
      twice += "\n  shard " + std::to_string(k) + " in";
      for (const Shard* s : by_index[k]) twice += " " + s->dir;
    }
  }
  if (!twice.empty()) {
    return Status::Error(
        "a shard is given more than once (a task that ran twice?); keep one "
        "run directory of each:" +
        twice);
  }
  if (!missing.empty()) {
    const bool one = missing.find(',') == std::string::npos;
    return Status::Error("missing shard" + std::string(one ? " " : "s ") + missing + " of " +
                         std::to_string(n) + " (shards are 0 to " + std::to_string(n - 1) +
                         "); run " + (one ? "it" : "each") + " with 'shoal run SETTINGS --shard " +
                         (one ? missing : "K") + "/" + std::to_string(n) +
                         "' and name its run directory too");
  }

  const std::string first = Comparable(shards.front().settings);
  for (const Shard& s : shards) {
    const std::string mine = Comparable(s.settings);
    if (mine != first) {
      return Status::Error(Name(s) + " and " + Name(shards.front()) +
                           " ran with different settings (" + FirstDifference(mine, first) +
                           "); merge takes the shards of one job");
    }
  }
  return shards;
}

// A finished shard's record files end with a whole record: a torn one means
// the shard was killed after its log said it ended, or the file was edited.
Status CheckWhole(const std::string& path, char terminator, const Shard& shard) {
  if (path.ends_with(".zst")) {
    // Whether the last frame is whole and ends a record: only decoding tells.
    LineScan scan;
    Status st = ScanLines(path, terminator, &scan, [](std::string_view) {});
    if (!st.ok()) return st;
    if (!scan.torn) return Status::Ok();
    return Status::Error(path + " ends in a torn record; 'shoal resume " + shard.dir +
                         "' repairs " + Name(shard) + ", then merge again");
  }
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid())
    return errno == ENOENT ? Status::Ok() : Status::FromErrno(path, errno, StatusCode::kUsage);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(path, errno, StatusCode::kUsage);
  char last = terminator;
  if (st.st_size > 0 && ::pread(fd.get(), &last, 1, st.st_size - 1) != 1) {
    return Status::FromErrno("cannot read " + path, errno, StatusCode::kUsage);
  }
  if (last != terminator) {
    return Status::Error(path + " ends in a torn record; 'shoal resume " + shard.dir +
                         "' repairs " + Name(shard) + ", then merge again");
  }
  return Status::Ok();
}

// The lines of a file read one at a time, beside another file's lines.
class TwinLines {
 public:
  TwinLines() = default;
  TwinLines(const TwinLines&) = delete;
  TwinLines& operator=(const TwinLines&) = delete;
  ~TwinLines() {
    std::free(line_);
    if (file_ != nullptr) std::fclose(file_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) file_ = ::fdopen(fd, "r");
    if (file_ == nullptr && fd >= 0) ::close(fd);
    if (file_ == nullptr && errno != ENOENT) return Status::FromErrno("cannot read " + path, errno);
    return Status::Ok();
  }
  // The next line without its newline; false at the end. `line` may be null.
  bool Next(std::string_view* line) {
    if (file_ == nullptr) return false;
    ssize_t n = ::getline(&line_, &capacity_, file_);
    if (n < 0) {
      if (std::ferror(file_)) status_ = Status::FromErrno("cannot read " + path_, errno);
      return false;
    }
    std::string_view read(line_, static_cast<size_t>(n));
    if (!read.empty() && read.back() == '\n') read.remove_suffix(1);
    if (line != nullptr) *line = read;
    return true;
  }
  Status status() const { return status_; }

 private:
  std::string path_;
  FILE* file_ = nullptr;
  char* line_ = nullptr;
  size_t capacity_ = 0;
  Status status_;
};

class Merger {
 public:
  Merger(std::vector<Shard> shards, std::string out_dir, std::optional<Join> join)
      : shards_(std::move(shards)), out_dir_(std::move(out_dir)), join_(std::move(join)) {
    const Settings& s = join_ ? join_->settings : shards_.front().settings;
    tsv_ = s.output.format == OutputFormat::kTsv;
    // results.tsv of the sha256 handler is sha256sum's format: its index is
    // in times.tsv.
    timed_ = HasTimesFile(s);
    separator_ = s.input.separator == Separator::kNul ? '\0' : '\n';
    results_name_ = ResultsFileName(s.output.format, s.output.compress);
    compress_ = s.output.compress;
  }

  Result<MergeReport> Run() {
    const std::string started = TimestampNow();
    for (const Shard& s : shards_) {
      for (auto [name, terminator] :
           {std::pair{results_name_, '\n'}, std::pair{std::string(kTimesFile), '\n'},
            std::pair{std::string("errors.jsonl"), '\n'},
            std::pair{std::string("failed.txt"), separator_}}) {
        Status st = CheckWhole(s.dir + "/" + name, terminator, s);
        if (!st.ok()) return st;
      }
    }
    report_.dir = out_dir_;
    report_.shards = static_cast<uint32_t>(shards_.size());
    if (join_) return RunJoin();
    std::error_code ec;
    fs::create_directories(out_dir_, ec);
    if (ec) return Status::Error("cannot create " + out_dir_ + ": " + ec.message());
    // The merged run is as private as the shards' output.mode says; its
    // files follow (FileModeIn).
    if (int mode = RunDirMode(shards_.front().settings.output.mode); mode >= 0) {
      ::chmod(out_dir_.c_str(), static_cast<mode_t>(mode));
    }

    Status st = WriteSettings();
    if (st.ok()) st = CopyRecords(results_name_, /*ok=*/true);
    if (st.ok()) st = CopyRecords("errors.jsonl", /*ok=*/false);
    if (st.ok()) st = CopyFailed();
    if (st.ok() && report_.duplicates > 0) st = DescribeDuplicates();
    if (st.ok()) st = LinkFiles();
    if (st.ok()) st = CopyTimelines();
    if (st.ok()) st = WriteLog();
    // Last: the merged run.json says ended once everything else is written.
    if (st.ok()) st = WriteMergedState(started);
    if (!st.ok()) return st;
    return report_;
  }

 private:
  // The shards' records that the run lacks are appended to its own, their
  // files replace the run's at the same paths (the retry's outcome is the
  // later one), failed.txt is rebuilt from errors.jsonl; everything is
  // synced before run.json says the retry finished. A join killed at any
  // point leaves the run in a state that the same merge, run again,
  // completes: records already there are passed over, files linked again.
  Result<MergeReport> RunJoin() {
    report_.ok = join_->records.ok;
    report_.failed = join_->records.failed;
    Status st = CopyRecords(results_name_, /*ok=*/true);
    if (st.ok()) FaultPoint("merge-join");  // 1: results appended, errors not yet
    if (st.ok()) st = CopyRecords("errors.jsonl", /*ok=*/false);
    if (st.ok()) FaultPoint("merge-join");  // 2: records appended, failed.txt as before
    if (st.ok()) st = RebuildFailedList(out_dir_, join_->settings);
    if (st.ok() && report_.duplicates > 0) st = DescribeDuplicates();
    if (st.ok()) st = LinkFiles();
    if (st.ok()) st = CountUnjoined();
    if (st.ok()) st = WriteLog();
    if (st.ok()) st = SyncRunFileSystem();
    if (st.ok()) FaultPoint("merge-join");  // 3: all on disk, run.json not yet
    if (!st.ok()) return st;
    // Last, the commit: the retry has finished once each of its items has a
    // record; otherwise resume runs the rest of it.
    RunState& state = join_->state;
    state.retrying = report_.unjoined > 0;
    state.End(report_.exit_code, report_.ok, report_.failed);
    st = WriteRunState(out_dir_, state);
    if (!st.ok()) return st;
    return report_;
  }

  // The items of the retry that still have no record (a shard halted by
  // job.max_failures leaves some).
  Status CountUnjoined() {
    Result<std::unique_ptr<ItemSource>> items =
        OpenRetryItems(RetryItemsPath(out_dir_, join_->state));
    if (!items.ok()) return items.status();
    Item item;
    while ((*items)->Next(&item)) {
      if (!join_->records.done.Contains(item.index) && !done_.Contains(item.index)) {
        ++report_.unjoined;
      }
    }
    return (*items)->status();
  }

  Status SyncRunFileSystem() {
    UniqueFd fd(::open(out_dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd.valid() || ::syncfs(fd.get()) != 0) {
      return Status::FromErrno("cannot sync " + out_dir_, errno);
    }
    return Status::Ok();
  }

  Status WriteSettings() {
    Settings merged = shards_.front().settings;
    merged.input.shard.clear();
    // 'shoal retry' of the merged run writes its run beside it.
    merged.output.dir = fs::absolute(out_dir_).lexically_normal().parent_path().string();
    for (const Shard& s : shards_) {
      if (s.settings.job.workers != merged.job.workers) merged.job.workers = 0;
    }
    settings_toml_ = SettingsToToml(merged);
    workers_ = merged.job.workers;
    RecordFile file;
    Status st = file.Open(out_dir_ + "/settings.toml");
    if (!st.ok()) return st;
    file.Append(settings_toml_);
    return file.Flush();
  }

  // The merged run's run.json, as a run that ended now would have it.
  Status WriteMergedState(const std::string& started) {
    RunState state = RunState::Start(settings_toml_, workers_, 0, 0);
    state.started = started;
    state.End(report_.exit_code, report_.ok, report_.failed);
    return WriteRunState(out_dir_, state);
  }

  // The index and item of a record line, into key_.
  bool ReadKey(std::string_view line, bool tsv) {
    return tsv ? ReadTsvRecordKey(line, &key_) : reader_.Read(line, &key_);
  }

  // Copies the records of `name` (results or errors.jsonl) of every shard.
  // The sha256 handler's results.tsv has its index in times.tsv: the records
  // are then times.tsv's lines, each copied with its twin line of results.tsv.
  Status CopyRecords(const std::string& name, bool ok) {
    const bool timed = ok && timed_;
    const std::string file = timed ? std::string(kTimesFile) : name;
    RecordFile out, twin_out;
    // A timed run is never compressed (settings refuse it): its files stay
    // sha256sum's and times.tsv's plain lines.
    Status st = out.Open(out_dir_ + "/" + file, '\n', -1, ok ? compress_ : Compression::kNone);
    if (st.ok() && timed) st = twin_out.Open(out_dir_ + "/" + name);
    if (!st.ok()) return st;
    const bool tsv = ok && tsv_;
    const std::string_view header = timed ? kTimesHeader : kTsvHeader;
    // One header for a new merged file (a join appends to the run's, which
    // has its own); each shard's is passed over.
    if (tsv && !join_) {
      out.Append(header);
      out.Append("\n");
    }
    for (const Shard& shard : shards_) {
      const std::string path = shard.dir + "/" + file;
      TwinLines twins;
      if (timed) st = twins.Open(shard.dir + "/" + name);
      if (!st.ok()) return st;
      bool torn = false;
      Status bad;
      uint64_t line_no = 0;
      st = ForEachLine(path, '\n', /*cut_torn=*/false, &torn, [&](std::string_view line) {
        ++line_no;
        if (!bad.ok()) return;
        if (tsv && line_no == 1 && line == header) return;
        std::string_view twin;
        if (timed && !twins.Next(&twin)) {
          bad = Status::Error(shard.dir + "/" + name + " has fewer lines than " + path +
                              "; 'shoal resume " + shard.dir + "' repairs " + Name(shard) +
                              ", then merge again");
          return;
        }
        if (!ReadKey(line, tsv)) {
          bad = Status::Error(path + ":" + std::to_string(line_no) +
                              ": a record without a readable index and item; was this file "
                              "edited? fix or remove that line in " +
                              Name(shard) + ", then merge again");
          return;
        }
        if (join_ && join_->records.done.Contains(key_.index)) {
          ++report_.already_joined;  // joined before, or run there by resume
          return;
        }
        if (!done_.Add(key_.index)) {
          ++report_.duplicates;
          if (examples_.size() < kMaxExamples) examples_.insert(key_.index);
        }
        (ok ? report_.ok : report_.failed)++;
        if (timed) {
          twin_out.Append(twin);
          twin_out.Append("\n");
        }
        out.Append(line);
        out.Append("\n");
        if (out.pending() >= kFlushBytes) {
          bad = twin_out.Flush();
          if (bad.ok()) bad = out.Flush();
        }
      });
      if (st.ok()) st = bad;
      if (st.ok() && timed && twins.Next(nullptr)) {
        st = Status::Error(shard.dir + "/" + name + " has more lines than " + path +
                           "; 'shoal resume " + shard.dir + "' repairs " + Name(shard) +
                           ", then merge again");
      }
      if (st.ok()) st = twins.status();
      if (!st.ok()) return st;
    }
    // results.tsv before times.tsv; a crash between them is cut back by resume.
    st = twin_out.Flush();
    return st.ok() ? out.Flush() : st;
  }

  // Each shard's timeline.jsonl as timelines/shard-K.jsonl: the merged run
  // keeps one line a second per shard, which `shoal report` draws per shard.
  Status CopyTimelines() {
    for (const Shard& shard : shards_) {
      const std::string from = shard.dir + "/" + kTimelineFile;
      if (!fs::exists(from)) continue;
      std::error_code ec;
      fs::create_directories(out_dir_ + "/" + kShardTimelinesDir, ec);
      RecordFile out;
      Status st = out.Open(out_dir_ + "/" + kShardTimelinesDir + "/shard-" +
                           std::to_string(shard.spec.index) + ".jsonl");
      if (!st.ok()) return st;
      bool torn = false;
      st = ForEachLine(from, '\n', /*cut_torn=*/false, &torn, [&](std::string_view line) {
        out.Append(line);
        out.Append("\n");
      });
      if (st.ok()) st = out.Flush();
      if (!st.ok()) return st;
    }
    return Status::Ok();
  }

  Status CopyFailed() {
    RecordFile out;
    Status st = out.Open(out_dir_ + "/failed.txt");
    if (!st.ok()) return st;
    for (const Shard& shard : shards_) {
      bool torn = false;
      Status bad;
      st = ForEachLine(shard.dir + "/failed.txt", separator_, /*cut_torn=*/false, &torn,
                       [&](std::string_view item) {
                         if (!bad.ok()) return;
                         out.Append(item);
                         out.buffer()->push_back(separator_);
                         if (out.pending() >= kFlushBytes) bad = out.Flush();
                       });
      if (st.ok()) st = bad;
      if (!st.ok()) return st;
    }
    return out.Flush();
  }

  // The files records name (output_file: out/..., spill/...) and item logs,
  // at the same paths in the merged run: hard links when the shards are on
  // the same file system (no copy, no space), copies otherwise. Symlinks are
  // copied as symlinks, never followed.
  Status LinkFiles() {
    for (const Shard& shard : shards_) {
      for (const char* sub : {"out", "spill", "logs"}) {
        const fs::path from = fs::path(shard.dir) / sub;
        std::error_code ec;
        if (!fs::is_directory(fs::symlink_status(from, ec))) continue;
        fs::create_directories(fs::path(out_dir_) / sub, ec);
        fs::recursive_directory_iterator it(from, ec), end;
        for (; !ec && it != end; it.increment(ec)) {
          const fs::path rel = fs::path(sub) / it->path().lexically_relative(from);
          const fs::path to = fs::path(out_dir_) / rel;
          const fs::file_status status = it->symlink_status(ec);
          if (ec) break;
          if (fs::is_directory(status)) {
            fs::create_directory(to, ec);
          } else if (IsLeftoverTemporary(it->path().filename().string())) {
            continue;  // a killed worker's unfinished stdout file: no item's output
          } else if (fs::is_regular_file(status) || fs::is_symlink(status)) {
            Status st = LinkOne(it->path(), to, fs::is_symlink(status), rel.string(), shard);
            if (!st.ok()) return st;
          }
        }
        if (ec) {
          return Status::Error("cannot link the files of " + Name(shard) + " under " +
                               from.string() + ": " + ec.message());
        }
      }
    }
    return Status::Ok();
  }

  Status LinkOne(const fs::path& from, const fs::path& to, bool symlink, const std::string& rel,
                 const Shard& shard) {
    if (join_) return ReplaceOne(from, to, symlink);
    std::error_code ec;
    if (fs::exists(fs::symlink_status(to, ec))) {  // (ec says "no such file" otherwise)
      ++report_.file_conflicts;
      if (report_.file_conflict_examples.size() < kMaxExamples) {
        report_.file_conflict_examples.push_back(rel + ": kept the first shard's, not " +
                                                 Name(shard) + "'s");
      }
      return Status::Ok();
    }
    ec.clear();
    if (symlink) {
      fs::copy_symlink(from, to, ec);
    } else if (::link(from.c_str(), to.c_str()) != 0) {
      if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
        return Status::FromErrno("cannot link " + from.string() + " to " + to.string(), errno);
      }
      fs::copy_file(from, to, ec);
    }
    if (ec)
      return Status::Error("cannot copy " + from.string() + " to " + to.string() + ": " +
                           ec.message());
    ++report_.files;
    return Status::Ok();
  }

  // A join: the shard's file replaces the run's at `to` (its earlier
  // outcome) by a rename, so that `to` is always one whole file; linked
  // again by a join that is run again.
  Status ReplaceOne(const fs::path& from, const fs::path& to, bool symlink) {
    const fs::path tmp = to.parent_path() / ("." + to.filename().string() + ".shoal-join");
    std::error_code ec;
    fs::remove(tmp, ec);  // a killed join's
    ec.clear();
    if (symlink) {
      fs::copy_symlink(from, tmp, ec);
    } else if (::link(from.c_str(), tmp.c_str()) != 0) {
      if (errno != EXDEV && errno != EPERM && errno != EMLINK) {
        return Status::FromErrno("cannot link " + from.string() + " to " + tmp.string(), errno);
      }
      fs::copy_file(from, tmp, ec);
    }
    if (ec) {
      return Status::Error("cannot copy " + from.string() + " to " + tmp.string() + ": " +
                           ec.message());
    }
    if (::rename(tmp.c_str(), to.c_str()) != 0) {
      return Status::FromErrno("cannot rename " + tmp.string() + " to " + to.string(), errno);
    }
    // rename does nothing when both name the same file (joined before).
    fs::remove(tmp, ec);
    ++report_.files;
    return Status::Ok();
  }

  // A second pass over the records, only for the indices shown as examples.
  Status DescribeDuplicates() {
    std::map<uint64_t, std::pair<std::string, std::string>> seen;  // index -> item, where
    for (const Shard& shard : shards_) {
      for (bool ok : {true, false}) {
        const std::string file = !ok ? "errors.jsonl" : timed_ ? kTimesFile : results_name_;
        bool torn = false;
        Status st = ForEachLine(shard.dir + "/" + file, '\n',
                                /*cut_torn=*/false, &torn, [&](std::string_view line) {
                                  if (!ReadKey(line, ok && tsv_)) return;
                                  if (!examples_.contains(key_.index)) return;
                                  auto& [item, where] = seen[key_.index];
                                  if (item.empty()) item = key_.item;
                                  where += (where.empty() ? "" : ", ") + std::string("shard ") +
                                           std::to_string(shard.spec.index) +
                                           (ok ? " (ok)" : " (failed)");
                                });
        if (!st.ok()) return st;
      }
    }
    for (const auto& [index, entry] : seen) {
      std::string quoted;
      AppendJsonString(&quoted, entry.first);
      report_.duplicate_examples.push_back("item " + std::to_string(index) + " " + quoted + ": " +
                                           entry.second);
    }
    return Status::Ok();
  }

  Status WriteLog() {
    RecordFile log;
    Status st = log.Open(out_dir_ + "/log.txt");
    if (!st.ok()) return st;
    auto line = [&](const std::string& message) {
      log.Append(TimestampNow() + " " + message + "\n");
    };
    const uint32_t n = shards_.front().spec.count;
    if (join_) {
      line("merge of " + std::to_string(n) + " shards of retry " +
           std::to_string(join_->state.retries) + " into this run");
    } else {
      line("merge of " + std::to_string(n) + " shards of job " + shards_.front().settings.job.name +
           " into " + out_dir_);
    }
    for (const Shard& s : shards_) {
      const std::string shard = "shard " + FormatShard(s.spec) + " " + s.dir + ": ";
      if (s.summary.empty()) line(shard + "summary: (none in its log.txt)");
      for (const std::string& summary : s.summary) line(shard + summary);
    }
    report_.exit_code = report_.failed > 0 ? 1 : 0;
    if (join_) {
      line("total: " + std::to_string(report_.ok) + " ok, " + std::to_string(report_.failed) +
           " failed, " + std::to_string(report_.ok + report_.failed) + " items in the run; " +
           std::to_string(report_.already_joined) + " shard record(s) were in it already");
    } else {
      line("total: " + std::to_string(report_.ok) + " ok, " + std::to_string(report_.failed) +
           " failed, " + std::to_string(report_.ok + report_.failed) + " items in " +
           std::to_string(n) + " shards");
    }
    if (report_.unjoined > 0) {
      report_.exit_code = kExitItemsFailed;
      line("warning: " + std::to_string(report_.unjoined) + " item(s) of retry " +
           std::to_string(join_->state.retries) +
           " have no record (a shard halted?); 'shoal resume " + out_dir_ + "' runs them");
    }
    if (report_.duplicates > 0) {
      line("warning: " + std::to_string(report_.duplicates) +
           " record(s) repeat the index of another record: items in two shards, or shards "
           "that did not see the same input; all records were kept");
      for (const std::string& e : report_.duplicate_examples) line("duplicate: " + e);
    }
    if (report_.files > 0) {
      line(std::to_string(report_.files) + " file(s) of out/, spill/ and logs/ linked in");
    }
    if (report_.file_conflicts > 0) {
      line("warning: " + std::to_string(report_.file_conflicts) +
           " file(s) exist in more than one shard at the same path; the first shard's is "
           "linked, the others stay in their shard directories");
      for (const std::string& e : report_.file_conflict_examples) line("conflict: " + e);
    }
    line("merge ended, exit status " + std::to_string(report_.exit_code));
    return log.Flush();
  }

  std::vector<Shard> shards_;
  std::string out_dir_;
  std::optional<Join> join_;
  bool tsv_ = false;
  bool timed_ = false;
  char separator_ = '\n';
  std::string results_name_;
  Compression compress_ = Compression::kNone;
  std::string settings_toml_;  // the merged settings.toml
  int workers_ = 0;
  DoneSet done_;
  RecordKeyReader reader_;
  RecordKey key_;
  std::set<uint64_t> examples_;
  MergeReport report_;
};

}  // namespace

Result<MergeReport> MergeShards(const std::vector<std::string>& run_dirs,
                                const std::string& out_dir) {
  if (run_dirs.empty()) return Status::Error("merge needs the run directories of the shards");
  std::error_code ec;
  std::string out = fs::absolute(out_dir, ec).lexically_normal().string();
  if (ec) return Status::Error("cannot resolve " + out_dir + ": " + ec.message());
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  Result<std::vector<Shard>> shards = LoadShards(run_dirs);
  if (!shards.ok()) return shards.status();
  for (Shard& s : *shards) {
    Status st = CheckShardEnded(&s);
    if (st.ok()) st = ReadShardSummary(&s);
    if (!st.ok()) return st;
  }
  Result<std::optional<Join>> join = OpenJoin(*shards, out);
  if (!join.ok()) return join.status();
  if (!join->has_value()) {
    Status st = CheckOutDir(out);
    if (!st.ok()) return st;
  }
  return Merger(std::move(shards).value(), out, std::move(join).value()).Run();
}

}  // namespace shoal
