#include "master/resume.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "common/fault.h"
#include "common/fd.h"
#include "job/output_file.h"
#include "master/item_source.h"
#include "master/record_key.h"
#include "master/recorded_input.h"
#include "master/run_dir.h"
#include "master/run_state.h"

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

// Files of the run that resume appends to or replaces but does not read:
// they too must be regular files (or missing), never a symlink.
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

std::string ResultsPath(const std::string& run_dir, const Settings& settings) {
  return run_dir + "/" + ResultsFileName(settings.output.format);
}

// Reads the records of results and errors; `bad_line` gets "file:line" of the
// first line that is not a record.
Status ScanRecords(const std::string& run_dir, const Settings& settings, LineScan* results_scan,
                   LineScan* errors_scan, std::string* bad_line,
                   const std::function<void(const RecordKey&, bool)>& on_record,
                   bool errors_only = false) {
  RecordKeyReader reader;
  RecordKey key;
  const bool tsv = settings.output.format == OutputFormat::kTsv;
  for (bool ok : {true, false}) {
    if (ok && errors_only) continue;
    std::string path = ok ? ResultsPath(run_dir, settings) : run_dir + "/errors.jsonl";
    uint64_t line_no = 0;
    Status st = ScanLines(path, '\n', ok ? results_scan : errors_scan, [&](std::string_view line) {
      ++line_no;
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

// failed.txt as FormatFailure writes it, from errors.jsonl: written beside
// it, synced and renamed over it, so a crash leaves the old list or the new.
Status RebuildFailedList(const std::string& run_dir, const Settings& settings) {
  const char separator = settings.input.separator == Separator::kNul ? '\0' : '\n';
  Result<AtomicFile> file = AtomicFile::Create(run_dir + "/failed.txt");
  if (!file.ok()) return file.status();
  std::string buffer;
  Status written;
  LineScan results, errors;
  std::string bad_line;  // checked by ReadRunRecords
  auto add = [&](const RecordKey& key, bool) {
    // Items that cannot be listed are in errors.jsonl only (see FormatFailure).
    if (key.item.empty() || key.item.find(separator) != std::string::npos) return;
    buffer.append(key.item);
    buffer.push_back(separator);
    if (buffer.size() >= (1u << 20) && written.ok()) {
      written = file->Append(buffer);
      buffer.clear();
    }
  };
  Status st = ScanRecords(run_dir, settings, &results, &errors, &bad_line, add,
                          /*errors_only=*/true);
  if (st.ok()) st = written;
  if (st.ok()) st = file->Append(buffer);
  if (st.ok()) st = file->Commit();
  return st;
}

}  // namespace

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

uint64_t ItemHash(std::string_view item) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : item) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return h;
}

uint64_t RecordTerm(uint64_t index, std::string_view item) {
  return Mix(Mix(index) ^ ItemHash(item));
}

Result<RunRecords> ReadRunRecords(const std::string& run_dir, const Settings& settings) {
  RunRecords records;
  if (settings.output.format == OutputFormat::kTsv &&
      settings.job.handler == HandlerKind::kSha256) {
    return Status::Error(run_dir +
                         ": a run with output.format = \"tsv\" and the sha256 handler "
                         "has no item positions in its results, so it cannot be resumed; "
                         "retry its failed items or start a new run");
  }
  for (const char* name : {"failed.txt", "log.txt", "run.json", "settings.toml"}) {
    Status st = CheckRegularOrMissing(run_dir + "/" + name);
    if (!st.ok()) return st;
  }
  std::string bad_line;
  Status st = ScanRecords(run_dir, settings, &records.results, &records.errors, &bad_line,
                          [&](const RecordKey& key, bool ok) {
                            if (!records.done.Add(key.index)) {
                              ++records.duplicates;
                              return;
                            }
                            (ok ? records.ok : records.failed)++;
                            records.digest += RecordTerm(key.index, key.item);
                          });
  if (!st.ok()) return st;
  records.torn = records.results.torn + records.errors.torn;
  if (!bad_line.empty()) {
    return Status::Error(bad_line +
                         ": a record without a readable index and item; "
                         "was this file edited? fix or remove that line, then resume");
  }
  return records;
}

Status ForEachRecord(const std::string& run_dir, const Settings& settings,
                     const std::function<void(uint64_t, std::string_view, bool)>& on_record) {
  LineScan results, errors;
  std::string bad_line;  // checked by ReadRunRecords; such lines are passed over
  return ScanRecords(run_dir, settings, &results, &errors, &bad_line,
                     [&](const RecordKey& key, bool ok) { on_record(key.index, key.item, ok); });
}

Status RepairRunRecords(const std::string& run_dir, const Settings& settings,
                        const RunRecords& records) {
  Status st = CutTornTail(ResultsPath(run_dir, settings), records.results);
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

constexpr char kSplitFile[] = "errors.jsonl.retry";

std::string RetryDir(const std::string& run_dir, uint64_t n) {
  return run_dir + "/retries/" + std::to_string(n);
}

// fsync of a directory: a rename in it survives a crash of the machine.
Status SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid() || ::fsync(fd.get()) != 0) {
    return Status::FromErrno("cannot sync directory " + dir, errno);
  }
  return Status::Ok();
}

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
  return SyncDir(run_dir);
}

// Steps 1 and 2: the failed records that can run again into retries/N, the
// others into errors.jsonl.retry. Streams errors.jsonl; *retried counts the
// records moved aside.
Status SplitFailures(const std::string& run_dir, const Settings& settings, uint64_t n,
                     uint64_t* retried) {
  namespace fs = std::filesystem;
  const char separator = settings.input.separator == Separator::kNul ? '\0' : '\n';
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
    const bool runnable = reader.Read(line, &key) && !key.item.empty();
    std::string* to = runnable ? &moved_buf : &kept_buf;
    to->append(line);
    to->push_back('\n');
    if (runnable) {
      ++*retried;
      if (key.item.find(separator) == std::string::npos) {
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
  st = SyncDir(retries);
  FaultPoint("retry-step");  // 1: retries/N made, errors.jsonl.retry not yet
  if (st.ok()) st = kept->Commit();
  FaultPoint("retry-step");  // 2: errors.jsonl.retry written, not committed
  return st;
}

// RemoveLeftoverTemporaries, and a note of what it removed.
Status RemoveTemporaries(const std::string& run_dir, const Settings& settings,
                         const RunOptions& options) {
  uint64_t removed = 0;
  Status st = RemoveLeftoverTemporaries(run_dir, settings, &removed);
  if (st.ok() && removed > 0 && !options.quiet) {
    std::fprintf(stderr, "shoal: removed %llu temporary file(s) that killed workers left behind\n",
                 static_cast<unsigned long long>(removed));
  }
  return st;
}

// A retry in progress: the run goes on with the items of retry `n` that have
// no record yet in the run's own files.
Result<int> RunRetryItems(const std::string& run_dir, const Settings& settings, uint64_t n,
                          RunOptions options) {
  auto records = ReadRunRecords(run_dir, settings);
  if (!records.ok()) return records.status();
  // No check against the input: the items come from the records, and the
  // input may be gone by now.
  Status st = RepairRunRecords(run_dir, settings, *records);
  if (!st.ok()) return st;
  st = RemoveTemporaries(run_dir, settings, options);
  if (!st.ok()) return st;
  options.resume_dir = run_dir;
  options.resume = std::make_shared<RunRecords>(std::move(*records));
  options.retry_items = RetryDir(run_dir, n) + "/errors.jsonl";
  options.retries = n;
  options.retrying = true;
  return RunJob(settings, options);
}

// The common start of resume and retry: the run's settings (overrides
// applied) and state, with a never-committed retry's leftovers removed.
Status OpenRun(const std::string& run_dir, const std::vector<Override>& overrides,
               Settings* settings, RunState* state) {
  struct stat st;
  if (::stat((run_dir + "/settings.toml").c_str(), &st) != 0) {
    return Status::Error(run_dir + " is not a shoal run directory (no settings.toml)");
  }
  auto loaded = LoadSettings(run_dir + "/settings.toml", overrides);
  if (!loaded.ok()) return loaded.status();
  *settings = std::move(*loaded);
  auto read = RunStateOf(run_dir);
  if (!read.ok()) return read.status();
  *state = std::move(*read);
  return Status::Ok();
}

}  // namespace

Result<int> ResumeJob(const std::string& given_dir, const std::vector<Override>& overrides,
                      RunOptions options) {
  const std::string run_dir = ResolveRunDir(given_dir);
  Settings settings;
  RunState state;
  Status opened = OpenRun(run_dir, overrides, &settings, &state);
  if (!opened.ok()) return opened;
  Status cleaned = RemoveUncommittedRetry(run_dir, state);
  if (!cleaned.ok()) return cleaned;
  if (state.retrying) {
    // Before the records are read: the moved-aside failures must not count
    // as done.
    Status split = FinishRetrySplit(run_dir);
    if (!split.ok()) return split;
    return RunRetryItems(run_dir, settings, state.retries, std::move(options));
  }
  // Everything is checked before anything changes: the records, then the
  // input against them; only then are torn lines cut and failed.txt rebuilt.
  auto records = ReadRunRecords(run_dir, settings);
  if (!records.ok()) return records.status();
  Status checked = CheckRecordedInput(run_dir, settings, *records);
  if (!checked.ok()) return checked;
  Status repaired = RepairRunRecords(run_dir, settings, *records);
  if (!repaired.ok()) return repaired;
  repaired = RemoveTemporaries(run_dir, settings, options);
  if (!repaired.ok()) return repaired;
  options.resume_dir = run_dir;
  options.resume = std::make_shared<RunRecords>(std::move(*records));
  options.retries = state.retries;
  return RunJob(settings, options);
}

Result<int> RetryJob(const std::string& given_dir, const std::vector<Override>& overrides,
                     RunOptions options) {
  const std::string run_dir = ResolveRunDir(given_dir);
  Settings settings;
  RunState state;
  Status st = OpenRun(run_dir, overrides, &settings, &state);
  if (!st.ok()) return st;
  if (state.retrying) {
    if (!options.quiet) {
      std::fprintf(stderr, "shoal: retry %llu of %s did not finish; finishing it\n",
                   static_cast<unsigned long long>(state.retries), run_dir.c_str());
    }
    return ResumeJob(run_dir, overrides, std::move(options));
  }
  if (settings.output.format == OutputFormat::kTsv &&
      settings.job.handler == HandlerKind::kSha256) {
    // sha256sum's format has no index: a retry in place could not tell,
    // after a crash, which items it had already done. Such a run is
    // retried as before, into a new run directory.
    if (!options.quiet) {
      std::fprintf(stderr,
                   "shoal: note: results.tsv of the sha256 handler has no item positions; "
                   "the failed items of %s run in a new run directory\n",
                   run_dir.c_str());
    }
    options.items_file = run_dir + "/failed.txt";
    struct stat failed;
    if (::stat(options.items_file.c_str(), &failed) == 0 && failed.st_size == 0) {
      std::fprintf(stderr, "shoal: %s has no failed items; nothing to retry\n", run_dir.c_str());
      return kExitOk;
    }
    return RunJob(settings, options);
  }
  if (!state.ended) {
    return Status::Error(run_dir +
                         " has not ended (interrupted, killed or still running): its items "
                         "without a record are neither done nor failed yet. 'shoal resume " +
                         run_dir + "' finishes it; then retry what failed");
  }
  // Checked before anything changes, as resume does.
  auto records = ReadRunRecords(run_dir, settings);
  if (!records.ok()) return records.status();
  st = RemoveUncommittedRetry(run_dir, state);
  if (st.ok()) st = RepairRunRecords(run_dir, settings, *records);
  if (!st.ok()) return st;
  const uint64_t n = state.retries + 1;
  uint64_t retried = 0;
  if (records->failed > 0) st = SplitFailures(run_dir, settings, n, &retried);
  if (!st.ok()) return st;
  if (retried == 0) {
    std::string why = records->failed == 0
                          ? " has no failed items; nothing to retry"
                          : " has " + std::to_string(records->failed) +
                                " failed item(s), none of which can run again: the input could "
                                "not deliver them whole (see their reason in errors.jsonl); fix "
                                "the input and start a new run";
    std::fprintf(stderr, "shoal: %s%s\n", run_dir.c_str(), why.c_str());
    return kExitOk;
  }
  // The commit point: from here on the retry is finished by resume.
  state.retries = n;
  state.retrying = true;
  state.ended = false;
  state.ended_at.clear();
  state.exit_status.reset();
  st = WriteRunState(run_dir, state);
  if (st.ok()) FaultPoint("retry-step");  // 3: committed, errors.jsonl not yet replaced
  if (st.ok()) st = FinishRetrySplit(run_dir);
  if (st.ok()) FaultPoint("retry-step");  // 4: split, failed.txt not yet rebuilt
  if (!st.ok()) return st;
  return RunRetryItems(run_dir, settings, n, std::move(options));
}

namespace {

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
      if (!reader_.Read(line, &key_) || key_.item.empty()) continue;
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

Status RemoveLeftoverTemporaries(const std::string& run_dir, const Settings& settings,
                                 uint64_t* removed) {
  namespace fs = std::filesystem;
  *removed = 0;
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
      if (::unlink(it->path().c_str()) == 0) ++*removed;
    }
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::IoError("cannot look for leftover temporary files under " + root + ": " +
                             ec.message());
    }
  }
  return Status::Ok();
}

}  // namespace shoal
