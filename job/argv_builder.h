// The argv one item runs, built the same way by the command handler in each
// worker and by the master (its check before a run, and --dry-run's printing),
// so that what the master shows or rejects is exactly what a worker would run.
//
// With command.batch, one command line takes many items (GNU parallel's -X
// and -m). Each argv word without a per-item placeholder appears once. A word
// with one is, in "context" mode, repeated for every item with its context
// ("pre-{}-post" gives pre-a-post pre-b-post); in "join" mode its context
// appears once around the items, each item an argument of its own
// ("pre-a", "b", "c-post", as parallel -m gives after the shell splits it).
// With shell = true (join only), the script's placeholder span is repeated
// per item, shell-quoted, separated by spaces. With no per-item placeholder
// at all, the items are appended, as {}.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/settings.h"
#include "job/item_paths.h"
#include "job/template.h"

namespace shoal {

// The argv templates expanded (shell = false), one script with shell-quoted
// values for /bin/sh -c (shell = true), or the item itself as a command line
// (empty argv). The templates are parsed once, by Compile; Build runs per item
// and is const: one ArgvBuilder serves every item of a process.
class ArgvBuilder {
 public:
  // Fails on a bad template, or shell = true with more than one argv string.
  // `fields` says what {1} {2} ... and {name} may be (FieldContextOf).
  static Result<ArgvBuilder> Compile(const CommandSettings& command,
                                     const FieldContext& fields = {});
  ArgvBuilder() = default;

  // The ItemPaths members Build reads (a PathField mask).
  unsigned fields() const { return fields_; }
  // Fills *argv, reusing its strings. With make_out_dir false, {out} is named
  // but not created (--dry-run). Fails on an argument holding a NUL byte.
  Status Build(const ItemPaths& paths, bool make_out_dir, std::vector<std::string>* argv) const {
    return BuildBatch(std::span<const ItemPaths>(&paths, 1), make_out_dir, argv);
  }

  // command.batch is set: a command line may take many items.
  bool batches() const { return batch_ != BatchMode::kNone; }
  // How many items a worker takes at once to split into command lines by
  // Fit: command.max_args, or without it kMostPerBatch; 1 without batch.
  static constexpr size_t kMostPerBatch = 4096;
  size_t max_batch() const {
    if (!batches()) return 1;
    return max_args_ != SIZE_MAX ? max_args_ : kMostPerBatch;
  }
  // How many of `items`, from the front, one command line takes: at most
  // command.max_args, and only as many as keep its argv within
  // command.max_bytes. At least 1: an item too big alone still runs alone
  // (and fails if the system refuses it). 1 without command.batch.
  size_t Fit(std::span<const ItemPaths> items) const;
  // The command line of all of `items` (one, without command.batch).
  Status BuildBatch(std::span<const ItemPaths> items, bool make_out_dir,
                    std::vector<std::string>* argv) const;

 private:
  enum class Form { kItemAsScript, kScript, kArgv };
  // Bytes the kernel counts for one argument: the string, its NUL, its pointer.
  static size_t ArgBytes(size_t length) { return length + 1 + sizeof(char*); }
  // What one item adds to a command line's bytes, and what the rest costs.
  size_t ItemBytes(const ItemPaths& paths, std::string* scratch) const;
  size_t FixedBytes(const ItemPaths& paths, std::string* scratch) const;
  Status AppendWord(const Template& t, std::span<const ItemPaths> items, bool make_out_dir,
                    std::vector<std::string>* argv) const;

  Form form_ = Form::kItemAsScript;
  std::vector<Template> templates_;
  unsigned fields_ = kFieldItem;
  BatchMode batch_ = BatchMode::kNone;
  size_t max_args_ = 1;
  size_t max_bytes_ = 0;
};

// command.max_bytes with the environment a command gets (this process's,
// with command.env over it) must stay under the system's ARG_MAX: checked
// before a run with command.batch, so that no command line fails with E2BIG.
Status CheckCommandLineRoom(const CommandSettings& command);

}  // namespace shoal
