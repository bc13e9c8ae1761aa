// ReadAhead: another source read on a thread of its own, a few batches ahead
// of the consumer. Walking a tree is mostly the kernel's getdents64 and a sort
// per directory; on its own thread that work overlaps the master's dispatch
// (or the dry run's printing) instead of adding to it.
//
// The wrapped source is touched only by the reading thread. Memory is bounded
// by kMaxBatches x kBatchItems items. Next() waits when nothing is ready;
// WouldBlock()/WaitFd() let an event loop sleep until a batch is (WaitFd is an
// eventfd that is readable while a batch or the end is waiting). The thread
// blocks every signal, so signals reach the thread that expects them.
// Warnings of the source are passed on, at most kMaxWarnings between two
// TakeWarnings() calls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "common/status.h"
#include "master/item_source.h"

namespace shoal {

class ReadAhead final : public ItemSource {
 public:
  static constexpr size_t kBatchItems = 512;
  static constexpr size_t kMaxBatches = 8;
  // Warnings kept between two TakeWarnings() calls; later ones are counted.
  static constexpr size_t kMaxWarnings = 1000;

  // Starts reading `source` at once.
  static Result<std::unique_ptr<ReadAhead>> Start(std::unique_ptr<ItemSource> source);
  // The same, or, when the thread cannot start, `source` itself, read on
  // the caller's thread, with the reason in *why.
  static std::unique_ptr<ItemSource> StartOrKeep(std::unique_ptr<ItemSource> source,
                                                 std::string* why);
  // Stops the thread (between two items of the source) and waits for it.
  ~ReadAhead() override;
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  bool Next(Item* item) override;
  Status status() const override;
  uint64_t seen() const override { return seen_.load(std::memory_order_relaxed); }
  bool done() const override;
  std::vector<std::string> TakeWarnings() override;
  bool WouldBlock() override;
  int WaitFd() const override { return ready_fd_.get(); }

 private:
  explicit ReadAhead(std::unique_ptr<ItemSource> source, UniqueFd ready_fd);
  void Run();
  // Consumer side: the next batch into current_, waiting for it when `wait`.
  // False when none is ready (and !wait) or the input has ended.
  bool TakeBatch(bool wait);

  std::unique_ptr<ItemSource> source_;  // the reading thread's alone
  UniqueFd ready_fd_;

  mutable std::mutex mu_;
  std::condition_variable room_;    // the reader waits for a free batch slot
  std::condition_variable filled_;  // Next() waits for a batch
  std::deque<std::vector<Item>> ready_;
  BoundedWarnings warnings_{kMaxWarnings};
  bool finished_ = false;  // the reader reached the end or an error
  bool stop_ = false;
  Status status_;

  std::atomic<uint64_t> seen_{0};
  std::vector<Item> current_;  // the consumer's batch
  size_t pos_ = 0;
  std::thread thread_;
};

}  // namespace shoal
