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

// Builds one JSON object on one line into `out` (appends).
class JsonObject {
 public:
  explicit JsonObject(std::string* out) : out_(out) { out_->push_back('{'); }
  // Inline on purpose: one record per item is written on the master's hot
  // path, and with the key a literal the compiler folds its length.
  JsonObject& Int(std::string_view key, int64_t value) {
    // The key and the number in one append: no zero-filled resize, one
    // capacity check (a third of the master's formatting time was these).
    char buf[kShortKey + 4 + 24];
    char* p = buf;
    if (key.size() <= kShortKey) {
      p = ShortKey(buf, key);
    } else {
      Key(key);
    }
    p = std::to_chars(p, buf + sizeof buf, value).ptr;
    out_->append(buf, static_cast<size_t>(p - buf));
    return *this;
  }
  // Fixed notation; non-finite values (not JSON) become null.
  JsonObject& Double(std::string_view key, double value, int decimals);
  JsonObject& Bool(std::string_view key, bool value) {
    Key(key);
    out_->append(value ? "true" : "false");
    return *this;
  }
  JsonObject& Null(std::string_view key) {
    Key(key);
    out_->append("null");
    return *this;
  }
  // Adds key_b64 beside key when `value` is not valid UTF-8.
  JsonObject& Bytes(std::string_view key, std::string_view value) {
    Key(key);
    if (!AppendJsonString(out_, value)) AppendB64Field(key, value);
    return *this;
  }
  // `json` must already be one valid JSON value on one line (the http
  // handler checked and minified it): written as is, not as a string.
  JsonObject& Raw(std::string_view key, std::string_view json) {
    Key(key);
    out_->append(json);
    return *this;
  }
  // Ends the object and the line.
  void EndLine() { out_->append("}\n"); }
  // Ends the object, inside another value (an array of objects).
  void End() { out_->push_back('}'); }

 private:
  // Keys are literals of a few bytes; a longer one is appended piecewise.
  static constexpr size_t kShortKey = 32;
  // Writes [,]"key": at `p` (key.size() <= kShortKey) and returns the end.
  char* ShortKey(char* p, std::string_view key) {
    if (!first_) *p++ = ',';
    first_ = false;
    *p++ = '"';
    std::memcpy(p, key.data(), key.size());
    p += key.size();
    *p++ = '"';
    *p++ = ':';
    return p;
  }
  void Key(std::string_view key) {
    if (key.size() <= kShortKey) {
      char buf[kShortKey + 4];
      out_->append(buf, static_cast<size_t>(ShortKey(buf, key) - buf));
      return;
    }
    out_->append(first_ ? "\"" : ",\"");
    first_ = false;
    out_->append(key);
    out_->append("\":");
  }
  void AppendB64Field(std::string_view key, std::string_view value);
  std::string* out_;
  bool first_ = true;
};

}  // namespace shoal
