#include "common/json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

namespace shoal {

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 if it is not one
// (overlongs, surrogates and code points past U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = s.size() - i;
  auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return n >= 2 && cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (n < 3 || !cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (n < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

bool IsValidUtf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string_view Utf8Prefix(std::string_view text, size_t limit) {
  if (text.size() <= limit) return text;
  // A sequence has at most three continuation bytes (10xxxxxx) after its lead.
  for (size_t back = 0; back <= 3 && back <= limit; ++back) {
    size_t start = limit - back;
    auto byte = static_cast<unsigned char>(text[start]);
    if ((byte & 0xC0) == 0x80) continue;
    // text[start] leads a sequence (or is ASCII): cut before it only if it
    // is a valid sequence that the limit would split.
    size_t n = Utf8SequenceLength(text, start);
    return text.substr(0, start < limit && n != 0 && start + n > limit ? start : limit);
  }
  return text.substr(0, limit);
}

void AppendPrintable(std::string* out, std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c >= 0x80 ? Utf8SequenceLength(s, i) : 1;
    if (n > 1 || (c >= 0x20 && c != 0x7F && c < 0x80)) {
      out->append(s.substr(i, n));
    } else if (c == '\n') {
      out->append("\\n");
    } else if (c == '\t') {
      out->append("\\t");
    } else if (c == '\r') {
      out->append("\\r");
    } else {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out->append(buf, 4);
    }
    i += n == 0 ? 1 : n;
  }
}

namespace {

// A string's bytes into a buffer the caller made room in (JsonObject's).
struct RawOut {
  char* p;
  void append(const char* data, size_t n) {
    if (n == 0) return;  // data may be null then (an empty string_view)
    std::memcpy(p, data, n);
    p += n;
  }
  void append(const char* text) { append(text, std::strlen(text)); }
  void push_back(char c) { *p++ = c; }
};

// AppendJsonString, into a std::string or a RawOut with room for 6 bytes
// (\u00XX) per byte of `s` and the quotes.
template <class Out>
bool AppendJsonStringTo(Out* out, std::string_view s) {
  bool valid = true;
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escape
  auto flush = [&](size_t i) { out->append(s.data() + run, i - run); };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7F && c < 0x80) {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      size_t n = Utf8SequenceLength(s, i);
      if (n != 0) {
        i += n;
        continue;
      }
      flush(i);
      out->append("\xEF\xBF\xBD");  // U+FFFD
      valid = false;
      run = ++i;
      continue;
    }
    flush(i);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof buf, "\\u%04x", c);
        out->append(buf);
      }
    }
    run = ++i;
  }
  flush(s.size());
  out->push_back('"');
  return valid;
}

}  // namespace

bool AppendJsonString(std::string* out, std::string_view s) {
  return AppendJsonStringTo(out, s);
}

void AppendBase64(std::string* out, std::string_view s) {
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  for (; i + 3 <= s.size(); i += 3) {
    uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out->push_back(kBase64[(v >> 18) & 63]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(kBase64[(v >> 6) & 63]);
    out->push_back(kBase64[v & 63]);
  }
  size_t rest = s.size() - i;
  if (rest == 0) return;
  uint32_t v = at(i) << 16;
  if (rest == 2) v |= at(i + 1) << 8;
  out->push_back(kBase64[(v >> 18) & 63]);
  out->push_back(kBase64[(v >> 12) & 63]);
  out->push_back(rest == 2 ? kBase64[(v >> 6) & 63] : '=');
  out->push_back('=');
}

bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char ch : text) {
    int v;
    if (ch >= 'A' && ch <= 'Z')
      v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z')
      v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9')
      v = ch - '0' + 52;
    else if (ch == '+')
      v = 62;
    else if (ch == '/')
      v = 63;
    else if (ch == '=') {
      ++pad;
      continue;
    } else
      return false;
    if (pad != 0) return false;  // data after padding
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return pad <= 2 && (text.size() % 4) == 0;
}

JsonObject& JsonObject::Double(std::string_view key, double value, int decimals) {
  constexpr size_t kRoom = 64;
  char* p = Key(key, kRoom);
  if (!std::isfinite(value)) {  // "nan"/"inf" are not JSON: the line would not parse
    Put("null");
    return *this;
  }
  // The common case, a duration in ms, without the general (and, per record,
  // costly) correctly-rounded conversion: scaled to an integer, rounded half
  // up. Below 1e9 the scaled value is exact to far better than the last digit.
  static constexpr uint64_t kPow10[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
  if (decimals >= 0 && decimals <= 6 && value < 1e9 && value >= 0 && !std::signbit(value)) {
    const uint64_t scale = kPow10[decimals];
    const uint64_t scaled = static_cast<uint64_t>(value * static_cast<double>(scale) + 0.5);
    p = std::to_chars(p, p + kRoom, scaled / scale).ptr;
    if (decimals > 0) {
      *p++ = '.';
      uint64_t frac = scaled % scale;
      for (int i = decimals - 1; i >= 0; --i) {
        p[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
      }
      p += decimals;
    }
    n_ = static_cast<size_t>(p - buf_);
    return *this;
  }
  char* const start = p;
  auto [end, ec] = std::to_chars(start, start + kRoom, value, std::chars_format::fixed, decimals);
  if (ec != std::errc()) {  // too long for fixed notation: general is still valid JSON
    end = std::to_chars(start, start + kRoom, value).ptr;
  }
  n_ = static_cast<size_t>(end - buf_);
  return *this;
}

JsonObject& JsonObject::Bytes(std::string_view key, std::string_view value) {
  // Escaped, a byte takes at most 6 (\u00XX): a value that surely fits goes
  // into the buffer, a longer one straight to out_.
  constexpr size_t kInline = (kBuffer - kShortKey - 8) / 6;
  bool valid;
  if (value.size() <= kInline) {
    RawOut raw{Key(key, 6 * value.size() + 2)};
    valid = AppendJsonStringTo(&raw, value);
    n_ = static_cast<size_t>(raw.p - buf_);
  } else {
    Key(key, 0);
    Flush();
    valid = AppendJsonStringTo(out_, value);
  }
  if (!valid) AppendB64Field(key, value);
  return *this;
}

void JsonObject::AppendB64Field(std::string_view key, std::string_view value) {
  Flush();
  out_->append(",\"");
  out_->append(key);
  out_->append("_b64\":\"");
  AppendBase64(out_, value);
  out_->push_back('"');
}

}  // namespace shoal
