// output.print: what each item printed, on shoal's own stdout and stderr.
// The master alone writes them. "group" (and "ungroup" in input order)
// prints an item's stdout and stderr whole once it has finished, one item at
// a time, so two items' output never interleaves, whatever the number of
// workers. "line" and "ungroup" in completion order print what the workers
// forward while the items run (PrintPiece): whole lines, or whatever came.
// "line" in input order (parallel -k --line-buffer) prints the pieces of the
// item whose turn it is at once and holds the later items' pieces until
// their turn comes (Turn): in memory up to a bound per item, the rest in a
// file under spill/, so memory stays bounded by the reorder window.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "common/wire.h"
#include "config/settings.h"
#include "job/fields.h"
#include "job/item_paths.h"
#include "job/template.h"
#include "master/progress.h"
#include "master/run_dir.h"

namespace shoal {

class JobOutput {
 public:
  // `s` must outlive it (the master's settings, field names filled in);
  // `run_dir` resolves the spill files; `progress` (may be null) is cleared
  // before stderr is written.
  static Result<std::unique_ptr<JobOutput>> Make(const Settings& s, InputKind kind,
                                                 std::string run_dir, ProgressDisplay* progress,
                                                 int out_fd = 1, int err_fd = 2);

  // The workers forward what items print as it comes (the command handler
  // does: see worker/command_handler.cc); nothing is left to print at the end.
  static bool Streams(const Settings& s);

  using Held = ItemOutput;
  Held Hold(const RunDirectory::Finished& f) const;

  // An item's output, once it has finished. A stderr file is removed once printed.
  void Print(const Held& h);
  void Print(const RunDirectory::Finished& f) {
    if (!streams_) Print(Hold(f));
  }
  // A piece a worker forwarded while item `index` runs; `line_tag`, if
  // any, is the tag of its command line of many items (command.batch).
  void PrintPiece(uint64_t index, std::string_view item, int worker, OutputStream stream,
                  std::string_view bytes, std::optional<std::string_view> line_tag = std::nullopt);

  // "line" in input order, from the RecordWindow: item `index` is now the
  // first in input order without its records: what it holds is printed, and
  // its pieces go out at once from now on. An item's Print (its records are
  // written) prints what it still holds; an item never given its turn (not
  // in the window) prints all it holds then.
  void Turn(uint64_t index);
  // At the end of a run (halted, interrupted): what items still hold, in input order.
  void PrintHeld();

  // Per item, in memory before it goes to a file.
  static constexpr size_t kHeldInMemory = 64 * 1024;
  // Where those files are (INDEX.stdout, INDEX.stderr), beneath the run
  // directory; emptied when a run or a resume starts.
  static constexpr const char* kHeldDir = "spill/held";

 private:
  // One stream of what an item printed before its turn: `spill` (a file
  // under kHeldDir, when there was more than kHeldInMemory) then `bytes`.
  // Tags are in already.
  struct HeldStream {
    std::string bytes;
    std::string spill;
  };
  struct HeldPieces {
    HeldStream out, err;
  };

  JobOutput(const Settings& s, InputKind kind, std::string run_dir, ProgressDisplay* progress,
            int out_fd, int err_fd);
  // The tag of one item: output.tagstring expanded, or the item (output.tag);
  // of a command line of many items, what its worker made (`line_tag`).
  std::string TagOf(uint64_t index, std::string_view item, int worker,
                    std::optional<std::string_view> line_tag) const;
  // Adds `text` to buf_, each line after the tag when tagging;
  // `at_line_start` carries over between pieces of one stream.
  void Append(std::string_view text, const Held& h, bool* at_line_start);
  // `inline_text`, then the file `spill` (streamed in chunks, so memory
  // stays bounded), to `fd`; false once the fd refuses.
  bool WriteStream(int fd, std::string_view inline_text, const std::string& spill, const Held& h);
  // Keeps `bytes` of item `index` until its turn.
  void Keep(uint64_t index, OutputStream stream, std::string_view bytes);
  // Prints what item `index` holds, and forgets it.
  void PrintHeldOf(uint64_t index);
  // `held` to `fd` (the file in chunks, then removed); false once the fd refuses.
  bool WriteHeld(int fd, const HeldStream& held);

  const Settings& s_;
  const InputKind kind_;
  const std::string run_dir_;
  ProgressDisplay* const progress_;
  const int out_fd_, err_fd_;
  const bool streams_;
  const bool in_order_;  // streams_ in input order: pieces wait for their item's turn
  const bool tagged_;
  Template tagstring_;  // when output.tagstring is set
  FieldSplitter splitter_;
  mutable ItemPaths paths_;  // reused for every tag
  bool out_broken_ = false;  // stdout was closed (shoal ... | head): printing stops
  std::string buf_;
  std::optional<uint64_t> turn_;         // the item whose pieces print at once
  std::map<uint64_t, HeldPieces> held_;  // by index: the items that printed before their turn
};

}  // namespace shoal
