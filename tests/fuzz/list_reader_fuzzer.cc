// Fuzzes the list reader: arbitrary bytes as a list file, read with the
// options the first two bytes choose. It must never crash; item indexes go
// 1, 2, 3...; no item is longer than kMaxItemBytes; an item has either text
// or an error. Without a CSV column the items must also be exactly those of
// a plain split on the separator (the reference model below).
//
// Input: [options] [column] [delta] list bytes...
//   options bit 0: NUL separator (else newline); bit 1: skip_header;
//   bits 2-3: put a record of 'x' before the list, so that a small input
//   reaches the length limit and the end of a read block: 1 = kMaxItemBytes +
//   delta bytes joined to the first record; 2 = one read block + delta - 1
//   bytes and a separator (the list starts around the block's end); 3 = one
//   read block + delta bytes joined to the first record.
//   column % 8: the CSV column (0 = the whole record).
// A prefix rather than repeating the list: a megabyte of short records
// would cost a million items per run.
// The list is read from a memfd: from memory, yet a regular file to the reader.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "master/list_reader.h"

namespace {

constexpr size_t kReadBlock = size_t{1} << 20;  // list_reader.cc's kReadBytes

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "list_reader_fuzzer: %s\n", what.c_str());
  std::abort();
}

struct Expected {
  std::string text;  // empty for an error
  bool error = false;
};

// What ListReader's header promises for a list without a CSV column.
std::vector<Expected> SplitPlain(std::string_view list, char sep, bool skip_header) {
  std::vector<Expected> items;
  bool header = skip_header;
  size_t start = 0;
  while (start < list.size()) {
    size_t end = list.find(sep, start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view record = list.substr(start, end - start);
    start = end + 1;
    if (sep == '\n' && record.ends_with('\r')) record.remove_suffix(1);
    if (record.empty()) continue;
    if (header) {
      header = false;
      continue;
    }
    if (record.size() > shoal::kMaxItemBytes) {
      items.push_back({"", true});
    } else {
      items.push_back({std::string(record), false});
    }
  }
  return items;
}

std::string WithPrefix(std::string_view body, size_t x_bytes, bool separate, char sep) {
  std::string out(x_bytes, 'x');
  if (separate) out.push_back(sep);
  out.append(body);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  const uint8_t flags = data[0];
  const int column = data[1] % 8;
  const int delta = static_cast<int8_t>(data[2]);
  const std::string_view body(reinterpret_cast<const char*>(data) + 3, size - 3);
  const char sep = (flags & 1) ? '\0' : '\n';
  std::string grown;
  std::string_view list = body;
  switch ((flags >> 2) & 3) {
    case 1:
      list = grown = WithPrefix(body, shoal::kMaxItemBytes + delta, false, sep);
      break;
    case 2:
      list = grown = WithPrefix(body, kReadBlock + delta - 1, true, sep);
      break;
    case 3:
      list = grown = WithPrefix(body, kReadBlock + delta, false, sep);
      break;
    default:
      break;
  }

  static const int fd = memfd_create("list_reader_fuzzer", MFD_CLOEXEC);
  if (fd < 0) Fail("memfd_create failed");
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, list.data(), list.size(), 0) != static_cast<ssize_t>(list.size()) ||
      lseek(fd, 0, SEEK_SET) != 0) {
    Fail("cannot write the list to the memfd");
  }

  shoal::ListOptions options;
  options.separator = (flags & 1) ? shoal::Separator::kNul : shoal::Separator::kNewline;
  options.skip_header = (flags & 2) != 0;
  options.column = column;
  shoal::ListReader reader(fd, false, "fuzz list", options);

  std::vector<Expected> got;
  shoal::Item item;
  uint64_t last_index = 0;
  while (reader.Next(&item)) {
    if (item.index != last_index + 1) {
      Fail("index " + std::to_string(item.index) + " after " + std::to_string(last_index));
    }
    last_index = item.index;
    if (reader.seen() != item.index) Fail("seen() is not the last index");
    if (item.text.size() > shoal::kMaxItemBytes) {
      Fail("item " + std::to_string(item.index) + " has " + std::to_string(item.text.size()) +
           " bytes");
    }
    if (item.error.empty() == item.text.empty()) {
      Fail("item " + std::to_string(item.index) + " has " +
           (item.error.empty() ? "neither text nor an error" : "both text and an error"));
    }
    if (column == 0 && item.text.find(sep) != std::string::npos) {
      Fail("item " + std::to_string(item.index) + " holds the separator");
    }
    got.push_back({item.text, !item.error.empty()});
  }
  if (!reader.done()) Fail("Next() returned false before done()");
  if (!reader.status().ok()) Fail("status: " + reader.status().message());
  if (reader.seen() != last_index) Fail("seen() is not the number of items");
  if (reader.Next(&item)) Fail("Next() returned an item after the end");

  if (column == 0) {
    const std::vector<Expected> want = SplitPlain(list, sep, options.skip_header);
    if (got.size() != want.size()) {
      Fail(std::to_string(got.size()) + " items, the split gives " + std::to_string(want.size()));
    }
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].error != want[i].error || got[i].text != want[i].text) {
        Fail("item " + std::to_string(i + 1) + " is not the split's");
      }
    }
  }
  return 0;
}
