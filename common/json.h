// Writing JSON Lines records. Items and outputs are byte strings, not text:
// a string that is not valid UTF-8 is written with U+FFFD in place of the bad
// bytes, and the object also gets "<key>_b64" with the exact bytes, so every
// record is valid JSON and nothing is lost.
//
// Written by hand, though records are read back with simdjson: the master
// formats one record per item on its one thread, and JsonObject does that
// about 5 times as fast as building an nlohmann::json and dump()ing it (3.1M
// against 0.57M records/s, bench/json_write_perftest.cc), without allocating
// per record, with a fixed number of decimals (dump() writes 0.059 as
// 0.059000000000000004) and with item_b64 rather than an exception for bytes
// that are not UTF-8.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace shoal {

bool IsValidUtf8(std::string_view bytes);
// `text` cut to at most `limit` bytes, never inside a UTF-8 sequence: a cut
// that would split one ends before it. Bytes that are not UTF-8 are cut at
// `limit` itself.
std::string_view Utf8Prefix(std::string_view text, size_t limit);
// Appends "..." escaped per RFC 8259; invalid UTF-8 becomes U+FFFD.
// Returns false when something was replaced (the bytes were not UTF-8).
bool AppendJsonString(std::string* out, std::string_view bytes);
// Appends `bytes` for a line of text (log.txt, the terminal): valid UTF-8
// as it is; newline, tab and carriage return as \n \t \r; other control
// characters and every byte that is not part of valid UTF-8 as \xNN. The
// result is one line of valid UTF-8 whatever an item's name holds; the exact
// bytes are in the records (item_b64).
void AppendPrintable(std::string* out, std::string_view bytes);
void AppendBase64(std::string* out, std::string_view bytes);
// Decodes standard base64; false on bad input.
bool DecodeBase64(std::string_view text, std::string* out);

// Builds one JSON object on one line into `out` (appends). The object is
// put together in a buffer of its own and appended to `out` when it ends
// (End, EndLine, or at the latest when it goes out of scope): one append
// per record instead of one per key and value, whose calls were a quarter
// of the master's time per item (bench/README.md). So `out` must not be
// written to, nor read for the object, while the object is open.
class JsonObject {
 public:
  explicit JsonObject(std::string* out) : out_(out) { buf_[n_++] = '{'; }
  JsonObject(const JsonObject&) = delete;
  JsonObject& operator=(const JsonObject&) = delete;
  ~JsonObject() { Flush(); }
  // Inline on purpose: one record per item is written on the master's hot
  // path, and with the key a literal the compiler folds its length.
  JsonObject& Int(std::string_view key, int64_t value) {
    char* p = Key(key, kMaxNumber);
    p = std::to_chars(p, p + kMaxNumber, value).ptr;
    n_ = static_cast<size_t>(p - buf_);
    return *this;
  }
  // Fixed notation; non-finite values (not JSON) become null.
  JsonObject& Double(std::string_view key, double value, int decimals);
  JsonObject& Bool(std::string_view key, bool value) {
    Key(key, 5);
    Put(value ? std::string_view("true") : std::string_view("false"));
    return *this;
  }
  JsonObject& Null(std::string_view key) {
    Key(key, 4);
    Put("null");
    return *this;
  }
  // Adds key_b64 beside key when `value` is not valid UTF-8.
  JsonObject& Bytes(std::string_view key, std::string_view value);
  // `json` must already be one valid JSON value on one line (the http
  // handler checked and minified it): written as is, not as a string.
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key, 0);
    Put(json);
    return *this;
  }
  // Ends the object and the line.
  void EndLine() {
    Put("}\n");
    Flush();
  }
  // Ends the object, inside another value (an array of objects).
  void End() {
    Put("}");
    Flush();
  }

 private:
  static constexpr size_t kBuffer = 1024;
  static constexpr size_t kMaxNumber = 24;  // an int64 in decimal, with its sign
  // Keys are literals of a few bytes; a longer one is written piecewise.
  static constexpr size_t kShortKey = 32;
  // Room for n more bytes in buf_ (n <= kBuffer), appending what it holds
  // to out_ first if need be.
  char* Room(size_t n) {
    if (n_ + n > kBuffer) Flush();
    return buf_ + n_;
  }
  void Flush() {
    out_->append(buf_, n_);
    n_ = 0;
  }
  void Put(std::string_view bytes) {
    if (bytes.empty()) return;  // its data() may be null, which memcpy must not get
    if (bytes.size() > kBuffer) {
      Flush();
      out_->append(bytes);
      return;
    }
    char* p = Room(bytes.size());
    std::memcpy(p, bytes.data(), bytes.size());
    n_ += bytes.size();
  }
  // Writes [,]"key": and returns where the value goes, with room for
  // `value_room` bytes of it. Always inline: with the key a literal, its
  // copy is a few moves, not a call of memcpy (out of line, Key was 4 % of
  // the master's time per no-op item).
  [[gnu::always_inline]] char* Key(std::string_view key, size_t value_room) {
    if (key.size() > kShortKey) {
      Put(first_ ? "\"" : ",\"");
      first_ = false;
      Put(key);
      Put("\":");
      return Room(value_room);
    }
    char* p = Room(kShortKey + 4 + value_room);
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    std::memcpy(p, key.data(), key.size());
    p += key.size();
    *p++ = '"';
    *p++ = ':';
    n_ = static_cast<size_t>(p - buf_);
    return p;
  }
  void AppendB64Field(std::string_view key, std::string_view value);
  std::string* out_;
  bool first_ = true;
  size_t n_ = 0;
  char buf_[kBuffer];
};

}  // namespace shoal
