// shoal retry: the failed items of an ended run run again in its own
// directory (see retry.h for the steps and their commit point).
#include "master/retry.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "common/fault.h"
#include "common/fd.h"
#include "job/fields.h"
#include "master/record_key.h"
#include "master/resume.h"
#include "master/slurm.h"

namespace shoal {

namespace {

constexpr char kSplitFile[] = "errors.jsonl.retry";

std::string RetryDir(const std::string& run_dir, uint64_t n) {
  return run_dir + "/retries/" + std::to_string(n);
}

// Steps 1 and 2: the failed records that can run again into retries/N, the
// others into errors.jsonl.retry. Streams errors.jsonl; *retried counts the
// records moved aside.
Status SplitFailures(const std::string& run_dir, const Settings& settings, uint64_t n,
                     uint64_t* retried) {
  namespace fs = std::filesystem;
  const char separator = settings.input.separator == Separator::kNul ? '\0' : '\n';
  const bool csv_records = FieldModeOf(settings.input) == FieldMode::kCsv;
  const std::string retries = run_dir + "/retries";
  const std::string tmp = RetryDir(run_dir, n) + ".tmp";
  struct stat run_st;
  const mode_t dir_mode = ::stat(run_dir.c_str(), &run_st) == 0 ? (run_st.st_mode & 0777) : 0700;
  if (::mkdir(retries.c_str(), dir_mode) != 0 && errno != EEXIST) {
    return Status::FromErrno("cannot create " + retries, errno);
  }
  if (::mkdir(tmp.c_str(), dir_mode) != 0) return Status::FromErrno("cannot create " + tmp, errno);
  Result<AtomicFile> moved = AtomicFile::Create(tmp + "/errors.jsonl");
  if (!moved.ok()) return moved.status();
  Result<AtomicFile> listed = AtomicFile::Create(tmp + "/failed.txt");
  if (!listed.ok()) return listed.status();
  Result<AtomicFile> kept = AtomicFile::Create(run_dir + "/" + kSplitFile);
  if (!kept.ok()) return kept.status();
  std::string moved_buf, listed_buf, kept_buf;
  Status written;
  auto flush = [&](bool force) {
    if (!written.ok()) return;
    for (auto [file, buf] : {std::pair{&*moved, &moved_buf}, std::pair{&*listed, &listed_buf},
                             std::pair{&*kept, &kept_buf}}) {
      if ((force || buf->size() >= (1u << 20)) && written.ok()) {
        written = file->Append(*buf);
        buf->clear();
      }
    }
  };
  RecordKeyReader reader;
  RecordKey key;
  LineScan scan;
  *retried = 0;
  Status st = ScanLines(run_dir + "/errors.jsonl", '\n', &scan, [&](std::string_view line) {
    // Every line is a record: ReadRunRecords checked, RepairRunRecords cut.
    const bool runnable = reader.Read(line, &key) && CanRunAgain(key.item, key.attempts);
    std::string* to = runnable ? &moved_buf : &kept_buf;
    to->append(line);
    to->push_back('\n');
    if (runnable) {
      ++*retried;
      if (FailedListCanHold(key.item, separator, csv_records)) {
        listed_buf.append(key.item);
        listed_buf.push_back(separator);
      }
    }
    flush(false);
  });
  flush(true);
  if (st.ok()) st = written;
  if (st.ok()) st = moved->Commit();
  if (st.ok()) st = listed->Commit();
  if (!st.ok()) return st;
  if (*retried == 0) {
    fs::remove_all(tmp);
    return Status::Ok();  // `kept` is removed by its destructor
  }
  if (::rename(tmp.c_str(), RetryDir(run_dir, n).c_str()) != 0) {
    return Status::FromErrno("cannot rename " + tmp, errno);
  }
  st = SyncDirectory(retries);
  FaultPoint("retry-step");  // 1: retries/N made, errors.jsonl.retry not yet
  if (st.ok()) st = kept->Commit();
  FaultPoint("retry-step");  // 2: errors.jsonl.retry written, not committed
  return st;
}

// The items of retries/N/errors.jsonl, one record at a time.
class RetryItems : public ItemSource {
 public:
  RetryItems(FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  ~RetryItems() override {
    std::free(line_);
    std::fclose(file_);
  }
  bool Next(Item* item) override {
    while (true) {
      ssize_t n = ::getline(&line_, &capacity_, file_);
      if (n < 0) {
        if (std::ferror(file_)) status_ = Status::FromErrno("cannot read " + path_, errno);
        done_ = true;
        return false;
      }
      std::string_view line(line_, static_cast<size_t>(n));
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      if (!reader_.Read(line, &key_) || !CanRunAgain(key_.item, key_.attempts)) continue;
      item->index = key_.index;
      item->text = key_.item;
      item->error.clear();
      ++seen_;
      return true;
    }
  }
  Status status() const override { return status_; }
  uint64_t seen() const override { return seen_; }
  bool done() const override { return done_; }

 private:
  FILE* file_;
  std::string path_;
  char* line_ = nullptr;
  size_t capacity_ = 0;
  RecordKeyReader reader_;
  RecordKey key_;
  Status status_;
  uint64_t seen_ = 0;
  bool done_ = false;
};

}  // namespace

// Leftovers of a retry that never reached its commit point (run.json
// "retries"): retries/K beyond it, retries/K.tmp, and errors.jsonl.retry
// unless that retry is in progress. None of them holds the only copy of a
// record: before the commit, errors.jsonl still has them all.
Status RemoveUncommittedRetry(const std::string& run_dir, const RunState& state) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path retries = fs::path(run_dir) / "retries";
  if (fs::is_directory(fs::symlink_status(retries, ec))) {
    for (const auto& entry : fs::directory_iterator(retries, ec)) {
      const std::string name = entry.path().filename().string();
      const size_t end = std::min(name.find_first_not_of("0123456789"), name.size());
      if (end == 0 || end > 18) continue;  // not a retry's
      const std::string rest = name.substr(end);
      const bool uncommitted =
          rest == ".tmp" || (rest.empty() && std::stoull(name.substr(0, end)) > state.retries);
      if (!uncommitted) continue;
      fs::remove_all(entry.path(), ec);
      if (ec)
        return Status::IoError("cannot remove " + entry.path().string() + ": " + ec.message());
    }
    if (ec) return Status::IoError("cannot read " + retries.string() + ": " + ec.message());
  }
  if (!state.retrying) {
    const std::string split = run_dir + "/" + kSplitFile;
    if (::unlink(split.c_str()) != 0 && errno != ENOENT) {
      return Status::FromErrno("cannot remove " + split, errno);
    }
  }
  return Status::Ok();
}

// Step 4 of a retry, once run.json says it began: errors.jsonl.retry (what
// stays of errors.jsonl) replaces errors.jsonl. Done at most once: after the
// rename the file is gone, and later records are appended to the new one.
Status FinishRetrySplit(const std::string& run_dir) {
  const std::string split = run_dir + "/" + kSplitFile;
  Status st = CheckRegularOrMissing(split);
  if (!st.ok()) return st;
  if (::rename(split.c_str(), (run_dir + "/errors.jsonl").c_str()) != 0) {
    return errno == ENOENT
               ? Status::Ok()
               : Status::FromErrno("cannot rename " + split + " to errors.jsonl", errno);
  }
  return SyncDirectory(run_dir);
}

// A retry in progress: the run goes on with the items of the retry that
// have no record yet in the run's own files.
Result<int> RunRetryItems(const std::string& run_dir, const Settings& settings,
                          const RunState& state, RunOptions options) {
  auto records = ReadRunRecords(run_dir, settings);
  if (!records.ok()) return records.status();
  // No check against the input: the items come from the records, and the
  // input may be gone by now.
  Status st = RepairRunRecords(run_dir, settings, *records);
  if (!st.ok()) return st;
  st = RemoveLeftoverTemporaries(run_dir, settings, options.quiet);
  if (!st.ok()) return st;
  options.resume_dir = run_dir;
  options.resume = std::make_shared<RunRecords>(std::move(*records));
  // A shard of another run's retry takes its items from that run.
  options.retry_items = RetryItemsPath(state.retry_of.empty() ? run_dir : state.retry_of, state);
  options.retries = state.retries;
  options.retrying = true;
  options.retry_of = state.retry_of;
  return RunJob(settings, options);
}

namespace {

// Steps 1 to 4 of the next retry of an ended run, up to and past its commit
// point. Returns its number, or 0 when nothing can run again (said on stderr);
// *never_ran: the failed items that cannot run again (the input could not
// deliver them whole).
Result<uint64_t> BeginRetry(const std::string& run_dir, const Settings& settings, RunState* state,
                            uint64_t* never_ran) {
  if (!state->ended) {
    return Status::Error(run_dir +
                         " has not ended (interrupted, killed or still running): its items "
                         "without a record are neither done nor failed yet. 'shoal resume " +
                         run_dir + "' finishes it; then retry what failed");
  }
  // Checked before anything changes, as resume does.
  auto records = ReadRunRecords(run_dir, settings);
  if (!records.ok()) return records.status();
  Status st = RemoveUncommittedRetry(run_dir, *state);
  if (st.ok()) st = RepairRunRecords(run_dir, settings, *records);
  if (!st.ok()) return st;
  const uint64_t n = state->retries + 1;
  uint64_t retried = 0;
  if (records->failed > 0) st = SplitFailures(run_dir, settings, n, &retried);
  if (!st.ok()) return st;
  *never_ran = records->failed - std::min(records->failed, retried);
  if (*never_ran > 0) {
    // Running the same bytes again would fail them the same way.
    std::fprintf(stderr,
                 "shoal: %s has %llu failed item(s) that %s: the input could not deliver them "
                 "whole (a missing or empty CSV column, a stray quote, an item too long; "
                 "errors.jsonl names each line). Fix those lines and run them with 'shoal run "
                 "SETTINGS --items FILE', or fix the input and start a new run\n",
                 run_dir.c_str(), static_cast<unsigned long long>(*never_ran),
                 retried == 0 ? "cannot run again" : "this retry leaves out");
  }
  if (retried == 0) {
    if (records->failed == 0) {
      std::fprintf(stderr, "shoal: %s has no failed items; nothing to retry\n", run_dir.c_str());
    }
    return uint64_t{0};
  }
  // The commit point: from here on the retry is finished by resume.
  state->retries = n;
  state->retrying = true;
  state->ended = false;
  state->ended_at.clear();
  state->exit_status.reset();
  st = WriteRunState(run_dir, *state);
  if (st.ok()) FaultPoint("retry-step");  // 3: committed, errors.jsonl not yet replaced
  if (st.ok()) st = FinishRetrySplit(run_dir);
  if (st.ok()) FaultPoint("retry-step");  // 4: split, failed.txt not yet rebuilt
  if (!st.ok()) return st;
  return n;
}

}  // namespace

std::string RetryItemsPath(const std::string& run_dir, const RunState& state) {
  return RetryDir(run_dir, state.retries) + "/errors.jsonl";
}

Result<int> RetryJob(const std::string& given_dir, const std::vector<Override>& overrides,
                     RunOptions options) {
  const std::string run_dir = ResolveRunDir(given_dir);
  Settings settings;
  RunState state;
  Status st = OpenRunDir(run_dir, overrides, &settings, &state);
  if (!st.ok()) return st;
  if (state.retrying) {
    if (!options.quiet) {
      std::fprintf(stderr, "shoal: retry %llu of %s did not finish; finishing it\n",
                   static_cast<unsigned long long>(state.retries), run_dir.c_str());
    }
    return ResumeJob(run_dir, overrides, std::move(options));
  }
  uint64_t never_ran = 0;
  Result<uint64_t> n = BeginRetry(run_dir, settings, &state, &never_ran);
  if (!n.ok()) return n.status();
  if (*n == 0) return never_ran > 0 ? kExitItemsFailed : kExitOk;
  return RunRetryItems(run_dir, settings, state, std::move(options));
}

Result<int> RetryShardJob(const std::string& given_dir, const std::vector<Override>& overrides,
                          RunOptions options) {
  const std::string run_dir = ResolveRunDir(given_dir);
  Settings settings;
  RunState state;
  Status st = OpenRunDir(run_dir, overrides, &settings, &state);
  if (!st.ok()) return st;
  if (!state.retrying) {
    return Status::Error(run_dir +
                         " has no retry in progress: 'shoal retry RUN_DIR --shard K/N' runs one "
                         "shard of the retry that 'shoal retry RUN_DIR --shards N' began");
  }
  // The settings of the retry's shards, frozen when it began, if it wrote them.
  const std::string frozen = RetryDir(run_dir, state.retries) + "/settings.toml";
  if (struct stat frozen_st; ::stat(frozen.c_str(), &frozen_st) == 0) {
    Result<Settings> loaded = LoadSettings(frozen, overrides);
    if (!loaded.ok()) return loaded.status();
    settings = std::move(loaded).value();
  }
  options.retry_items = RetryItemsPath(run_dir, state);
  options.retries = state.retries;
  options.retrying = true;
  options.retry_of = run_dir;
  return RunJob(settings, options);
}

Result<int> RetryOnSlurmJob(const std::string& given_dir, const std::vector<Override>& overrides,
                            const SlurmCommandLine& slurm, bool quiet) {
  const std::string run_dir = ResolveRunDir(given_dir);
  Settings settings;
  RunState state;
  Status st = OpenRunDir(run_dir, overrides, &settings, &state);
  if (!st.ok()) return st;
  settings.input.shard.clear();
  if (!SafeForDirective(run_dir)) {  // checked before the retry begins
    return Status::Error(run_dir +
                         " holds a space or a quote, which #SBATCH --output cannot take; rename "
                         "the run directory to retry it with --shards");
  }
  if (state.retrying) {
    return Status::Error(run_dir + ": retry " + std::to_string(state.retries) +
                         " has not finished. If its shards ran, 'shoal merge SHARD_DIR... -o " +
                         run_dir + "' joins them; 'shoal resume " + run_dir +
                         (PendingSlurmRetry(run_dir, state).empty() ? "" : " --force") +
                         "' runs what is left of it here");
  }
  uint64_t never_ran = 0;
  Result<uint64_t> n = BeginRetry(run_dir, settings, &state, &never_ran);
  if (!n.ok()) return n.status();
  if (*n == 0) return never_ran > 0 ? kExitItemsFailed : kExitOk;
  // The job directory goes into retries/N: the run directory stays the one
  // place of the job, its retries included.
  settings.output.dir = RetryDir(run_dir, *n);
  Result<int> submitted = RunSlurmJob(settings, slurm, quiet, run_dir);
  if (!submitted.ok()) {
    return Status::Error(submitted.status().message() + "\nshoal: retry " + std::to_string(*n) +
                         " of " + run_dir + " has begun; 'shoal resume " + run_dir +
                         " --force' runs its items here");
  }
  return submitted;
}

Result<std::unique_ptr<ItemSource>> OpenRetryItems(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno("cannot open the retry's items " + path, errno);
  FILE* file = ::fdopen(fd, "r");
  if (file == nullptr) {
    ::close(fd);
    return Status::FromErrno("cannot read " + path, errno);
  }
  return std::unique_ptr<ItemSource>(std::make_unique<RetryItems>(file, path));
}

}  // namespace shoal
