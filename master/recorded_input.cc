#include "master/recorded_input.h"

#include <memory>
#include <vector>

#include "master/item_source.h"

namespace shoal {

namespace {

constexpr uint64_t kBuckets = 4096;

// Positions [lo, lo + width * kBuckets) in kBuckets ranges of `width`.
struct Buckets {
  uint64_t lo;
  uint64_t width;
  uint64_t end;  // one past the last position looked at
  size_t Of(uint64_t index) const { return static_cast<size_t>((index - lo) / width); }
  bool Holds(uint64_t index) const { return index >= lo && index < end; }
};

// Calls on_item for every item of the input up to position `last`; the
// input's own error if it failed.
Status ReadInput(const Settings& settings, uint64_t last,
                 const std::function<void(const Item&)>& on_item) {
  auto source = OpenItemSource(settings, settings.input.items);
  if (!source.ok()) return source.status();
  Item item;
  while (item.index < last && (*source)->Next(&item)) on_item(item);
  return (*source)->status();
}

std::string Changed(const std::string& run_dir) {
  return "the input changed since " + run_dir + " ran: ";
}

// The first recorded position whose item the input does not hold there.
Status NameFirstDifference(const std::string& run_dir, const Settings& settings,
                           const RunRecords& records) {
  const uint64_t max = records.done.max_index();
  Buckets b{1, (max + kBuckets - 1) / kBuckets, max + 1};
  uint64_t last_read = 0;  // the input's last position, in the last pass
  while (true) {
    std::vector<uint64_t> recorded(kBuckets, 0), input(kBuckets, 0);
    DoneSet seen;  // duplicates count once, as in ReadRunRecords
    Status st = ForEachRecord(run_dir, settings, [&](const RecordKey& key, bool) {
      if (b.Holds(key.index) && seen.Add(key.index)) {
        recorded[b.Of(key.index)] += HashedRecordTerm(key.index, key.item_hash);
      }
    });
    if (!st.ok()) return st;
    last_read = 0;
    st = ReadInput(settings, b.end - 1, [&](const Item& item) {
      last_read = item.index;
      if (b.Holds(item.index) && records.done.Contains(item.index)) {
        input[b.Of(item.index)] += RecordTerm(item.index, item.text);
      }
    });
    if (!st.ok()) return st;
    size_t first = 0;
    while (first < kBuckets && recorded[first] == input[first]) ++first;
    if (first == kBuckets) {
      // Only a hash collision gets here.
      return Status::Error(Changed(run_dir) +
                           "its recorded items differ from the input; resume needs the same "
                           "input (start a new run, or 'shoal retry' its failed items)");
    }
    const uint64_t lo = b.lo + first * b.width;
    if (b.width == 1) {
      if (lo > last_read) {
        return Status::Error(Changed(run_dir) + "it ends before item " + std::to_string(lo) +
                             ", which has a record; resume needs the same input");
      }
      return Status::Error(Changed(run_dir) + "item " + std::to_string(lo) +
                           " is not the one recorded there; resume needs the same input "
                           "(start a new run, or 'shoal retry' its failed items)");
    }
    const uint64_t end = std::min(b.end, lo + b.width);
    b = Buckets{lo, (end - lo + kBuckets - 1) / kBuckets, end};
  }
}

}  // namespace

Status CheckRecordedInput(const std::string& run_dir, const Settings& settings,
                          const RunRecords& records) {
  if (records.done.count() == 0) return Status::Ok();
  uint64_t digest = 0, matched = 0;
  Status st = ReadInput(settings, records.done.max_index(), [&](const Item& item) {
    if (!records.done.Contains(item.index)) return;
    digest += RecordTerm(item.index, item.text);
    ++matched;
  });
  if (!st.ok()) return st;
  if (digest == records.digest && matched == records.done.count()) return Status::Ok();
  return NameFirstDifference(run_dir, settings, records);
}

}  // namespace shoal
