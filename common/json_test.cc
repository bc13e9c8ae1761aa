#include "common/json.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace shoal {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NULs

std::string Quoted(std::string_view bytes) {
  std::string out;
  AppendJsonString(&out, bytes);
  return out;
}

std::string Base64(std::string_view bytes) {
  std::string out;
  AppendBase64(&out, bytes);
  return out;
}

const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

TEST(JsonTest, EscapesQuoteBackslashAndWhitespace) {
  EXPECT_EQ(Quoted(""), R"("")");
  EXPECT_EQ(Quoted("plain"), R"("plain")");
  EXPECT_EQ(Quoted("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(Quoted("C:\\dir\\"), R"("C:\\dir\\")");
  EXPECT_EQ(Quoted("a\nb\r\nc\td"), R"("a\nb\r\nc\td")");
  EXPECT_EQ(Quoted("\b\f"), R"("\b\f")");
  EXPECT_EQ(Quoted("/"), R"("/")");
}

TEST(JsonTest, EscapesControlCharacters) {
  EXPECT_EQ(Quoted("\x01"), R"("\u0001")");
  EXPECT_EQ(Quoted("\x1f"), R"("\u001f")");
  EXPECT_EQ(Quoted("\x7f"), R"("\u007f")");
  EXPECT_EQ(Quoted("a\0b"s), R"("a\u0000b")");
  // No raw byte below 0x20 is ever written.
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  for (char c : Quoted(all)) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
}

TEST(JsonTest, ValidMultiByteUtf8Unchanged) {
  const std::string text =
      "caf\xc3\xa9 \xe2\x82\xac \xe4\xb8\xad \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf \xef\xbf\xbd";
  ASSERT_TRUE(IsValidUtf8(text));
  EXPECT_EQ(Quoted(text), "\"" + text + "\"");
  // The edges of each range.
  for (std::string ok : {"\xc2\x80"s, "\xdf\xbf"s, "\xe0\xa0\x80"s, "\xed\x9f\xbf"s,
                         "\xee\x80\x80"s, "\xf0\x90\x80\x80"s}) {
    EXPECT_TRUE(IsValidUtf8(ok));
    EXPECT_EQ(Quoted(ok), "\"" + ok + "\"");
  }
}

TEST(JsonTest, InvalidUtf8BecomesReplacementCharacter) {
  struct Case {
    std::string in;
    std::string out;  // between the quotes
  };
  const std::string R = kReplacement;
  const std::vector<Case> cases = {
      {"\xff", R},
      {"a\xff"
       "b",
       "a" + R + "b"},
      {"\xe2\x82", R + R},                  // truncated 3-byte sequence
      {"\xe2\x82x", R + R + "x"},           // interrupted sequence
      {"\xc0\x80", R + R},                  // overlong NUL
      {"\xe0\x80\xaf", R + R + R},          // overlong '/'
      {"\xed\xa0\x80", R + R + R},          // surrogate U+D800
      {"\xf4\x90\x80\x80", R + R + R + R},  // past U+10FFFF
      {"\x80", R},                          // lone continuation byte
      {"\xc3\xa9\xff\xc3\xa9", "\xc3\xa9" + R + "\xc3\xa9"},
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(IsValidUtf8(c.in));
    EXPECT_EQ(Quoted(c.in), "\"" + c.out + "\"");
  }
}

// Tags, reasons and items cut at a byte limit end on a whole character.
TEST(JsonTest, Utf8PrefixNeverEndsInsideACharacter) {
  const std::string euro = "\xe2\x82\xac";            // 3 bytes
  const std::string face = "\xf0\x9f\x98\x80";        // 4 bytes
  const std::string text = "ab" + euro + face + "z";  // 2 + 3 + 4 + 1 bytes
  EXPECT_EQ(Utf8Prefix(text, 100), text);
  EXPECT_EQ(Utf8Prefix(text, text.size()), text);
  EXPECT_EQ(Utf8Prefix(text, 0), "");
  EXPECT_EQ(Utf8Prefix(text, 2), "ab");
  EXPECT_EQ(Utf8Prefix(text, 3), "ab");
  EXPECT_EQ(Utf8Prefix(text, 4), "ab");
  EXPECT_EQ(Utf8Prefix(text, 5), "ab" + euro);
  for (size_t limit = 6; limit < 9; ++limit) EXPECT_EQ(Utf8Prefix(text, limit), "ab" + euro);
  EXPECT_EQ(Utf8Prefix(text, 9), "ab" + euro + face);
  // Every cut of a valid text is valid.
  for (size_t limit = 0; limit <= text.size(); ++limit) {
    EXPECT_TRUE(IsValidUtf8(Utf8Prefix(text, limit))) << limit;
  }
  // Bytes that are not UTF-8 are cut at the limit: nothing to keep whole.
  const std::string binary(10, '\x80');
  EXPECT_EQ(Utf8Prefix(binary, 5).size(), 5u);
  EXPECT_EQ(Utf8Prefix("a\xe2\x82z" + std::string(5, 'x'), 3), "a\xe2\x82");
}

// log.txt's lines: valid UTF-8 kept, everything else visible and on one line.
TEST(JsonTest, PrintableEscapesControlsAndBytesThatAreNotUtf8) {
  auto printable = [](std::string_view in) {
    std::string out;
    AppendPrintable(&out, in);
    return out;
  };
  EXPECT_EQ(printable("d01/caf\xc3\xa9 x.txt"), "d01/caf\xc3\xa9 x.txt");
  EXPECT_EQ(printable("caf\xe9"), "caf\\xe9");  // Latin-1, not UTF-8
  EXPECT_EQ(printable("a\nb\tc\rd\x01\x7f"), "a\\nb\\tc\\rd\\x01\\x7f");
  EXPECT_EQ(printable("\xe2\x82x\xf4\x90\x80\x80"), "\\xe2\\x82x\\xf4\\x90\\x80\\x80");
  EXPECT_EQ(printable(std::string_view("nul\0end", 7)), "nul\\x00end");
  EXPECT_TRUE(IsValidUtf8(printable("\xff\xfe\xc0\x80")));
}

TEST(JsonTest, Base64Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(Base64(plain), encoded);
    std::string decoded = "stale";
    ASSERT_TRUE(DecodeBase64(encoded, &decoded)) << encoded;
    EXPECT_EQ(decoded, plain);
  }
}

TEST(JsonTest, Base64RoundTripsEveryByte) {
  std::string all;
  for (int c = 0; c < 256; ++c) all.push_back(static_cast<char>(c));
  for (size_t n = 0; n <= all.size(); ++n) {
    std::string bytes = all.substr(256 - n);  // includes 0xff, 0xfe, ... at each length
    std::string decoded;
    ASSERT_TRUE(DecodeBase64(Base64(bytes), &decoded)) << n;
    EXPECT_EQ(decoded, bytes) << n;
  }
}

TEST(JsonTest, DecodeBase64RejectsMalformed) {
  std::string out;
  for (const char* bad :
       {"Zg", "Zg=", "Z===", "====", "Zg==Zg==", "Zm9v\n", "Zm-v", "Zm_v", "Zg=a", "=Zm9"}) {
    EXPECT_FALSE(DecodeBase64(bad, &out)) << bad;
  }
}

TEST(JsonTest, JsonObjectBuildsOneLine) {
  std::string line = "prefix:";
  JsonObject(&line)
      .Int("index", -42)
      .Bool("ok", true)
      .Double("ms", 1.25, 3)
      .Bytes("item", "a\"b")
      .EndLine();
  EXPECT_EQ(line, "prefix:{\"index\":-42,\"ok\":true,\"ms\":1.250,\"item\":\"a\\\"b\"}\n");
  std::string empty;
  JsonObject(&empty).EndLine();
  EXPECT_EQ(empty, "{}\n");
}

// Keys up to 32 bytes are written with their value in one append; longer
// ones piecewise. Both give the same bytes, first or not.
TEST(JsonTest, LongKeysAsShortOnes) {
  const std::string k32(32, 'k'), k33(33, 'l');
  std::string line;
  JsonObject(&line).Int(k33, 7).Int(k32, 8).Double(k33, 0.5, 1).Bytes(k33, "x").EndLine();
  EXPECT_EQ(line,
            "{\"" + k33 + "\":7,\"" + k32 + "\":8,\"" + k33 + "\":0.5,\"" + k33 + "\":\"x\"}\n");
  std::string max;
  JsonObject(&max).Int("n", INT64_MIN).Int(k32, INT64_MAX).EndLine();
  EXPECT_EQ(max, "{\"n\":-9223372036854775808,\"" + k32 + "\":9223372036854775807}\n");
}

TEST(JsonTest, BytesAddsBase64OnlyForInvalidUtf8) {
  std::string valid;
  JsonObject(&valid).Bytes("item", "caf\xc3\xa9").EndLine();
  EXPECT_EQ(valid, "{\"item\":\"caf\xc3\xa9\"}\n");

  const std::vector<std::string> invalid = {"\xff"s, "a\xe2\x82"s, "\xc0\x80"s, "\xed\xa0\x80"s,
                                            "nul\0and\xfe"s};
  for (const std::string& bytes : invalid) {
    std::string line;
    JsonObject(&line).Bytes("item", bytes).EndLine();
    const std::string marker = "\"item_b64\":\"";
    size_t at = line.find(marker);
    ASSERT_NE(at, std::string::npos) << line;
    size_t begin = at + marker.size();
    size_t end = line.find('"', begin);
    ASSERT_NE(end, std::string::npos);
    std::string decoded;
    ASSERT_TRUE(DecodeBase64(std::string_view(line).substr(begin, end - begin), &decoded));
    EXPECT_EQ(decoded, bytes);
    EXPECT_EQ(line.substr(0, 9), "{\"item\":\"");
    EXPECT_NE(line.find(kReplacement), std::string::npos);
  }
}

// The object is put together in a buffer of its own: values on both sides
// of what it holds inline (escaped, a byte can take six), values that fill
// it many times over, and a record longer than it, give the bytes of the
// pieces written one by one.
TEST(JsonTest, RecordsAcrossTheObjectsBufferAreWhole) {
  for (size_t n : {0, 1, 150, 163, 164, 165, 170, 1000, 1024, 5000}) {
    for (char fill : {'a', '\x01', '"', '\xff'}) {
      const std::string value(n, fill);
      std::string line = "before|";
      JsonObject o(&line);
      o.Int("index", 7).Bytes("item", value);
      for (int i = 0; i < 40; ++i) o.Double("ms", 0.125 * i, 3);
      o.Raw("output", "[1,2]").Bytes("stderr", value).EndLine();
      std::string expected = "before|{\"index\":7,\"item\":";
      const bool valid = AppendJsonString(&expected, value);
      if (!valid) expected += ",\"item_b64\":\"" + Base64(value) + "\"";
      for (int i = 0; i < 40; ++i) {
        char ms[32];
        std::snprintf(ms, sizeof ms, ",\"ms\":%.3f", 0.125 * i);
        expected += ms;
      }
      expected += ",\"output\":[1,2],\"stderr\":";
      AppendJsonString(&expected, value);
      if (!valid) expected += ",\"stderr_b64\":\"" + Base64(value) + "\"";
      expected += "}\n";
      EXPECT_EQ(line, expected) << n << " bytes of " << static_cast<int>(fill);
    }
  }
  // An empty value, also one whose data() is null (UBSan: no memcpy of it).
  std::string empty;
  JsonObject(&empty).Bytes("item", std::string_view()).Bytes("output", "").EndLine();
  EXPECT_EQ(empty, "{\"item\":\"\",\"output\":\"\"}\n");
  // Appended when it ends, or at the latest when it goes out of scope.
  std::string scoped;
  { JsonObject(&scoped).Int("n", 1); }
  EXPECT_EQ(scoped, "{\"n\":1");
}

// Checks each line (ending in '\n') with python3's json module, all in one
// process: returns one letter a line, 'y' parsed, 'n' refused. The check is
// strict: the bytes must be UTF-8, raw control characters in strings and
// NaN/Infinity (not JSON) are refused.
std::string PythonJsonVerdicts(const std::vector<std::string>& lines) {
  char path[] = "/tmp/shoal_json_test_XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return "mkstemp failed";
  std::string all;
  for (const std::string& line : lines) all += line;
  bool written = ::write(fd, all.data(), all.size()) == static_cast<ssize_t>(all.size());
  ::close(fd);
  std::string verdicts;
  if (written) {
    const std::string command = std::string("python3 -c '\n") +
                                "import json, sys\n"
                                "def refuse(c): raise ValueError(c)\n"
                                "out = []\n"
                                "for raw in sys.stdin.buffer.read().split(b\"\\n\")[:-1]:\n"
                                "  try:\n"
                                "    json.loads(raw.decode(\"utf-8\"), parse_constant=refuse)\n"
                                "    out.append(\"y\")\n"
                                "  except ValueError:\n"
                                "    out.append(\"n\")\n"
                                "print(\"\".join(out))\n"
                                "' < " +
                                path;
    FILE* p = ::popen(command.c_str(), "r");
    if (p != nullptr) {
      char buf[256];
      while (std::fgets(buf, sizeof buf, p) != nullptr) verdicts += buf;
      int status = ::pclose(p);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) verdicts += " python failed";
    }
  }
  ::unlink(path);
  if (!verdicts.empty() && verdicts.back() == '\n') verdicts.pop_back();
  return verdicts;
}

TEST(JsonTest, PythonParsesTrickyRecords) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  const std::vector<std::string> values = {
      "",
      "quote\" backslash\\ slash/ \n\r\t\b\f",
      "\x01\x1f\x7f nul\0"s,
      all_bytes,
      "\xed\xa0\x80\xed\xb0\x80 surrogate pair in CESU-8",
      "\xf0\x9f\x98\x80 \xe2\x80\xa8 \xe2\x80\xa9",  // emoji, U+2028, U+2029
      "trailing backslash\\",
      "\xc3",  // truncated at the very end
  };
  std::vector<std::string> lines;
  for (size_t i = 0; i < values.size(); ++i) {
    std::string& line = lines.emplace_back();
    JsonObject(&line)
        .Int("index", static_cast<int64_t>(i))
        .Int("min", std::numeric_limits<int64_t>::min())
        .Bool("ok", i % 2 == 0)
        .Double("ms", -0.0, 3)
        .Bytes("item", values[i])
        .Bytes("output", values[values.size() - 1 - i])
        .EndLine();
    EXPECT_EQ(line.find('\n'), line.size() - 1) << "not one line: " << line;
  }
  // The checker itself must refuse what is not JSON: a raw control
  // character, NaN, bytes that are not UTF-8.
  lines.push_back("{\"a\":\"raw\x01\"}\n");
  lines.push_back("{\"a\":NaN}\n");
  lines.push_back("{\"a\":\"\xff\"}\n");
  const std::string expected = std::string(values.size(), 'y') + "nnn";
  EXPECT_EQ(PythonJsonVerdicts(lines), expected);
}

// Double() must keep the line valid JSON whatever the value: NaN and the
// infinities have no JSON number, so they are written as null.
TEST(JsonTest, DoubleNonFiniteStillValidJson) {
  std::vector<std::string> lines;
  for (double v : {std::nan(""), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    std::string& line = lines.emplace_back();
    JsonObject(&line).Double("ms", v, 3).EndLine();
    EXPECT_EQ(line, "{\"ms\":null}\n");
  }
  EXPECT_EQ(PythonJsonVerdicts(lines), "yyy");
}

// Durations take a fast path; it must print what the general conversion
// prints, except exactly at a rounding tie, where it rounds half up.
TEST(JsonTest, DoubleFastPathMatchesToChars) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  std::vector<double> values = {0.0,  0.0004,   0.0005001,  0.9994,      0.9996, 1.0,
                                12.5, 999.9999, 123456.789, 999999999.0, 1e-300};
  for (int i = 0; i < 20000; ++i) values.push_back(std::pow(10.0, unit(rng) * 12 - 3));
  for (int decimals : {0, 1, 3, 6}) {
    for (double v : values) {
      if (v >= 1e9) continue;
      double scaled = v * std::pow(10.0, decimals);
      if (std::abs(scaled - std::floor(scaled) - 0.5) < 1e-6) continue;  // a tie
      char want[64];
      char* end =
          std::to_chars(want, want + sizeof want, v, std::chars_format::fixed, decimals).ptr;
      std::string line;
      JsonObject(&line).Double("ms", v, decimals);
      EXPECT_EQ(line, "{\"ms\":" + std::string(want, end)) << v << " " << decimals;
    }
  }
}

}  // namespace
}  // namespace shoal
