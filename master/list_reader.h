// ListReader: items streamed from a list file or standard input, one record
// at a time, with memory bounded by the read buffer and one item whatever the
// size of the file.
//
// A record ends at the separator (a line end, or NUL). Line ends are LF, CRLF
// or CR, decided once per input from its first read block (up to 1 MiB): one
// with a '\r' but no '\n' at all has CR line ends (old Mac files, some
// spreadsheet exports); otherwise they are LF, one '\r' before the '\n'
// being dropped, so CRLF and LF lines may mix and a '\r' elsewhere is data.
// The scan for the separator stays one memchr either way.
//
// Blank records are no items; a line of spaces is an item. With column = C > 0
// a record is an RFC 4180 CSV record (`delimiter` between fields) and the
// item is its C-th field: quoted fields may hold delimiters, doubled quotes
// ("") and line ends, so a record can span lines. With csv_records the record
// is read the same way but the item is the whole record as written, quotes
// and all (its line end aside): job/fields.h splits it into {1} {2} ... in
// the workers. skip_header drops the first non-blank record; header keeps it
// too, for Header() (the names of the fields).
//
// Item::index is the record's number in the file: the line it starts on (or
// its record number with NUL separators), blank lines, the header and items
// dropped by include/exclude counted, so `sed -n "${index}p"` shows the
// item's (first) line and messages name the same line. Indices increase
// but are not dense: a blank line takes its number and is no item. seen()
// counts the items produced.
//
// An item over kMaxItemBytes, a missing CSV column or an empty CSV field
// fails that one item: Next() returns an Item with an empty text and `error`
// set, skips the rest of the record without keeping it, and reading goes on.
// A quote that is not closed before the end of the input or within
// kMaxItemBytes past its line, or whose closing quote on a later line is
// followed by text, is a stray one: its line alone fails, the Item's text
// being that raw line, and reading starts again on the next line. Bytes pass
// through unchanged: no encoding is assumed.
//
// A regular file that shrinks while it is read (below its size at open, or
// below what was read) reaches its end early with no error from read(): that
// input is Incomplete(), with a warning, and the run ends with exit 1.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/fd.h"
#include "common/status.h"
#include "config/settings.h"
#include "master/glob.h"
#include "master/item_source.h"

namespace shoal {

// The longest item a list may hold; longer records fail (one by one). It is
// Linux's limit for one argv string (MAX_ARG_STRLEN): a longer item could not
// reach a command anyway, and every item fits a worker's task ring.
inline constexpr size_t kMaxItemBytes = size_t{128} << 10;

struct ListOptions {
  Separator separator = Separator::kNewline;
  bool skip_header = false;
  int column = 0;            // 1-based CSV column; 0 = the whole record
  char delimiter = ',';      // between CSV fields
  bool csv_records = false;  // CSV records, each item the whole record (fields)
  bool header = false;       // the first non-blank record is Header(), no item
  // An item must match `include` (if not empty) and must not match `exclude`,
  // itself or any of its parent directories (a tree walk would have pruned
  // them). Items are matched as files, a leading "/" or "./" left out.
  // Dropped items take no index.
  GlobSet include;
  GlobSet exclude;
};

class ListReader : public ItemSource {
 public:
  // Opens `path` ("-" = standard input, which is read but not closed).
  // Errors name the file: "cannot open list file 'x': No such file or directory".
  static Result<std::unique_ptr<ListReader>> Open(const std::string& path, ListOptions options);

  // Reads `fd`, closing it at the end when `owns_fd`. `name` is how messages
  // call the input ("'/data/ids.csv'", "standard input").
  ListReader(int fd, bool owns_fd, std::string name, ListOptions options);
  ListReader(const ListReader&) = delete;
  ListReader& operator=(const ListReader&) = delete;

  bool Next(Item* item) override;
  Status status() const override { return status_; }
  uint64_t seen() const override { return seen_; }
  bool done() const override { return done_; }
  bool WouldBlock() override;
  int WaitFd() const override { return regular_ ? -1 : fd_; }
  std::vector<std::string> TakeWarnings() override { return std::exchange(warnings_, {}); }
  std::string Incomplete() const override { return incomplete_; }
  const std::string* Header() override;

 private:
  // What one record turned out to be; the item's bytes are in the Item.
  enum class Record { kEnd, kBlank, kItem, kTooLong, kMissingColumn, kEmptyField, kUnclosed };

  bool Fill();
  bool FillMore();
  bool ReadAfterEnd();
  void DetectLineEnd();
  Record ReadRecord(std::string* out);
  bool ReadHeader();
  void CheckNotTruncated();
  Record ReadPlain(std::string* out);
  Record ReadCsv(std::string* out);
  // Why a quote counts as a stray one: not closed before the end of the
  // input, nor within kMaxItemBytes past its line, or text after the quote
  // that closes it.
  enum class Stray { kAtEnd, kTooFar, kTextAfter };
  Record Unclosed(size_t first_end, bool first_long, Stray why, std::string* out);
  std::string StrayQuote() const;
  bool Keep(const std::string& text) const;
  const char* Unit() const { return sep_ == '\0' ? "record" : "line"; }

  int fd_;
  bool regular_ = true;     // a regular file never makes read() wait
  off_t size_at_open_ = 0;  // a regular file's size when the reader was made
  UniqueFd owned_fd_;       // fd_ when the reader owns it; standard input is not closed
  std::string name_;
  ListOptions options_;
  char sep_;  // '\n' until DetectLineEnd finds a CR-only input
  bool line_end_known_ = false;
  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;  // next unread byte of buf_
  size_t end_ = 0;  // end of the bytes read into buf_
  bool eof_ = false;
  uint64_t line_ = 0;            // separators consumed so far
  uint64_t record_line_ = 0;     // 1-based line where the last record started
  int record_columns_ = 0;       // CSV: fields in the last record
  std::string raw_;              // CSV: the record's bytes, kept once a quote spans lines
  std::string replay_;           // CSV: bytes to read again before buf_ (after an unclosed quote)
  size_t replay_pos_ = 0;        // next unread byte of replay_
  Stray stray_ = Stray::kAtEnd;  // CSV: why the last record's quote counts as unclosed
  uint64_t stray_line_ = 0;      // CSV: where the quote that closes it is (kTextAfter)
  bool header_pending_;
  bool has_header_ = false;
  std::string header_;  // the header record, as read
  uint64_t seen_ = 0;
  bool done_ = false;
  Status status_;
  std::string incomplete_;  // why the input ended early; "" = it did not
  std::vector<std::string> warnings_;
};

}  // namespace shoal
