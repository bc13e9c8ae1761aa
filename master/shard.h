// Shards: one job split over N machines, each running shard K of N of the
// same input. An item's shard depends only on its text, through a hash that
// is fixed forever (records written by one version must merge with those of
// another), never on its position: nodes that list a directory in different
// orders, or a retry over a failed list, agree on every item's shard. Item
// indices stay those of the whole input, so the shards' records merge by index.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"
#include "master/item_source.h"

namespace shoal {

struct ShardSpec {
  uint32_t index = 0;  // K, 0-based
  uint32_t count = 1;  // N
};

// "K/N" with 0 <= K < N. config/load.cc validates input.shard the same way.
Result<ShardSpec> ParseShard(std::string_view text);
std::string FormatShard(ShardSpec spec);  // "K/N"

// The hash of an item's text: FNV-1a 64, then MurmurHash3's 64-bit finalizer
// so that every bit depends on every byte. Part of the contract: do not change.
uint64_t ShardHash(std::string_view text);
// Shard of a hash among `count`: the high bits of hash x count (multiply-shift),
// uniform for any count.
uint32_t ShardOfHash(uint64_t hash, uint32_t count);
// The shard of an item. An item with no text (one the input could not deliver,
// e.g. a line over the length limit) is placed by its index instead.
uint32_t ShardOfItem(const Item& item, uint32_t count);

// The shard that the environment asks for, for 'shoal run' without --shard
// and without input.shard:
//   Slurm: SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT, accepted only for
//     an array numbered 0..COUNT-1 (SLURM_ARRAY_TASK_MIN = 0 and
//     SLURM_ARRAY_TASK_MAX = COUNT-1); anything else is an error, since
//     shards would be lost or run twice.
//   Kubernetes Indexed Job: JOB_COMPLETION_INDEX with SHOAL_SHARDS = N.
struct EnvShard {
  std::string shard;   // "K/N", or "" for the whole input
  std::string source;  // for messages: "SLURM_ARRAY_TASK_ID=2 of SLURM_ARRAY_TASK_COUNT=4"
  std::string note;    // a variable that was ignored, worth telling the user; or ""
};
using GetEnvFn = std::function<const char*(const char*)>;
Result<EnvShard> ShardFromEnvironment(const GetEnvFn& getenv_fn);

// The log.txt line of a sharded run: which shard, and the Slurm array task or
// Kubernetes index it runs as, when there is one.
std::string ShardLogLine(std::string_view shard, const GetEnvFn& getenv_fn);

// An ItemSource that passes on only the items of one shard, with their
// indices in the whole input. It reads (and drops) the other shards' items:
// every node walks the whole input, which costs listing, not processing.
class ShardFilter : public ItemSource {
 public:
  ShardFilter(std::unique_ptr<ItemSource> inner, ShardSpec spec)
      : inner_(std::move(inner)), spec_(spec) {}

  bool Next(Item* item) override;
  Status status() const override { return inner_->status(); }
  uint64_t seen() const override { return passed_; }
  bool done() const override { return inner_->done(); }
  std::vector<std::string> TakeWarnings() override { return inner_->TakeWarnings(); }
  std::string Incomplete() const override { return inner_->Incomplete(); }
  bool WouldBlock() override { return inner_->WouldBlock(); }
  int WaitFd() const override { return inner_->WaitFd(); }
  const std::string* Header() override { return inner_->Header(); }

  // Items of other shards dropped so far.
  uint64_t dropped() const { return dropped_; }

 private:
  std::unique_ptr<ItemSource> inner_;
  ShardSpec spec_;
  uint64_t passed_ = 0;
  uint64_t dropped_ = 0;
};

}  // namespace shoal
