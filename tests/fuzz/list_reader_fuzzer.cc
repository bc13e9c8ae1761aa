// Fuzzes the list reader: arbitrary bytes as a list file, read with the
// options the first two bytes choose. It must never crash; item indexes
// increase; no item is longer than kMaxItemBytes; an item has either text or
// an error. Without a CSV column the items and their indexes (the record's
// line, blank lines counted) must also be exactly those of a plain split on
// the line end the reader decides (the reference model below); so must CSV
// records read whole when the list holds no quote.
//
// Input: [options] [column] [delta] [cut] [cut2] list bytes...
//   options bit 0: NUL separator (else newline); bit 1: skip_header;
//   bit 4: CSV records read whole (csv_records, when column is 0);
//   bit 5: ';' as the CSV delimiter (else ',');
//   bit 2: join kMaxItemBytes + delta bytes of 'x' to the first record, so
//   that a small input reaches the length limit;
//   bit 3: deliver the list in three pieces, one per read(), split `cut`
//   bytes and `cut` + 1 + `cut2` bytes in (counted from 128 bytes before
//   the end of the 'x' prefix, if any): records across reads, cheaply.
//   column % 8: the CSV column (0 = the whole record).
// The list comes from memory: a memfd (a regular file to the reader), or in
// pieces a SOCK_SEQPACKET socket (a read returns one piece, as from a pipe).
// No input reaches the 1 MiB read block itself: in CSV mode a megabyte
// costs 50 ms a run, and the pieces exercise the same refill.
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "master/list_reader.h"

namespace {

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "list_reader_fuzzer: %s\n", what.c_str());
  std::abort();
}

struct Expected {
  std::string text;  // empty for an error
  bool error = false;
  uint64_t index = 0;
};

// The line end ListReader's header promises for newline mode: decided from
// what the first reads bring (`ends`: where each read stops), until a '\n'
// or a '\r' with a byte after it shows up.
char LineEnd(std::string_view list, const std::vector<size_t>& ends) {
  for (size_t end : ends) {
    std::string_view seen = list.substr(0, end);
    if (seen.find('\n') != std::string_view::npos) return '\n';
    size_t cr = seen.find('\r');
    if (cr != std::string_view::npos && cr + 1 < seen.size()) return '\r';
  }
  return list.find('\r') != std::string_view::npos ? '\r' : '\n';
}

// What ListReader's header promises for a list without a CSV column.
std::vector<Expected> SplitPlain(std::string_view list, char sep, bool skip_header) {
  std::vector<Expected> items;
  bool header = skip_header;
  size_t start = 0;
  uint64_t number = 0;
  while (start < list.size()) {
    size_t end = list.find(sep, start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view record = list.substr(start, end - start);
    start = end + 1;
    ++number;
    if (sep == '\n' && record.ends_with('\r')) record.remove_suffix(1);
    if (record.empty()) continue;
    if (header) {
      header = false;
      continue;
    }
    if (record.size() > shoal::kMaxItemBytes) {
      items.push_back({"", true, number});
    } else {
      items.push_back({std::string(record), false, number});
    }
  }
  return items;
}

// A memfd holding `list`, at offset 0. One for the process, refilled.
int MemFd(std::string_view list) {
  static const int fd = memfd_create("list_reader_fuzzer", MFD_CLOEXEC);
  if (fd < 0) Fail("memfd_create failed");
  if (ftruncate(fd, 0) != 0 ||
      pwrite(fd, list.data(), list.size(), 0) != static_cast<ssize_t>(list.size()) ||
      lseek(fd, 0, SEEK_SET) != 0) {
    Fail("cannot write the list to the memfd");
  }
  return fd;
}

// The read end of a socket holding `list` as pieces ending at `cuts`, and
// then the end of input. The caller closes it.
int Pieces(std::string_view list, std::initializer_list<size_t> cuts) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) Fail("socketpair failed");
  const int sndbuf = 4 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  size_t start = 0;
  auto send_piece = [&](size_t end) {
    end = std::min(end, list.size());
    if (end <= start) return;  // an empty piece would read as the end
    if (send(sv[1], list.data() + start, end - start, MSG_DONTWAIT) !=
        static_cast<ssize_t>(end - start)) {
      Fail("cannot queue a piece of the list");
    }
    start = end;
  };
  for (size_t cut : cuts) send_piece(cut);
  send_piece(list.size());
  close(sv[1]);
  return sv[0];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const uint8_t flags = data[0];
  const int column = data[1] % 8;
  const int delta = static_cast<int8_t>(data[2]);
  const size_t cut = data[3];
  const size_t cut2 = data[4];
  const std::string_view body(reinterpret_cast<const char*>(data) + 5, size - 5);
  const char sep = (flags & 1) ? '\0' : '\n';
  std::string prefixed;
  std::string_view list = body;
  size_t cuts_from = 0;
  if (flags & 4) {
    prefixed.assign(shoal::kMaxItemBytes + delta, 'x');
    prefixed.append(body);
    list = prefixed;
    cuts_from = shoal::kMaxItemBytes + delta - 128;
  }
  const bool in_pieces = (flags & 8) != 0;
  const int fd =
      in_pieces ? Pieces(list, {cuts_from + cut, cuts_from + cut + 1 + cut2}) : MemFd(list);
  // Where the reader's reads end: one per piece (empty ones are not sent).
  std::vector<size_t> read_ends;
  for (size_t end : in_pieces ? std::vector<size_t>{cuts_from + cut, cuts_from + cut + 1 + cut2}
                              : std::vector<size_t>{}) {
    end = std::min(end, list.size());
    if (end > (read_ends.empty() ? 0 : read_ends.back())) read_ends.push_back(end);
  }
  read_ends.push_back(list.size());
  const char line_end = sep == '\0' ? '\0' : LineEnd(list, read_ends);
  const bool whole = (flags & 16) != 0 && column == 0;

  shoal::ListOptions options;
  options.separator = (flags & 1) ? shoal::Separator::kNul : shoal::Separator::kNewline;
  options.skip_header = (flags & 2) != 0;
  options.column = column;
  options.csv_records = whole;
  options.delimiter = (flags & 32) ? ';' : ',';
  shoal::ListReader reader(fd, in_pieces, "fuzz list", options);

  std::vector<Expected> got;
  shoal::Item item;
  uint64_t last_index = 0;
  while (reader.Next(&item)) {
    if (item.index <= last_index) {
      Fail("index " + std::to_string(item.index) + " after " + std::to_string(last_index));
    }
    last_index = item.index;
    got.push_back({item.text, !item.error.empty(), item.index});
    if (reader.seen() != got.size()) Fail("seen() is not the number of items");
    if (item.text.size() > shoal::kMaxItemBytes) {
      Fail("item " + std::to_string(item.index) + " has " + std::to_string(item.text.size()) +
           " bytes");
    }
    // A failed item has no text, except a line with a stray CSV quote: it
    // fails alone and keeps its raw text, so that failed.txt can list it.
    const bool stray = item.error.find("unclosed quote") != std::string::npos;
    if (item.error.empty() && item.text.empty()) {
      Fail("item " + std::to_string(item.index) + " has neither text nor an error");
    }
    if (!item.error.empty() && !item.text.empty() && !stray) {
      Fail("item " + std::to_string(item.index) + " has both text and an error");
    }
    if (stray && column == 0 && !whole) Fail("a stray quote without a CSV column");
    if (column == 0 && !whole && item.text.find(line_end) != std::string::npos) {
      Fail("item " + std::to_string(item.index) + " holds the separator");
    }
  }
  if (!reader.done()) Fail("Next() returned false before done()");
  if (!reader.status().ok()) Fail("status: " + reader.status().message());
  if (reader.seen() != got.size()) Fail("seen() is not the number of items");
  if (reader.Next(&item)) Fail("Next() returned an item after the end");

  // Whole CSV records of a list without quotes are its lines; a '\r' before
  // a '\n' is dropped outside quotes the same way.
  if (column == 0 && (!whole || list.find('"') == std::string_view::npos)) {
    const std::vector<Expected> want = SplitPlain(list, line_end, options.skip_header);
    if (got.size() != want.size()) {
      Fail(std::to_string(got.size()) + " items, the split gives " + std::to_string(want.size()));
    }
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].error != want[i].error || got[i].text != want[i].text ||
          got[i].index != want[i].index) {
        Fail("item " + std::to_string(i + 1) + " is not the split's (index " +
             std::to_string(got[i].index) + ", the split's " + std::to_string(want[i].index) + ")");
      }
    }
  }
  return 0;
}
