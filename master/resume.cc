#include "master/resume.h"

#include "job/fields.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/fd.h"
#include "job/output_file.h"
#include "master/item_source.h"
#include "master/record_key.h"
#include "master/recorded_input.h"
#include "master/retry.h"
#include "master/run_dir.h"
#include "master/run_state.h"
#include "master/supervisor.h"

namespace shoal {

namespace {

// SplitMix64's finalizer: spreads an index or a hash over all 64 bits.
uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string ResultsPath(const std::string& run_dir, const Settings& settings) {
  return run_dir + "/" + ResultsFileName(settings.output.format, settings.output.compress);
}

// The offset just past the first `lines` lines of a file, for cutting it
// back to that many.
Result<uint64_t> OffsetAfterLines(const std::string& path, uint64_t lines) {
  LineScan scan;
  uint64_t seen = 0, offset = 0;
  Status st = ScanLines(path, '\n', &scan, [&](std::string_view line) {
    if (seen++ < lines) offset += line.size() + 1;
  });
  if (!st.ok()) return st;
  return offset;
}

// The sha256 handler's results: line K of times.tsv (after kTimesHeader)
// gives the index and item of line K of results.tsv. Only lines with a twin
// are records. A crash between the two files' writes leaves one longer: it
// is marked to be cut back to the other's length (as a torn tail is), and
// those items run again.
Status ScanTimedSums(const std::string& run_dir, LineScan* results_scan, LineScan* times_scan,
                     std::string* bad_line,
                     const std::function<void(const RecordKey&, bool)>& on_record) {
  const std::string results = run_dir + "/results.tsv";
  const std::string times = run_dir + "/" + kTimesFile;
  uint64_t sums = 0;
  Status st = ScanLines(results, '\n', results_scan, [&](std::string_view) { ++sums; });
  if (!st.ok()) return st;
  if (sums > 0 && ::access(times.c_str(), F_OK) != 0) {
    return Status::Error(run_dir + " has results.tsv lines but no " + kTimesFile +
                         " (a run of an older shoal), so which items they are is not known: "
                         "it cannot be resumed or retried in place; run its failed items with "
                         "'shoal run SETTINGS --items " +
                         run_dir + "/failed.txt'");
  }
  RecordKey key;
  uint64_t line_no = 0, twins = 0, offset = 0;
  st = ScanLines(times, '\n', times_scan, [&](std::string_view line) {
    ++line_no;
    if (line_no == 1 && line == kTimesHeader) {
      offset += line.size() + 1;
      return;
    }
    if (twins == sums) return;  // no results.tsv line of its own: cut
    ++twins;
    offset += line.size() + 1;
    if (!ReadTsvRecordKey(line, &key)) {
      if (bad_line->empty()) *bad_line = times + ":" + std::to_string(line_no);
      return;
    }
    key.attempts = -1;
    on_record(key, true);
  });
  if (!st.ok()) return st;
  if (offset < times_scan->whole_bytes || times_scan->torn) {
    times_scan->torn = true;
    times_scan->whole_bytes = offset;
  }
  if (twins < sums) {
    Result<uint64_t> cut = OffsetAfterLines(results, twins);
    if (!cut.ok()) return cut.status();
    results_scan->torn = true;
    results_scan->whole_bytes = *cut;
  }
  return Status::Ok();
}

// Reads the records of results and errors; `bad_line` gets "file:line" of the
// first line that is not a record.
Status ScanRecords(const std::string& run_dir, const Settings& settings, LineScan* results_scan,
                   LineScan* times_scan, LineScan* errors_scan, std::string* bad_line,
                   const std::function<void(const RecordKey&, bool)>& on_record,
                   bool errors_only = false) {
  RecordKeyReader reader;
  RecordKey key;
  const bool tsv = settings.output.format == OutputFormat::kTsv;
  for (bool ok : {true, false}) {
    if (ok && errors_only) continue;
    if (ok && HasTimesFile(settings)) {
      Status st = ScanTimedSums(run_dir, results_scan, times_scan, bad_line, on_record);
      if (!st.ok()) return st;
      continue;
    }
    std::string path = ok ? ResultsPath(run_dir, settings) : run_dir + "/errors.jsonl";
    uint64_t line_no = 0;
    Status st = ScanLines(path, '\n', ok ? results_scan : errors_scan, [&](std::string_view line) {
      ++line_no;
      if (ok && tsv && line_no == 1 && line == kTsvHeader) return;  // the columns, no record
      bool read = ok && tsv ? ReadTsvRecordKey(line, &key) : reader.Read(line, &key);
      if (!read) {
        if (bad_line->empty()) *bad_line = path + ":" + std::to_string(line_no);
        return;
      }
      on_record(key, ok);
    });
    if (!st.ok()) return st;
  }
  return Status::Ok();
}

}  // namespace

Status RebuildFailedList(const std::string& run_dir, const Settings& settings) {
  const char separator = settings.input.separator == Separator::kNul ? '\0' : '\n';
  const bool csv_records = FieldModeOf(settings.input) == FieldMode::kCsv;
  Result<AtomicFile> file = AtomicFile::Create(run_dir + "/failed.txt");
  if (!file.ok()) return file.status();
  std::string buffer;
  Status written;
  LineScan results, times, errors;
  std::string bad_line;  // checked by ReadRunRecords
  auto add = [&](const RecordKey& key, bool) {
    // Items that cannot be listed are in errors.jsonl only (see FormatFailure).
    if (!CanRunAgain(key.item, key.attempts) ||
        !FailedListCanHold(key.item, separator, csv_records)) {
      return;
    }
    buffer.append(key.item);
    buffer.push_back(separator);
    if (buffer.size() >= (1u << 20) && written.ok()) {
      written = file->Append(buffer);
      buffer.clear();
    }
  };
  Status st = ScanRecords(run_dir, settings, &results, &times, &errors, &bad_line, add,
                          /*errors_only=*/true);
  if (st.ok()) st = written;
  if (st.ok()) st = file->Append(buffer);
  if (st.ok()) st = file->Commit();
  return st;
}

Status CheckRegularOrMissing(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::Ok() : Status::FromErrno("cannot stat " + path, errno);
  }
  if (S_ISLNK(st.st_mode)) {
    return Status::IoError(path +
                           " is a symbolic link; a run's files must be regular files "
                           "(replace it with the file it points to)");
  }
  if (!S_ISREG(st.st_mode)) {
    return Status::IoError(path + " is not a regular file; a run's files must be regular files");
  }
  return Status::Ok();
}

bool DoneSet::Add(uint64_t index) {
  uint64_t w = index / 64;
  if (w >= bits_.size()) bits_.resize(std::max<size_t>(w + 1, bits_.size() * 2), 0);
  uint64_t bit = uint64_t{1} << (index % 64);
  if (bits_[w] & bit) return false;
  bits_[w] |= bit;
  ++count_;
  max_ = std::max(max_, index);
  return true;
}

uint64_t RecordTerm(uint64_t index, std::string_view item) {
  return HashedRecordTerm(index, ItemHash(item));
}

uint64_t HashedRecordTerm(uint64_t index, uint64_t item_hash) {
  return Mix(Mix(index) ^ item_hash);
}

Result<RunRecords> ReadRunRecords(const std::string& run_dir, const Settings& settings) {
  RunRecords records;
  for (const char* name : {"failed.txt", "log.txt", "run.json", "settings.toml"}) {
    Status st = CheckRegularOrMissing(run_dir + "/" + name);
    if (!st.ok()) return st;
  }
  std::string bad_line;
  Status st = ScanRecords(run_dir, settings, &records.results, &records.times, &records.errors,
                          &bad_line, [&](const RecordKey& key, bool ok) {
                            if (!records.done.Add(key.index)) {
                              ++records.duplicates;
                              return;
                            }
                            (ok ? records.ok : records.failed)++;
                            if (!ok && !CanRunAgain(key.item, key.attempts)) ++records.never_ran;
                            records.digest += HashedRecordTerm(key.index, key.item_hash);
                          });
  if (!st.ok()) return st;
  records.torn = records.results.torn + records.times.torn + records.errors.torn;
  if (!bad_line.empty()) {
    return Status::Error(bad_line +
                         ": a record without a readable index and item; "
                         "was this file edited? fix or remove that line, then resume");
  }
  return records;
}

Status ForEachRecord(const std::string& run_dir, const Settings& settings,
                     const std::function<void(const RecordKey&, bool)>& on_record) {
  LineScan results, times, errors;
  std::string bad_line;  // checked by ReadRunRecords; such lines are passed over
  return ScanRecords(run_dir, settings, &results, &times, &errors, &bad_line, on_record);
}

Status RepairRunRecords(const std::string& run_dir, const Settings& settings,
                        const RunRecords& records) {
  Status st = CutTornTail(ResultsPath(run_dir, settings), records.results);
  if (st.ok()) st = CutTornTail(run_dir + "/" + kTimesFile, records.times);
  if (st.ok()) st = CutTornTail(run_dir + "/errors.jsonl", records.errors);
  if (st.ok()) st = RebuildFailedList(run_dir, settings);
  return st;
}

std::string ResolveRunDir(const std::string& run_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path resolved = fs::canonical(run_dir, ec);
  if (ec) resolved = fs::absolute(run_dir, ec).lexically_normal();
  std::string s = ec ? run_dir : resolved.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

namespace {

// What a run directory's run.json says; a directory of an older shoal
// without one is taken as an ended run that was never retried.
Result<RunState> RunStateOf(const std::string& run_dir) {
  if (MissingRunState(run_dir)) {
    RunState state;
    state.ended = true;
    state.exit_status = kExitItemsFailed;
    return state;
  }
  return ReadRunState(run_dir);
}

// Which file holds the results and what a record holds are fixed when the
// run starts: a resume or retry that changed them would not find the
// records already written, and would run their items again.
Status CheckRecordsUnchanged(const std::string& run_dir, const Settings& settings) {
  auto stored = LoadSettings(run_dir + "/settings.toml", {});
  if (!stored.ok()) return stored.status();
  const OutputSettings& was = stored->output;
  const OutputSettings& now = settings.output;
  const char* key = was.format != now.format       ? "output.format"
                    : was.compress != now.compress ? "output.compress"
                    : was.records != now.records   ? "output.records"
                                                   : nullptr;
  if (key == nullptr) return Status::Ok();
  return Status::Error(std::string(key) + " cannot change in " + run_dir +
                       ": its records are written by its own; drop that override (a new run "
                       "can use it)");
}

}  // namespace

Status OpenRunDir(const std::string& run_dir, const std::vector<Override>& overrides,
                  Settings* settings, RunState* state) {
  // A broken installation is said before resume or retry changes the directory.
  if (Result<std::string> worker = FindWorkerExe(); !worker.ok()) return worker.status();
  struct stat st;
  if (::stat((run_dir + "/settings.toml").c_str(), &st) != 0) {
    return Status::Error(run_dir + " is not a shoal run directory (no settings.toml)");
  }
  auto loaded = LoadSettings(run_dir + "/settings.toml", overrides);
  if (!loaded.ok()) return loaded.status();
  *settings = std::move(*loaded);
  if (!overrides.empty()) {
    Status fixed = CheckRecordsUnchanged(run_dir, *settings);
    if (!fixed.ok()) return fixed;
  }
  auto read = RunStateOf(run_dir);
  if (!read.ok()) return read.status();
  *state = std::move(*read);
  return Status::Ok();
}

std::string PendingSlurmRetry(const std::string& run_dir, const RunState& state) {
  namespace fs = std::filesystem;
  // The join ends the retry (run.json ended); one that left items without a
  // record keeps retrying, and resume runs those.
  if (!state.retrying || state.ended) return "";
  std::error_code ec;
  const fs::path dir = fs::path(run_dir) / "retries" / std::to_string(state.retries);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().filename().string().find("-slurm") != std::string::npos &&
        entry.is_directory(ec) && !entry.is_symlink(ec)) {
      return entry.path().string();
    }
  }
  return "";
}

namespace {

// Why resume must not run the items of a Slurm retry in progress, and what
// to do instead.
Status RefusePendingSlurmRetry(const std::string& run_dir, const RunState& state,
                               const std::string& job_dir) {
  std::string ids;
  std::ifstream jobs(job_dir + "/jobs.txt");
  for (std::string line; std::getline(jobs, line);) ids += (ids.empty() ? "" : ", ") + line;
  return Status::Error(
      run_dir + ": retry " + std::to_string(state.retries) + " runs as a Slurm job (" + job_dir +
      (ids.empty() ? "" : "; " + ids) +
      ") and is not joined yet: its shards may be running these items now, so resume would run "
      "them twice. Wait for its merge job, which joins them into " +
      run_dir + ", or cancel the job (scancel" + (ids.empty() ? " JOBID" : " the ids above") +
      ") and run 'shoal resume " + run_dir + " --force' to run the rest of the retry here");
}

}  // namespace

Result<int> ResumeJob(const std::string& given_dir, const std::vector<Override>& overrides,
                      RunOptions options, bool force) {
  const std::string run_dir = ResolveRunDir(given_dir);
  Settings settings;
  RunState state;
  Status opened = OpenRunDir(run_dir, overrides, &settings, &state);
  if (!opened.ok()) return opened;
  if (const std::string job = PendingSlurmRetry(run_dir, state); !job.empty() && !force) {
    return RefusePendingSlurmRetry(run_dir, state, job);
  }
  Status cleaned = RemoveUncommittedRetry(run_dir, state);
  if (!cleaned.ok()) return cleaned;
  if (state.retrying) {
    // Before the records are read: the moved-aside failures must not count
    // as done.
    Status split = FinishRetrySplit(run_dir);
    if (!split.ok()) return split;
    return RunRetryItems(run_dir, settings, state, std::move(options));
  }
  // Everything is checked before anything changes: the records, then the
  // input against them; only then are torn lines cut and failed.txt rebuilt.
  auto records = ReadRunRecords(run_dir, settings);
  if (!records.ok()) return records.status();
  Status checked = CheckRecordedInput(run_dir, settings, *records);
  if (!checked.ok()) return checked;
  Status repaired = RepairRunRecords(run_dir, settings, *records);
  if (!repaired.ok()) return repaired;
  repaired = RemoveLeftoverTemporaries(run_dir, settings, options.quiet);
  if (!repaired.ok()) return repaired;
  options.resume_dir = run_dir;
  options.resume = std::make_shared<RunRecords>(std::move(*records));
  options.retries = state.retries;
  return RunJob(settings, options);
}

Status RemoveLeftoverTemporaries(const std::string& run_dir, const Settings& settings, bool quiet) {
  namespace fs = std::filesystem;
  uint64_t removed = 0;
  // Only command.stdout = "file" makes them; a walk of a big out/ tree is
  // not paid for otherwise.
  if (settings.job.handler != HandlerKind::kCommand ||
      settings.command.stdout_mode != StdoutMode::kFile) {
    return Status::Ok();
  }
  std::vector<std::string> roots{run_dir};
  if (!settings.output.tree.empty()) roots.push_back(settings.output.tree);
  for (const std::string& root : roots) {
    std::error_code ec;
    // Symlinks are not followed: nothing outside the roots is looked at.
    fs::recursive_directory_iterator it(root, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (!IsLeftoverTemporary(name)) continue;
      if (!fs::is_regular_file(it->symlink_status(ec)) || ec) continue;
      if (::unlink(it->path().c_str()) == 0) ++removed;
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::IoError("cannot look for leftover temporary files under " + root + ": " +
                             ec.message());
    }
  }
  if (removed > 0 && !quiet) {
    std::fprintf(stderr, "shoal: removed %llu temporary file(s) that killed workers left behind\n",
                 static_cast<unsigned long long>(removed));
  }
  return Status::Ok();
}

}  // namespace shoal
