// Per-item logs (output.item_logs = true), written by the command handler.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/fd.h"
#include "common/shell_quote.h"
#include "common/status.h"
#include "common/timestamp.h"
#include "job/output_file.h"
#include "worker/handler.h"

namespace shoal {

// Where an item's log goes, relative to the run directory: a tree item mirrors
// its {rel} (logs/d01/f003.bin.log), a list item is known by its position
// (logs/17.log), since a line of a list is no file name.
std::string ItemLogPath(const ItemPaths& paths, InputKind kind);

// The transcript of one item (output.item_logs = true): its command line and
// start time, then its output as it arrives, then its end time and how it
// ended. Output is written as it is read, never held whole: whole lines of
// stdout and stderr in arrival order, under a "--- stdout ---" or
// "--- stderr ---" marker wherever the stream changes. A partial line waits
// for its end (up to kLineLimit bytes) so that the two streams never split a
// line. The file is the item's own, so no other item's output lands in it.
class ItemLog {
 public:
  enum Stream { kStdout = 0, kStderr = 1 };
  static constexpr size_t kLineLimit = 64 * 1024;

  static Result<ItemLog> Open(const std::string& run_dir, const std::string& path) {
    Result<OutputFile> file = CreateOutputFile(run_dir, path);
    if (!file.ok()) return file.status();
    return ItemLog(std::move(file).value());
  }

  // The head of the log; an empty argv: the command could not be built.
  void Start(const ItemPaths& paths, const std::vector<std::string>& argv) {
    started_ = true;
    std::string head =
        "command: " + (argv.empty() ? std::string("(none)") : ShellWords(argv)) + "\nitem: ";
    AppendShellWord(&head, paths.item);
    head += "\nindex: " + std::to_string(paths.index) +
            "\nworker: " + std::to_string(paths.worker) + "\nstart: " + TimestampNow() + "\n";
    Write(head);
  }
  bool started() const { return started_; }

  // A line of shoal's own, between the output.
  void Line(std::string_view line) {
    FlushPending();
    current_ = -1;
    Write(std::string(line) + "\n");
  }

  void Append(Stream stream, std::string_view data) {
    std::string& pending = pending_[stream];
    size_t newline = data.rfind('\n');
    if (newline != std::string_view::npos) {
      Switch(stream);
      if (!pending.empty()) {
        Write(pending);
        pending.clear();
      }
      Write(data.substr(0, newline + 1));
      midline_ = false;
      data.remove_prefix(newline + 1);
    }
    pending.append(data);
    if (pending.size() >= kLineLimit) {  // a very long line (or binary): let it out
      Switch(stream);
      Write(pending);
      midline_ = true;
      pending.clear();
    }
  }

  // Flushes what waits, writes the end time and the outcome; the first write
  // error of the whole transcript, if any.
  Status Finish(const Outcome& outcome) {
    FlushPending();
    std::string tail = "--- end ---\nend: " + TimestampNow() + "\n";
    if (outcome.exit_code >= 0) tail += "exit: " + std::to_string(outcome.exit_code) + "\n";
    if (outcome.signal > 0) tail += "signal: " + std::to_string(outcome.signal) + "\n";
    tail += outcome.ok ? std::string("status: ok\n") : "status: failed: " + outcome.reason + "\n";
    Write(tail);
    return error_;
  }

 private:
  explicit ItemLog(OutputFile file) : file_(std::move(file)) {}

  void Switch(int stream) {
    if (current_ == stream) return;
    // A line of the other stream already partly out: what has arrived of it
    // goes with it, before the line is cut.
    if (midline_ && current_ >= 0) {
      Write(pending_[current_]);
      pending_[current_].clear();
    }
    EndPartialLine();
    Write(stream == kStdout ? "--- stdout ---\n" : "--- stderr ---\n");
    current_ = stream;
  }
  // Partial lines out, each under its stream's marker, and the last one ended.
  void FlushPending() {
    for (Stream s : {kStdout, kStderr}) {
      if (pending_[s].empty()) continue;
      Switch(s);
      Write(pending_[s]);
      pending_[s].clear();
      midline_ = true;
    }
    EndPartialLine();
  }
  void EndPartialLine() {
    if (midline_) Write("\n");
    midline_ = false;
  }
  void Write(std::string_view data) {
    if (error_.ok() && !data.empty()) error_ = WriteAll(file_.fd.get(), data, file_.rel);
  }

  OutputFile file_;
  std::string pending_[2];
  bool started_ = false;
  int current_ = -1;      // the stream of the last output written, -1 = none
  bool midline_ = false;  // the file does not end with a newline
  Status error_;
};

}  // namespace shoal
