#include "master/timeline.h"

#include <algorithm>
#include <cstdio>

#include "common/json.h"

namespace shoal {

void Timeline::Append(uint64_t now_ns, int64_t unix_ms, const TimelineSample& s, std::string* out) {
  const uint64_t since = now_ns - std::min(now_ns, start_ns_);
  next_due_ns_ = start_ns_ + (since / kEveryNs + 1) * kEveryNs;
  std::string busy = "[";
  for (double b : s.busy) {
    if (busy.size() > 1) busy.push_back(',');
    char buf[16];
    int n = std::snprintf(buf, sizeof buf, "%.3f", std::clamp(b, 0.0, 1.0));
    busy.append(buf, static_cast<size_t>(n));
  }
  busy.push_back(']');
  JsonObject o(out);
  o.Double("t", static_cast<double>(since) / 1e9, 3).Int("unix_ms", unix_ms);
  o.Int("done", static_cast<int64_t>(s.done)).Int("ok", static_cast<int64_t>(s.ok));
  o.Int("failed", static_cast<int64_t>(s.failed)).Int("retried", static_cast<int64_t>(s.retried));
  o.Int("in_flight", static_cast<int64_t>(s.in_flight)).Int("seen", static_cast<int64_t>(s.seen));
  o.Raw("busy", busy).Double("cpu_master_s", s.cpu_master_s, 3);
  o.Double("cpu_threads_s", s.cpu_threads_s, 3);
  o.EndLine();
}

}  // namespace shoal
