// output.print = "group": what each item printed, on shoal's own stdout and
// stderr, whole per item. The master alone writes them, one item at a time,
// so two items' output never interleaves, whatever the number of workers.
#pragma once

#include <string>

#include "master/progress.h"
#include "master/run_dir.h"

namespace shoal {

class JobOutput {
 public:
  // `run_dir` resolves a spill file (output_file); `progress` (may be null)
  // is cleared before stderr is written.
  JobOutput(std::string run_dir, bool tag, ProgressDisplay* progress, int out_fd = 1,
            int err_fd = 2)
      : run_dir_(std::move(run_dir)),
        tag_(tag),
        progress_(progress),
        out_fd_(out_fd),
        err_fd_(err_fd) {}

  using Held = ItemOutput;
  static Held Hold(const RunDirectory::Finished& f);

  void Print(const Held& h);
  void Print(const RunDirectory::Finished& f) { Print(Hold(f)); }

 private:
  // Adds `text` to buf_, each line after the tag when tagging;
  // `at_line_start` carries over between pieces of one stream.
  void Append(std::string_view text, std::string_view item, bool* at_line_start);
  std::string run_dir_;
  bool tag_;
  ProgressDisplay* progress_;
  int out_fd_, err_fd_;
  bool out_broken_ = false;  // stdout was closed (shoal ... | head): printing stops
  std::string buf_;
};

}  // namespace shoal
