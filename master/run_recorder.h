// The scheduler's RunRecorder for a real run: records into the run
// directory (through the reorder window when output.order = "input"), lines
// into log.txt, messages on stderr on a clean line beside the progress line.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

#include "master/job_output.h"
#include "master/progress.h"
#include "master/run_dir.h"
#include "master/run_stats.h"
#include "master/scheduler.h"

namespace shoal {

class RunFiles final : public RunRecorder {
 public:
  // `window`, `progress` and `print` may be null; with a window, the window
  // prints finished items (in input order), `print` the pieces forwarded.
  RunFiles(RunDirectory& run, RecordWindow* window, ProgressDisplay* progress, bool quiet,
           JobOutput* print = nullptr)
      : run_(run), window_(window), progress_(progress), quiet_(quiet), print_(print) {}

  void Succeeded(const RunDirectory::Finished& f) override {
    if (window_) return window_->Success(run_, f);
    if (print_) print_->Print(f);
    run_.RecordSuccess(f);
  }
  void Failed(const RunDirectory::Finished& f) override {
    if (window_) {
      window_->Failure(run_, f);
    } else {
      if (print_) print_->Print(f);
      run_.RecordFailure(f);
    }
    // The first failure of each reason on stderr at once, not only in the records.
    if (!quiet_) {
      std::string line = notices_.Line(f.index, f.item, f.reason, f.stderr_tail);
      if (!line.empty()) Say(line);
    }
  }
  void Log(std::string_view line) override { run_.Log(line); }
  void Printed(uint64_t index, std::string_view item, int worker, OutputStream stream,
               std::string_view bytes, std::optional<std::string_view> line_tag) override {
    if (print_) print_->PrintPiece(index, item, worker, stream, bytes, line_tag);
  }
  void Say(const std::string& message) override {
    if (progress_) progress_->Clear();
    std::fprintf(stderr, "%s\n", message.c_str());
  }
  void Notice(const std::string& message) override {
    if (!quiet_) Say(message);
  }
  void Opened(uint64_t index) override {
    if (window_) window_->Open(index);
  }
  bool Full() const override { return window_ && window_->full(); }

 private:
  RunDirectory& run_;
  RecordWindow* window_;
  ProgressDisplay* progress_;
  bool quiet_;
  JobOutput* print_;
  FailureNotices notices_;
};

}  // namespace shoal
