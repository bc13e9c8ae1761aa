// The run directory of SPEC.md and the files in it. The master is the only
// writer. Records are appended whole lines at a time from an in-memory
// buffer and flushed in batches (Flush), so a crash leaves at most a torn last
// line, which resume tolerates.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/status.h"
#include "config/settings.h"

namespace shoal {

// One append-only file with a write buffer.
class RecordFile {
 public:
  Status Open(const std::string& path);
  void Append(std::string_view bytes) { buffer_.append(bytes); }
  std::string* buffer() { return &buffer_; }
  size_t pending() const { return buffer_.size(); }
  Status Flush();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  UniqueFd fd_;
  std::string buffer_;
};

class RunDirectory {
 public:
  // Makes <output.dir>/<job.name>-<YYYYmmdd-HHMMSS>[-N]/ (N when the name is
  // taken) with the effective settings.toml and empty record files.
  // `settings_toml` is written verbatim.
  Status Create(const Settings& settings, InputKind kind, const std::string& settings_toml,
                const std::string& suffix = "");
  // Opens an existing run directory for appending (resume).
  Status OpenExisting(const std::string& path, const Settings& settings, InputKind kind);

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
  };
  // A results record (jsonl or tsv).
  void RecordSuccess(const Finished& f);
  // An errors.jsonl record and the item in failed.txt, in the input's own form.
  void RecordFailure(const Finished& f);

  const std::string& path() const { return path_; }
  RecordFile& results() { return results_; }
  RecordFile& errors() { return errors_; }
  RecordFile& failed() { return failed_; }

  // A timestamped line in log.txt ("2026-11-22T03:15:00.123Z message").
  void Log(std::string_view message);
  Status Flush();

 private:
  Status OpenFiles();
  void Configure(const Settings& settings, InputKind kind);
  std::string path_;
  OutputFormat format_ = OutputFormat::kJsonl;
  char separator_ = '\n';
  bool sha256_sums_ = false;  // tsv as sha256sum writes it
  std::string input_prefix_;  // tree: "<input.path>/", the {path} of an item
  RecordFile results_, errors_, failed_, log_;
};

// "2026-11-22T03:15:00.123Z" for a wall-clock time now.
std::string TimestampNow();
// The results file name for a format: results.jsonl or results.tsv.
const char* ResultsFileName(OutputFormat format);

}  // namespace shoal
