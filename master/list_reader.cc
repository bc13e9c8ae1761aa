#include "master/list_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <utility>

namespace shoal {

namespace {

// Big reads: a list of a billion short lines costs a thousand syscalls per GB.
constexpr size_t kReadBytes = size_t{1} << 20;

}  // namespace

Result<std::unique_ptr<ListReader>> ListReader::Open(const std::string& path, ListOptions options) {
  if (path == "-") {
    return std::make_unique<ListReader>(STDIN_FILENO, false, "standard input", std::move(options));
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::FromErrno("cannot open list file '" + path + "'", errno, StatusCode::kUsage);
  }
  return std::make_unique<ListReader>(fd, true, "'" + path + "'", std::move(options));
}

ListReader::ListReader(int fd, bool owns_fd, std::string name, ListOptions options)
    : fd_(fd),
      owned_fd_(owns_fd ? fd : -1),
      name_(std::move(name)),
      options_(std::move(options)),
      sep_(options_.separator == Separator::kNul ? '\0' : '\n'),
      buf_(new char[kReadBytes]),
      header_pending_(options_.skip_header || options_.header) {
  struct stat st;
  regular_ = ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode);
  if (regular_) size_at_open_ = st.st_size;
}

bool ListReader::WouldBlock() {
  if (regular_ || eof_ || done_ || pos_ != end_ || replay_pos_ < replay_.size()) return false;
  pollfd p{fd_, POLLIN, 0};
  return ::poll(&p, 1, 0) == 0;
}

// Refills buf_ from the start (nothing in it is needed any more: records are
// copied out as they are scanned). False at the end of the input or on error.
bool ListReader::Fill() {
  if (eof_ || !status_.ok()) return false;
  pos_ = 0;
  end_ = 0;
  return ReadAfterEnd();
}

// Reads more after the bytes in buf_, which stay; for DetectLineEnd, which
// may need to see past the first read. False when nothing more came.
bool ListReader::FillMore() {
  if (eof_ || !status_.ok() || end_ == kReadBytes) return false;
  return ReadAfterEnd();
}

// One read(2) into buf_ past end_; the end of the input and errors are noted.
bool ListReader::ReadAfterEnd() {
  for (;;) {
    ssize_t n = ::read(fd_, buf_.get() + end_, kReadBytes - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return true;
    }
    if (n == 0) {
      eof_ = true;
      CheckNotTruncated();
      return false;
    }
    if (errno == EINTR) continue;
    status_ = Status::FromErrno("cannot read " + name_, errno);
    return false;
  }
}

// Decided once, from the first block read, so that the per-record scan stays
// one memchr for one byte: a block with no '\n' at all but a '\r' is from
// a CR-only file (old Mac, some spreadsheet exports); any '\n' leaves LF,
// where a '\r' before the '\n' is dropped per record and one elsewhere is
// data. A pipe's first read may be short: it reads on until it sees a '\n'
// or a '\r' with a byte after it (a CRLF may be split between two reads).
void ListReader::DetectLineEnd() {
  line_end_known_ = true;
  if (sep_ != '\n') return;
  if (pos_ == end_ && !Fill()) return;
  for (;;) {
    const char* start = buf_.get() + pos_;
    const size_t avail = end_ - pos_;
    if (memchr(start, '\n', avail) != nullptr) return;
    const char* cr = static_cast<const char*>(memchr(start, '\r', avail));
    if (cr != nullptr && cr + 1 < start + avail) {
      sep_ = '\r';
      return;
    }
    if (!FillMore()) {
      if (cr != nullptr && status_.ok()) sep_ = '\r';
      return;
    }
  }
}

// At the end of a regular file: did it shrink under us? Then its end came
// early, and what was cut off was never seen. Growing is fine (a list still
// being appended to is read as far as it goes).
void ListReader::CheckNotTruncated() {
  if (!regular_) return;
  struct stat st;
  const off_t read_to = ::lseek(fd_, 0, SEEK_CUR);
  if (read_to < 0 || ::fstat(fd_, &st) != 0) return;
  if (st.st_size >= size_at_open_ && st.st_size >= read_to) return;
  incomplete_ = name_ + " was truncated while it was read (" + std::to_string(size_at_open_) +
                " bytes when opened, " + std::to_string(st.st_size) + " at the end, " +
                std::to_string(read_to) +
                " read): items it lost did not run; give shoal a list that does not change "
                "during the run (a copy of it)";
  warnings_.push_back(incomplete_);
}

ListReader::Record ListReader::ReadPlain(std::string* out) {
  out->clear();
  record_line_ = line_ + 1;
  bool any = false;
  bool too_long = false;
  for (;;) {
    if (pos_ == end_ && !Fill()) break;
    const char* start = buf_.get() + pos_;
    const size_t avail = end_ - pos_;
    const char* hit = static_cast<const char*>(memchr(start, sep_, avail));
    const size_t n = hit ? static_cast<size_t>(hit - start) : avail;
    any = true;
    if (!too_long) {
      // One byte of slack for the '\r' a CRLF line drops.
      if (out->size() + n > kMaxItemBytes + 1) {
        too_long = true;
        out->clear();
      } else {
        out->append(start, n);
      }
    }
    pos_ += n;
    if (hit) {
      ++pos_;
      ++line_;
      break;
    }
  }
  if (!status_.ok() || !any) return Record::kEnd;
  if (too_long) return Record::kTooLong;
  if (sep_ == '\n' && !out->empty() && out->back() == '\r') out->pop_back();
  if (out->size() > kMaxItemBytes) {
    out->clear();
    return Record::kTooLong;
  }
  return out->empty() ? Record::kBlank : Record::kItem;
}

// RFC 4180, leniently: a quote inside an unquoted field is data, and so is
// text after a closing quote ("ab"c reads as abc), as Python's csv does.
//
// A quoted field may hold separators, but a stray quote would make the rest
// of the file one field. So once a quoted field runs past the record's first
// line, the record's bytes are kept (raw_), and the quote counts as a stray
// one that fails its first line alone (Unclosed) when it is not closed before
// the end of the input, when the record runs on for more than kMaxItemBytes
// past that line, or when text follows the closing quote (another stray
// quote closed it). A record that fits on its line keeps no bytes.
ListReader::Record ListReader::ReadCsv(std::string* out) {
  enum class State { kFieldStart, kUnquoted, kQuoted, kQuoteSeen };
  out->clear();
  raw_.clear();
  record_line_ = line_ + 1;
  State state = State::kFieldStart;
  const int want = options_.column;
  const bool whole = options_.csv_records;  // the item is the record as written
  const char delimiter = options_.delimiter;
  int field = 1;
  uint64_t bytes = 0;       // record bytes seen, separator and dropped '\r' aside
  bool pending_cr = false;  // a '\r' outside quotes: dropped if a '\n' follows
  bool too_long = false;
  size_t first_end = std::string::npos;  // raw_ offset past the first line, once known
  bool first_long = false;               // the first line is too long to keep in raw_
  uint64_t quoted_seps = 0;              // separators inside quotes
  bool field_spans = false;              // the current field holds a separator
  auto append = [&](char c) {
    if (out->size() == kMaxItemBytes) {
      too_long = true;
      out->clear();
      return;
    }
    out->push_back(c);
  };
  // A byte of the wanted field's data, or (whole) any byte of the record.
  auto put = [&](char c) {
    if (field == want && !too_long) append(c);
  };
  auto raw = [&](char c) {
    if (whole && !too_long) append(c);
  };
  // raw_ gets the first line (if not over-long: it is the failed item's text)
  // and what follows it, up to a read block past the limit.
  auto keep = [&](const char* from, const char* to) {
    const size_t n = static_cast<size_t>(to - from);
    if (first_end == std::string::npos && !first_long &&
        raw_.size() + n > kMaxItemBytes + 2) {  // room for "\r\n"
      first_long = true;
      raw_.clear();
    }
    if (first_end != std::string::npos || !first_long) raw_.append(from, n);
  };
  // Past the first line, in raw_ and in the chunk up to `to`.
  auto too_far = [&](const char* kept, const char* to) {
    return first_end != std::string::npos &&
           raw_.size() - first_end + static_cast<size_t>(to - kept) > kMaxItemBytes;
  };
  auto finish = [&]() {
    record_columns_ = field;
    if (too_long) return Record::kTooLong;
    if (bytes == 0) return Record::kBlank;
    if (whole) return Record::kItem;
    if (field < want) return Record::kMissingColumn;
    if (out->empty()) return Record::kEmptyField;
    return Record::kItem;
  };
  for (;;) {
    // Bytes an unclosed quote gave back come first, then buf_.
    const bool again = replay_pos_ < replay_.size();
    if (!again && pos_ == end_ && !Fill()) {
      if (!status_.ok() || (bytes == 0 && !pending_cr)) return Record::kEnd;
      if (state == State::kQuoted) return Unclosed(first_end, first_long, Stray::kAtEnd, out);
      if (too_far(nullptr, nullptr)) return Unclosed(first_end, first_long, Stray::kTooFar, out);
      return finish();  // the last record had no separator; a lone '\r' is dropped
    }
    const char* const base = again ? replay_.data() : buf_.get();
    size_t& at = again ? replay_pos_ : pos_;
    const char* p = base + at;
    const char* const e = base + (again ? replay_.size() : end_);
    const char* kept = p;  // raw_ holds this chunk's bytes before `kept`
    // Takes the positions by value: a reference would keep `p` out of a register.
    auto stray = [&](Stray why, const char* from, const char* to) {
      keep(from, to);
      at = static_cast<size_t>(to - base);
      return Unclosed(first_end, first_long, why, out);
    };
    bool ended = false;
    while (p < e) {
      const char c = *p++;
      // "line N" is the file's own line, so line ends inside quotes count
      // too; with NUL separators "record N" counts records.
      if (c == sep_ && sep_ != '\0') ++line_;
      if (pending_cr) {
        pending_cr = false;
        if (c == sep_) {
          ended = true;
          break;
        }
        ++bytes;
        put('\r');
        raw('\r');
        state = State::kUnquoted;
      }
      if (c == sep_) {
        if (state != State::kQuoted) {
          if (sep_ == '\0') ++line_;
          ended = true;
          break;
        }
        ++quoted_seps;
        field_spans = true;
        if (first_end == std::string::npos) {
          keep(kept, p);
          kept = p;
          first_end = raw_.size();
        } else if (too_far(kept, p)) {
          return stray(Stray::kTooFar, kept, p);
        }
      }
      // Every byte from here on is the record's but a '\r' that may end it.
      if (whole && (c != '\r' || sep_ != '\n' || state == State::kQuoted)) raw(c);
      switch (state) {
        case State::kFieldStart:
        case State::kUnquoted:
        case State::kQuoteSeen:
          if (c == delimiter) {
            ++bytes;
            ++field;
            field_spans = false;
            state = State::kFieldStart;
          } else if (c == '\r' && sep_ == '\n') {
            pending_cr = true;
          } else if (c == '"' && state == State::kFieldStart) {
            ++bytes;
            state = State::kQuoted;
          } else if (c == '"' && state == State::kQuoteSeen) {
            ++bytes;
            put('"');
            state = State::kQuoted;
          } else {
            // After the quote closing a field that holds a separator, only a
            // delimiter, a quote or the end of the record may come.
            if (state == State::kQuoteSeen && field_spans) {
              stray_line_ = record_line_ + quoted_seps;
              return stray(Stray::kTextAfter, kept, p);
            }
            ++bytes;
            put(c);
            state = State::kUnquoted;
          }
          break;
        case State::kQuoted:
          ++bytes;
          if (c == '"') {
            state = State::kQuoteSeen;
          } else {
            put(c);
          }
          break;
      }
    }
    // A record may not run on for long past its first line, however it ends.
    if (too_far(kept, p)) return stray(Stray::kTooFar, kept, p);
    at = static_cast<size_t>(p - base);
    if (ended) return finish();
    keep(kept, p);
  }
}

// The record in raw_ opened a quote that nothing closes: its first line
// becomes the failed item, raw as it is (failed.txt can list it), and the
// bytes after that line are read again, before the rest of the input.
ListReader::Record ListReader::Unclosed(size_t first_end, bool first_long, Stray why,
                                        std::string* out) {
  if (first_end != std::string::npos) {
    std::string rest = raw_.substr(first_end);
    rest.append(replay_, replay_pos_);
    replay_ = std::move(rest);
    replay_pos_ = 0;
    raw_.resize(first_end - (first_long ? 0 : 1));  // the separator
    line_ = record_line_;
  }
  if (first_long) raw_.clear();
  if (sep_ == '\n' && !raw_.empty() && raw_.back() == '\r') raw_.pop_back();
  out->swap(raw_);
  stray_ = why;
  return Record::kUnclosed;
}

std::string ListReader::StrayQuote() const {
  switch (stray_) {
    case Stray::kAtEnd:
      return "no closing \" before the end of " + name_;
    case Stray::kTooFar:
      return "no closing \" within " + std::to_string(kMaxItemBytes) + " bytes";
    case Stray::kTextAfter:
      return "the \" on " + std::string(Unit()) + " " + std::to_string(stray_line_) +
             " that would close it is followed by text, not " +
             (options_.delimiter == ','
                  ? std::string("a comma")
                  : "the delimiter '" + std::string(1, options_.delimiter) + "'");
  }
  return "";
}

bool ListReader::Keep(const std::string& item) const {
  // Globs are written for paths relative to the input; a list may hold
  // "./x" or "/abs/x", which match as "x" and "abs/x".
  std::string_view text = item;
  while (text.starts_with("/") || text.starts_with("./"))
    text.remove_prefix(text[0] == '/' ? 1 : 2);
  if (!options_.include.empty() && !options_.include.Matches(text, false)) return false;
  if (options_.exclude.empty()) return true;
  if (options_.exclude.Matches(text, false)) return false;
  // A tree walk never reaches what lies under an excluded directory.
  for (size_t slash = text.find('/'); slash != std::string_view::npos;
       slash = text.find('/', slash + 1)) {
    if (options_.exclude.Matches(text.substr(0, slash), true)) return false;
  }
  return true;
}

ListReader::Record ListReader::ReadRecord(std::string* out) {
  if (!line_end_known_) DetectLineEnd();
  return options_.column > 0 || options_.csv_records ? ReadCsv(out) : ReadPlain(out);
}

// The first non-blank record, whatever it holds; false at the end of the input.
bool ListReader::ReadHeader() {
  header_pending_ = false;
  for (;;) {
    Record r = ReadRecord(&header_);
    if (r == Record::kEnd) return false;
    if (r == Record::kBlank) continue;
    has_header_ = true;
    return true;
  }
}

const std::string* ListReader::Header() {
  if (header_pending_ && !done_) ReadHeader();
  return has_header_ ? &header_ : nullptr;
}

bool ListReader::Next(Item* item) {
  if (done_) return false;
  if (header_pending_ && !ReadHeader()) {
    done_ = true;
    return false;
  }
  for (;;) {
    Record r = ReadRecord(&item->text);
    if (r == Record::kEnd) {
      done_ = true;
      return false;
    }
    if (r == Record::kBlank) continue;
    item->error.clear();
    auto where = [&] { return std::string(Unit()) + " " + std::to_string(record_line_); };
    switch (r) {
      case Record::kItem:
        if (!Keep(item->text)) continue;
        break;
      case Record::kTooLong:
        item->error = "item longer than " + std::to_string(kMaxItemBytes) + " bytes (" + where() +
                      "); split the line or use a tree input";
        break;
      case Record::kMissingColumn:
        item->error = where() + " has " + std::to_string(record_columns_) + " columns, column " +
                      std::to_string(options_.column) + " requested";
        break;
      case Record::kEmptyField:
        item->error = where() + ": column " + std::to_string(options_.column) + " is empty";
        break;
      case Record::kUnclosed:
        item->error = where() + ": unclosed quote (" + StrayQuote() +
                      "); this line alone fails: quote a field whole and double the quotes "
                      "inside it";
        break;
      case Record::kEnd:
      case Record::kBlank:
        break;
    }
    // A stray quote's line keeps its raw text for failed.txt, unless it is
    // longer than any item may be (then errors.jsonl alone says where it is).
    if (!item->error.empty() && (r != Record::kUnclosed || item->text.size() > kMaxItemBytes)) {
      item->text.clear();
    }
    // The record's own number (see the header): `sed -n Np` shows it.
    item->index = record_line_;
    ++seen_;
    return true;
  }
}

}  // namespace shoal
