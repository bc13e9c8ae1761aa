#include "master/progress.h"

#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <limits>

namespace shoal {

namespace {

uint64_t NowNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

std::string FormatRate(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, rate >= 100 ? "%.0f" : rate >= 10 ? "%.1f" : "%.2f", rate);
  return buf;
}

// Seconds until the end at the current rate, or < 0 when it cannot be known.
double EtaSeconds(const ProgressCounts& c) {
  if (!c.total_known) return -1;
  uint64_t remaining = c.seen - std::min(c.seen, c.done);
  if (remaining == 0) return 0;
  if (!(c.rate > 0)) return -1;
  return static_cast<double>(remaining) / c.rate;
}

}  // namespace

std::string FormatSeconds(double seconds) {
  if (!(seconds >= 0)) seconds = 0;
  char buf[48];
  if (seconds < 9.95) {
    std::snprintf(buf, sizeof buf, "%.1fs", seconds);
    return buf;
  }
  auto s = static_cast<uint64_t>(std::llround(std::min(seconds, 1e15)));
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%llus", static_cast<unsigned long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60),
                  static_cast<unsigned long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600),
                  static_cast<unsigned long long>(s / 60 % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llud%02lluh", static_cast<unsigned long long>(s / 86400),
                  static_cast<unsigned long long>(s / 3600 % 24));
  }
  return buf;
}

std::string FormatStatusLine(const ProgressCounts& c) {
  std::string line = std::to_string(c.done) + " done, " + std::to_string(c.failed) + " failed, ";
  if (c.total_known) {
    line += std::to_string(c.seen - std::min(c.seen, c.done)) + " remaining";
  } else {
    line += "? remaining (" + std::to_string(c.seen) + " read so far)";
  }
  line += ", " + FormatRate(c.rate) + " items/s, elapsed " + FormatSeconds(c.elapsed_s);
  double eta = EtaSeconds(c);
  line += ", ETA " + (eta < 0 ? std::string("?") : FormatSeconds(eta));
  return line;
}

std::string FormatLiveLine(const ProgressCounts& c, int width) {
  std::string counts;
  std::string tail = " | " + std::to_string(c.failed) + " failed";
  if (c.failed > 0 && !c.top_reason.empty()) {
    // Cut so that the rate and the times still fit on a usual terminal.
    tail += " (" + c.top_reason.substr(0, 24) + " x" + std::to_string(c.top_reason_count) + ")";
  }
  tail += " | " + FormatRate(c.rate) + "/s | " + FormatSeconds(c.elapsed_s);
  double eta = EtaSeconds(c);
  if (eta >= 0) tail += " | ETA " + FormatSeconds(eta);

  std::string line;
  if (c.total_known) {
    uint64_t total = std::max(c.seen, c.done);
    double fraction = total == 0 ? 1.0 : static_cast<double>(c.done) / static_cast<double>(total);
    char percent[16];
    std::snprintf(percent, sizeof percent, " %d%%", static_cast<int>(fraction * 100));
    counts = std::to_string(c.done) + "/" + std::to_string(total) + percent;
    // The bar takes what is left of the width, between 10 and 40 cells.
    int room = width - 1 - static_cast<int>(counts.size() + tail.size()) - 3;
    int cells = std::min(room, 40);
    if (cells >= 10) {
      int filled = static_cast<int>(fraction * cells);
      line.assign(1, '[');
      line.append(static_cast<size_t>(filled), '#');
      line.append(static_cast<size_t>(cells - filled), '.');
      line.append("] ");
    }
    line += counts;
  } else {
    line = std::to_string(c.done) + " done, seen " + std::to_string(c.seen);
  }
  line += tail;
  if (width > 1 && line.size() > static_cast<size_t>(width - 1)) {
    line.resize(static_cast<size_t>(width - 1));
  }
  return line;
}

void RateMeter::Add(uint64_t now_ns, uint64_t finished) {
  if (size_ > 0) {
    const Sample& last = ring_[(next_ + ring_.size() - 1) % ring_.size()];
    if (now_ns - std::min(now_ns, last.ns) < kSampleEveryNs) return;
  }
  ring_[next_] = {now_ns, finished};
  next_ = (next_ + 1) % ring_.size();
  size_ = std::min(size_ + 1, ring_.size());
}

double RateMeter::Rate(uint64_t now_ns, uint64_t finished) const {
  if (size_ > 0) {
    const Sample& oldest = ring_[(next_ + ring_.size() - size_) % ring_.size()];
    uint64_t items = finished - std::min(finished, oldest.finished);
    if (items >= kMinItems && now_ns > oldest.ns) {
      return static_cast<double>(items) * 1e9 / static_cast<double>(now_ns - oldest.ns);
    }
  }
  if (now_ns <= start_ns_) return 0;
  return static_cast<double>(finished) * 1e9 / static_cast<double>(now_ns - start_ns_);
}

bool InputCounter::Step(uint64_t budget_ns, const std::function<bool()>& yield) {
  if (!source_) return false;
  uint64_t deadline = NowNs() + budget_ns;
  Item item;
  for (int n = 1;; ++n) {
    if (!source_->Next(&item)) {
      finished_ = source_->status().ok();
      source_.reset();
      return false;
    }
    if (++count_ > max_items_) {
      source_.reset();
      return false;
    }
    if (n % 64 == 0) {
      source_->TakeWarnings();  // the run's own source reports them
      if (NowNs() >= deadline || (yield && yield())) return true;
    }
  }
}

ProgressMode ChooseProgressMode(int flag, bool quiet, bool stderr_is_terminal) {
  if (flag == 1) return ProgressMode::kLive;
  if (flag == -1 && stderr_is_terminal && !quiet) return ProgressMode::kLive;
  return quiet ? ProgressMode::kOff : ProgressMode::kLines;
}

ProgressDisplay::ProgressDisplay(ProgressMode mode, int fd, uint64_t lines_every_ns,
                                 uint64_t start_ns)
    : mode_(mode),
      fd_(fd),
      every_ns_(mode == ProgressMode::kLive ? kRedrawEveryNs : lines_every_ns) {
  bool never = mode_ == ProgressMode::kOff || every_ns_ == 0;
  next_due_ns_ = never ? std::numeric_limits<uint64_t>::max() : start_ns + every_ns_;
}

int ProgressDisplay::Width() const {
  struct winsize ws {};
  if (::ioctl(fd_, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

void ProgressDisplay::Write(std::string_view text) {
  // Best effort: progress is never worth failing or blocking the run for.
  while (!text.empty()) {
    ssize_t n = ::write(fd_, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void ProgressDisplay::Tick(uint64_t now_ns, const ProgressCounts& c) {
  if (now_ns < next_due_ns_) return;
  // The next one a whole interval later: a loop that was busy for a while
  // catches up with one draw, not a burst.
  next_due_ns_ = now_ns + every_ns_;
  if (mode_ == ProgressMode::kLive) {
    line_.clear();
    line_.push_back('\r');
    line_.append(FormatLiveLine(c, Width()));
    line_.append("\x1b[K");
    Write(line_);
    drawn_ = true;
  } else {
    line_ = "shoal: " + FormatStatusLine(c) + "\n";
    Write(line_);
  }
}

void ProgressDisplay::Clear() {
  if (!drawn_) return;
  Write("\r\x1b[K");
  drawn_ = false;
  next_due_ns_ = 0;  // draw again at the next Tick
}

}  // namespace shoal
