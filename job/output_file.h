// The one safe way to create files and directories inside the run directory:
// spilled output, command.stdout = "file", item logs and {out}. Every path is
// normalized lexically and must stay beneath the run directory, and the walk
// down opens each directory with O_NOFOLLOW, so a hostile item, template or
// planted symlink cannot make a handler write outside the run. Safe to call
// from several workers at once on the same directories (a lost mkdir race is
// not an error).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/status.h"

namespace shoal {

// A file a handler writes inside the run directory (stdout = "file", spilled output).
struct OutputFile {
  UniqueFd fd;      // write-only, close-on-exec, truncated
  std::string rel;  // the path relative to the run directory, for Outcome.output_file
};

// Creates (or truncates) `path` for writing; a relative path is taken from
// run_dir. Once normalized the path must lie beneath run_dir, missing directories
// are created, and no component below run_dir may be a symlink: a hostile
// item or template cannot make a handler write outside the run. Directories
// get the run directory's permissions (output.mode), files the same without
// execute (0700 -> 0600).
Result<OutputFile> CreateOutputFile(const std::string& run_dir, std::string_view path);

// A file shoal writes for one item that must exist at its final path only if
// the item succeeds (stdout = "file"). It is created, with CreateOutputFile's
// checks, as ".NAME.shoal-tmp-<index>" beside NAME (hidden, one per item);
// Commit() renames it to NAME, and if it is never committed (the item failed,
// timed out or was interrupted, or an early return) the destructor removes it.
//
// Two items of a run never share an output file (a/f, ./a/f and b/../a/f
// have the same {rel}): each file carries its owner, the run and the item's
// index, in an extended attribute (user.shoal.owner), and Commit() refuses
// to replace a file another item of the same run committed, naming it. The
// item's own file (an earlier attempt, a resume, a retry) and files of other
// runs (output.tree) are replaced. Nothing is kept in memory per item: the
// file system holds the owners. On a file system without user extended
// attributes there are no marks, and a file is replaced as by rename(2).
class PendingOutputFile {
 public:
  PendingOutputFile() = default;
  PendingOutputFile(PendingOutputFile&&) noexcept = default;
  PendingOutputFile& operator=(PendingOutputFile&&) = delete;  // would drop a temporary
  ~PendingOutputFile();

  // Renames the temporary file to its final name; afterwards the destructor
  // leaves it alone.
  Status Commit();

  UniqueFd fd;      // write-only, close-on-exec, truncated: the temporary file
  std::string rel;  // the final path relative to the run directory

 private:
  friend Result<PendingOutputFile> CreatePendingOutputFile(const std::string& run_dir,
                                                           std::string_view path, uint64_t index,
                                                           std::string_view tree,
                                                           std::string_view item);
  // What stands at the final name after an exchange with it (now at temp_):
  // "" when it may be replaced, else why not.
  std::string Displaced() const;
  UniqueFd dir_;  // the directory both names are in; invalid once committed
  std::string name_;
  std::string temp_;
  std::string where_;    // run_dir/rel, for messages
  std::string run_tag_;  // the run's identity in owner marks ("" = no mark)
  uint64_t index_ = 0;
};

// True for the name of a PendingOutputFile's temporary file
// (".NAME.shoal-tmp-INDEX"): one left by a killed worker is never an output.
bool IsLeftoverTemporary(std::string_view file_name);

// Creates the temporary file for `path` (as CreateOutputFile would), for item
// `index` (whose text `item` names it in another item's error). With
// output.tree = `tree`, `path` may also lie beneath the tree, with the same
// checks below it; its `rel` is then its absolute path.
Result<PendingOutputFile> CreatePendingOutputFile(const std::string& run_dir, std::string_view path,
                                                  uint64_t index, std::string_view tree = {},
                                                  std::string_view item = {});

// Creates the directory `out` (an ItemPaths::out: run_dir/out or below it,
// or with output.tree = `tree` that tree or below it; already normalized)
// and what is missing above it, with the same checks.
Status CreateOutDir(const std::string& run_dir, std::string_view out, std::string_view tree = {});

// output.tree before anything runs: "" passes; otherwise it must be a
// writable directory, or be missing beneath one where it can be made (with
// `create`, it is made). A failure is a bad setting (kUsage).
Status CheckOutputTree(const std::string& tree, bool create);

}  // namespace shoal
