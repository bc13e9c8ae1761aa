// OutputClaims: one {rel} per item of a run, for the files a command writes
// under {out} itself.
//
// shoal renames the files it writes (command.stdout = "file", http response
// files) and checks their owner then (output_file.h). What a command writes
// into {out} on its own (`gzip -c {path} > {out}/{name}.gz`, a converter's
// output path) it cannot see. List items spelt differently but with one
// {rel} (a/f, ./a/f, b/../a/f), or listed twice, would write the same files
// and all report ok. So before such a command runs, the worker claims the
// item's {rel} for its index: the first item to claim it owns it for the run;
// another item with the same {rel} fails, naming the owner, and its command
// never runs. An item's own claim (an earlier attempt, a resume, a retry)
// is its own.
//
// The claims live in the run directory, claims/XX/HASH: a symlink per {rel}
// whose target is the owner's index. The name is 128 bits of the SHA-256 of
// the {rel}; symlinkat creates it whole or not at all, so two workers
// claiming at once cannot both win, and a target this short is kept inside
// the inode (no data block). Nothing is kept in memory per item.
// Tree items need no claims: the walker yields each {rel} once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/fd.h"
#include "common/status.h"

namespace shoal {

class OutputClaims {
 public:
  // The run's claims directory, created (0700) when missing.
  static Result<OutputClaims> Open(const std::string& run_dir);

  // Ok when `rel` is free (it is claimed for `index` now) or already index's;
  // an error naming the owner when another item of the run claimed it.
  Status Claim(std::string_view rel, uint64_t index);

 private:
  explicit OutputClaims(UniqueFd dir) : dir_(std::move(dir)) {}
  UniqueFd dir_;
};

}  // namespace shoal
