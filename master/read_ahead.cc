#include "master/read_ahead.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "master/threads.h"

namespace shoal {

Result<std::unique_ptr<ReadAhead>> ReadAhead::Start(std::unique_ptr<ItemSource> source) {
  std::string why;
  std::unique_ptr<ItemSource> started = StartOrKeep(std::move(source), &why);
  if (!why.empty()) return Status::Error(why);
  return std::unique_ptr<ReadAhead>(static_cast<ReadAhead*>(started.release()));
}

std::unique_ptr<ItemSource> ReadAhead::StartOrKeep(std::unique_ptr<ItemSource> source,
                                                   std::string* why) {
  UniqueFd fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!fd.valid()) {
    *why = Status::FromErrno("eventfd for reading the input ahead", errno).message();
    return source;
  }
  std::unique_ptr<ReadAhead> r(new ReadAhead(std::move(source), std::move(fd)));
  // Started here, not in the constructor: Run() uses the whole object.
  Result<std::thread> thread = StartThread([p = r.get()] { p->Run(); }, "reads the input");
  if (!thread.ok()) {
    *why = thread.status().message();
    return std::move(r->source_);
  }
  r->thread_ = std::move(*thread);
  return r;
}

ReadAhead::ReadAhead(std::unique_ptr<ItemSource> source, UniqueFd ready_fd)
    : source_(std::move(source)), ready_fd_(std::move(ready_fd)) {}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  room_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ReadAhead::Run() {
  std::vector<Item> batch;
  bool more = true;
  while (more) {
    batch.resize(kBatchItems);
    size_t n = 0;
    while (n < kBatchItems && (more = source_->Next(&batch[n]))) ++n;
    batch.resize(n);
    seen_.fetch_add(n, std::memory_order_relaxed);
    std::vector<std::string> warnings = source_->TakeWarnings();
    {
      std::unique_lock<std::mutex> lock(mu_);
      room_.wait(lock, [&] { return stop_ || ready_.size() < kMaxBatches; });
      if (stop_) return;
      if (n > 0) ready_.push_back(std::move(batch));
      for (std::string& w : warnings) warnings_.Add(std::move(w));
      if (!more) {
        finished_ = true;
        status_ = source_->status();
      }
    }
    filled_.notify_one();
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = ::write(ready_fd_.get(), &one, sizeof one);
    batch = std::vector<Item>();
  }
}

bool ReadAhead::TakeBatch(bool wait) {
  std::unique_lock<std::mutex> lock(mu_);
  if (wait) filled_.wait(lock, [&] { return !ready_.empty() || finished_; });
  if (ready_.empty()) {
    if (!finished_) {
      // Nothing ready: reset the eventfd, so that an event loop watching it
      // sleeps until the reader's next write. Under the lock, so a batch
      // pushed after this check always comes with a write after the reset.
      uint64_t count;
      [[maybe_unused]] ssize_t r = ::read(ready_fd_.get(), &count, sizeof count);
    }
    return false;
  }
  current_ = std::move(ready_.front());
  ready_.pop_front();
  pos_ = 0;
  lock.unlock();
  room_.notify_one();
  return true;
}

bool ReadAhead::Next(Item* item) {
  if (pos_ == current_.size() && !TakeBatch(/*wait=*/true)) return false;
  *item = std::move(current_[pos_++]);
  return true;
}

bool ReadAhead::WouldBlock() {
  if (pos_ < current_.size()) return false;
  if (TakeBatch(/*wait=*/false)) return false;
  std::lock_guard<std::mutex> lock(mu_);
  return !finished_;  // at the end, Next() returns false at once
}

bool ReadAhead::done() const {
  std::lock_guard<std::mutex> lock(mu_);
  return finished_;
}

Status ReadAhead::status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::vector<std::string> ReadAhead::TakeWarnings() {
  std::lock_guard<std::mutex> lock(mu_);
  return warnings_.Take();
}

}  // namespace shoal
