// The run directory and the files in it (README: "The run directory"). The master is the only
// writer. Records are appended whole lines at a time from an in-memory
// buffer and flushed in batches (Flush), so a crash leaves at most a torn last
// line, which resume tolerates. Compressed (output.compress = "zstd"), each
// flush is one whole zstd frame: a crash leaves at most a torn last frame,
// cut off the same way.
#pragma once

#include <sys/types.h>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "config/settings.h"
#include "master/record_key.h"

struct ZSTD_CCtx_s;

namespace shoal {

// One append-only file with a write buffer, one record per `terminator`.
// A write that fails (ENOSPC, EIO) may have put part of a record on disk;
// from then on the file refuses every write (Flush returns the first error
// again, Append drops), so nothing ever follows a torn record and resume can
// cut the file back to its last whole record. lost() counts the records
// appended that never reached the file.
class RecordFile {
 public:
  // Opens `path` for appending, refusing a symlink or anything else that is
  // not a regular file. Created with `mode`; by default FileModeIn its
  // directory (common/fd.h), so a run's output.mode reaches it.
  // With kZstd, each Flush writes what was appended as one zstd frame.
  Status Open(const std::string& path, char terminator = '\n', int mode = -1,
              Compression compress = Compression::kNone);
  void Append(std::string_view bytes) {
    if (failed_) return Drop(bytes);
    buffer_.append(bytes);
  }
  std::string* buffer() { return failed_ ? &dropped_ : &buffer_; }
  size_t pending() const { return buffer_.size(); }
  Status Flush();
  // Flush in three steps, for a write on another thread (RunDirectory::
  // FlushInBackground). Hand() takes what was appended (false: nothing to
  // write); Write() writes it, on any thread, while the owner calls nothing
  // but Append, buffer() and pending(); Settle() says how the write went and
  // drops what can no longer follow it, as Flush() does.
  bool Hand();
  void Write();
  Status Settle();
  // fdatasync: what was flushed survives a crash of the machine.
  Status Sync();
  const std::string& path() const { return path_; }
  bool failed() const { return failed_; }
  uint64_t lost() const;
  // Tests: SHOAL_FAULT=<point>:N fails this file's N-th flush (common/fault.h).
  void set_fault_point(const char* point) { fault_point_ = point; }

 private:
  struct FreeCompressor {
    void operator()(ZSTD_CCtx_s* c) const;
  };
  void Drop(std::string_view bytes);
  // The bytes that go to disk for `records`: themselves, or their zstd frame.
  Result<std::string_view> Encoded(std::string_view records);
  std::string path_;
  UniqueFd fd_;
  char terminator_ = '\n';
  const char* fault_point_ = nullptr;
  std::string buffer_;
  bool failed_ = false;
  Status error_;
  uint64_t lost_ = 0;    // records that never reached the file
  std::string dropped_;  // what buffer() hands out once failed; counted in lost()
  std::unique_ptr<ZSTD_CCtx_s, FreeCompressor> compressor_;  // null: plain
  std::string frame_;                                        // the last frame written
  // Between Hand() and Settle(): what is being written, and how it went.
  std::string writing_;
  bool handed_ = false;
  bool inject_ = false;  // the fault point fails this write
  int write_errno_ = 0;
  size_t unwritten_ = 0;  // bytes at the end of the write that did not reach the file
  Status encode_error_;
};

// <output.dir>/<job.name>-<stamp>[-shard-K-of-N]: where a run started at
// `stamp` (RunStamp()) goes, before any -2, -3 for a name already taken.
std::string RunDirName(const Settings& settings, const std::string& stamp);

// Whether failed.txt, read back as the run reads an items file, gives
// `item` back as one item: it holds no separator, or it is a CSV record
// (input.delimiter), whose line ends inside quotes stay in the record.
inline bool FailedListCanHold(std::string_view item, char separator, bool csv_records) {
  return item.find(separator) == std::string_view::npos || (csv_records && separator == '\n');
}

// An earlier attempt of an item that was tried again: in its final
// record's "history", oldest first (at most job.retries of them).
struct AttemptRecord {
  std::string reason;
  double ms = -1;         // < 0: no duration (its worker died)
  int64_t start_ms = -1;  // Unix ms; < 0: not known
};

class RunDirectory {
 public:
  RunDirectory();
  ~RunDirectory();  // waits for a background flush under way
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;

  // Makes <output.dir>/<job.name>-<YYYYmmdd-HHMMSS>[-N]/ (N when the name is
  // taken) with the effective settings.toml and empty record files.
  // `settings_toml` is written verbatim.
  Status Create(const Settings& settings, InputKind kind, const std::string& settings_toml,
                const std::string& suffix = "");
  // Opens an existing run directory for appending (resume).
  Status OpenExisting(const std::string& path, const Settings& settings, InputKind kind);
  // Replaces its settings.toml (atomically) with the effective settings of
  // this invocation: a resume with overrides runs, and later resumes and
  // retries read, what the master runs by.
  Status RewriteSettings(const std::string& settings_toml);

  // What one finished item contributes to the records.
  struct Finished {
    uint64_t index;
    std::string_view item;
    uint32_t attempts;
    int worker;  // 1..N; 0 = none (failed before reaching a worker)
    double ms;
    int exit_code;  // -1 = none
    int signal;
    std::string_view reason;
    std::string_view output;
    std::string_view output_file;
    std::string_view stderr_tail;
    // From a handler that calls a service (http); see OutcomeRecord.
    bool output_json = false;  // output is one line of valid JSON: embedded, not quoted
    int http_status = 0;       // 0 = none
    uint64_t bytes = 0;        // of the response body, when http_status != 0
    // output.print: all of a stderr longer than its tail, a file under the
    // run directory that only the printing reads; "" = none.
    std::string_view stderr_file = {};
    // When the last attempt started, Unix ms (-1: none). An attempt whose
    // worker died, or that never reached a worker, has no start of its own:
    // it is when the item was handed out, or failed.
    int64_t start_ms = -1;
    std::span<const AttemptRecord> history = {};  // earlier attempts
    // output.print of a command line of many items (command.batch): the
    // tag its output is printed with, made by its worker; none = the item's.
    std::optional<std::string_view> line_tag = std::nullopt;
  };
  // A results record (jsonl or tsv), and for the sha256 handler's tsv its
  // line of times.tsv.
  void RecordSuccess(const Finished& f) { FormatSuccess(f, results_.buffer(), times_.buffer()); }
  // An errors.jsonl record and the item in failed.txt, in the input's own form.
  void RecordFailure(const Finished& f) {
    FormatFailure(f, errors_.buffer(), failed_.buffer());
    if (CanRunAgain(f.item, f.attempts) && !FailedListCanHold(f.item, separator_, csv_records_)) {
      Log("item " + std::to_string(f.index) +
          " failed but holds the list separator, so failed.txt cannot list it; it is in "
          "errors.jsonl. Set input.separator = \"nul\" to retry such items with --items");
    }
  }
  // The same records appended to the caller's buffers instead (output.order
  // = "input" holds them in a RecordWindow until their turn).
  void FormatSuccess(const Finished& f, std::string* results, std::string* times) const;
  void FormatFailure(const Finished& f, std::string* errors, std::string* failed) const;

  const std::string& path() const { return path_; }
  RecordFile& results() { return results_; }
  RecordFile& errors() { return errors_; }
  RecordFile& failed() { return failed_; }
  RecordFile& times() { return times_; }

  // A timestamped line in log.txt ("2026-11-22T03:15:00.123Z message").
  void Log(std::string_view message);
  // Also write every log line to `fd` as it is logged (-v: stderr).
  void EchoLogTo(int fd) { echo_fd_ = fd; }
  // Writes what every file holds; done when it returns.
  Status Flush();
  // The same writes on a thread of the run directory's own, so that copying
  // the records into the page cache (a quarter of the master's time on
  // no-op items) overlaps the master's loop. Returns at once, after the
  // previous background flush has ended: what it returns is that flush's
  // outcome, so a failed write is reported one flush later. Flush() and
  // Sync() wait for it first.
  Status FlushInBackground();
  // Syncs every file (after a Flush): see Master::Summarize for when.
  Status Sync();

 private:
  class Writer;
  Status OpenFiles();
  void AppendTimesHeader();
  // The files handed to the writer (bits in the order of Files()), written.
  void WriteHanded(unsigned handed, bool records);
  // Waits for the background flush under way, if any; its outcome.
  Status SettleBackground();
  // The sha256 handler's results.tsv: times.tsv is written beside it.
  bool timed() const { return format_ == OutputFormat::kTsv && sha256_sums_; }
  void Configure(const Settings& settings, InputKind kind);
  std::string path_;
  OutputFormat format_ = OutputFormat::kJsonl;
  char separator_ = '\n';
  bool csv_records_ = false;  // failed.txt holds CSV records (FailedListCanHold)
  int echo_fd_ = -1;
  bool sha256_sums_ = false;  // tsv as sha256sum writes it
  Compression compress_ = Compression::kNone;
  RecordDetail records_ = RecordDetail::kAll;
  std::string input_prefix_;  // tree: "<input.path>/", the {path} of an item
  mode_t file_mode_ = 0600;   // of the files it creates: FileModeIn(path_)
  RecordFile results_, errors_, failed_, log_;
  RecordFile times_;  // open only for the sha256 handler's results.tsv
  // Last, so that it ends (and finishes its write) before the files close.
  std::unique_ptr<Writer> writer_;  // started by the first FlushInBackground
  bool in_background_ = false;      // a flush handed to writer_ is not settled
  bool no_writer_ = false;          // its thread could not start: flushes are Flush()
};

// output.print = "group": what an item printed, as held until it is printed
// (master/job_output.h). Its stdout stays in its spill file when it was too
// large for the record, so what is held is bounded by the inline cap.
struct ItemOutput {
  uint64_t index = 0;
  std::string tag;        // before each line, with a tab; "" = none
  bool tagged = false;    // output.tag or output.tagstring
  std::string out;        // stdout, when it fit inline
  std::string spill;      // else the spill file, relative to the run directory
  std::string err;        // stderr, when the tail is all of it
  std::string err_spill;  // else all of it, in this file
  size_t bytes() const {
    return tag.size() + out.size() + spill.size() + err.size() + err_spill.size();
  }
};

// output.order = "input": the records of a finished item wait here until
// every earlier item has its records written, so results and errors come out
// in input order. The master opens an entry for each item it reads and stops
// reading while full(): a slow item holds back at most max_items entries or
// about max_bytes of records, whatever the size of the input.
class RecordWindow {
 public:
  RecordWindow(size_t max_items, size_t max_bytes) : max_items_(max_items), max_bytes_(max_bytes) {}
  // output.print: each item's output is held with its records and handed to
  // `print` when they are written, so it too comes out in input order.
  // `turn` (may be null) is told each item that becomes the first open one
  // without its records (its output may go out live: JobOutput::Turn), also
  // at the end for those ReleaseAll passes over.
  void PrintWith(std::function<ItemOutput(const RunDirectory::Finished&)> hold,
                 std::function<void(const ItemOutput&)> print,
                 std::function<void(uint64_t)> turn = nullptr) {
    hold_ = std::move(hold);
    print_ = std::move(print);
    turn_ = std::move(turn);
  }
  // An item read from the input; indices increase from one call to the next.
  void Open(uint64_t index);
  // The item's records, rendered by `run`; then every record whose turn has
  // come is appended to the run's files. An index not open is written at once.
  void Success(RunDirectory& run, const RunDirectory::Finished& f);
  void Failure(RunDirectory& run, const RunDirectory::Finished& f);
  // At the end of a run: the finished records still held, in order, passing
  // over items that will get no record in this run (halted, interrupted).
  void ReleaseAll(RunDirectory& run);
  bool full() const { return entries_.size() >= max_items_ || held_bytes_ >= max_bytes_; }
  size_t size() const { return entries_.size(); }
  size_t held_bytes() const { return held_bytes_; }

 private:
  struct Entry {
    uint64_t index;
    bool finished = false;
    std::string results, errors, failed, times;
    ItemOutput output;
  };
  Entry* Find(uint64_t index);
  void Append(RunDirectory& run, Entry& e);
  void Release(RunDirectory& run);
  size_t max_items_, max_bytes_;
  size_t held_bytes_ = 0;
  std::deque<Entry> entries_;  // by index
  std::function<ItemOutput(const RunDirectory::Finished&)> hold_;
  std::function<void(const ItemOutput&)> print_;
  std::function<void(uint64_t)> turn_;
};

// What ScanLines found in a run-directory file.
struct LineScan {
  bool exists = false;
  bool torn = false;         // a last record without its terminator
  uint64_t whole_bytes = 0;  // the file up to the end of its last whole record
  dev_t dev = 0;             // which file it was, for CutTornTail
  ino_t ino = 0;
};

// Calls on_line for every record of a run-directory file (results, errors,
// failed.txt), `terminator` ending each; a missing file has none. A last
// record without its terminator (a master killed mid-write) is not passed
// on but noted in *scan. Read-only; a symlink or anything but a regular
// file is refused, never followed. A path ending in ".zst" is read as zstd
// frames, one after another: a torn last frame (or one that ends inside a
// record) is noted the same way, whole_bytes at the end of the last frame
// that ends a record; anything else that does not decode is an error.
Status ScanLines(const std::string& path, char terminator, LineScan* scan,
                 const std::function<void(std::string_view)>& on_line);

// Cuts the torn last record that ScanLines found off the file, so that
// appending goes on at a record boundary; nothing if there was none. Refuses
// a file that is no longer the one scanned.
Status CutTornTail(const std::string& path, const LineScan& scan);

// ScanLines, then with cut_torn CutTornTail; *torn says whether there was one.
Status ForEachLine(const std::string& path, char terminator, bool cut_torn, bool* torn,
                   const std::function<void(std::string_view)>& on_line);

// The first line of results.tsv (not the sha256 handler's, which stays
// sha256sum's own format, no header, so that `sha256sum -c` reads it):
// the columns of every line after it. ms is the item's duration, start_ms
// when it started (Unix ms), as in results.jsonl.
inline constexpr std::string_view kTsvHeader = "index\titem\tstatus\texit\toutput\tms\tstart_ms";

// The sha256 handler's results.tsv is sha256sum's format, which has no room
// for an index or a duration, so its lines have a twin in times.tsv: line K
// after this header is about the item of line K of results.tsv (its index,
// its item as in kTsvHeader's item column, ms and start_ms as in
// results.jsonl). The index makes such a run resumable and retried in place;
// `shoal report` reads the times. Written in the same order, flushed
// separately: after a crash, resume cuts the longer of the two files back to
// the other's length, and those items run again.
inline constexpr std::string_view kTimesHeader = "index\titem\tms\tstart_ms";
inline constexpr char kTimesFile[] = "times.tsv";

// Whether a run's results have their twin in times.tsv (kTimesHeader).
inline bool HasTimesFile(const Settings& settings) {
  return settings.output.format == OutputFormat::kTsv &&
         settings.job.handler == HandlerKind::kSha256;
}

// The results file name for a format: results.jsonl or results.tsv, with
// ".zst" when compressed.
const char* ResultsFileName(OutputFormat format, Compression compress = Compression::kNone);

// The first record of a run-directory file (plain or ".zst"), without its
// terminator; "" when it has none or cannot be read. Reads no further.
std::string FirstLine(const std::string& path);

}  // namespace shoal
