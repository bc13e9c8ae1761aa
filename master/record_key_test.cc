#include "master/record_key.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/json.h"

namespace shoal {
namespace {

using namespace std::string_literals;

std::string Record(uint64_t index, std::string_view item) {
  std::string line;
  JsonObject(&line)
      .Int("index", static_cast<int64_t>(index))
      .Bytes("item", item)
      .Bytes("status", "ok")
      .Int("attempts", 1)
      .Double("ms", 2.5, 3)
      .Bytes("output", "h")
      .EndLine();
  return line;
}

// Every item shoal can write comes back byte for byte: escapes undone, and
// bytes that are not UTF-8 from item_b64.
TEST(RecordKeyTest, ReadsBackWhatTheRecordWriterWrote) {
  std::string all_bytes;
  for (int c = 0; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  const std::vector<std::string> items = {"",
                                          "plain",
                                          "q\"b\\s/ \n\r\t\b\f",
                                          "\x01\x7f nul\0end"s,
                                          "caf\xc3\xa9 \xf0\x9f\x98\x80",
                                          "bad \xff\xfe utf-8",
                                          all_bytes};
  RecordKeyReader reader;
  uint64_t index = 1;
  for (const std::string& item : items) {
    const std::string line = Record(index, item);
    RecordKey key;
    ASSERT_TRUE(reader.Read(line, &key)) << line;
    EXPECT_EQ(key.index, index);
    EXPECT_EQ(key.item, item) << line;
    index = index * 1000 + 7;
  }
}

TEST(RecordKeyTest, UnescapesWhatOtherWritersEscape) {
  RecordKeyReader reader;
  RecordKey key;
  ASSERT_TRUE(
      reader.Read(R"( { "item" : "\u00e9\u00C9\/\ud83d\ude00" , "x":null,"index":9 } )", &key));
  EXPECT_EQ(key.index, 9u);
  EXPECT_EQ(key.item, "\xc3\xa9\xc3\x89/\xf0\x9f\x98\x80");
}

TEST(RecordKeyTest, RefusesLinesThatAreNotARecord) {
  RecordKeyReader reader;
  RecordKey key;
  const std::string good = "{\"index\":3,\"item\":\"x\"";
  for (const std::string& bad :
       {""s, "\n"s, "[]"s, "{}"s, good, good + ",}", good + "}x", good + "}{}", good + "},",
        good + ",\"a\":}", good + ",\"a\"}", good + ",\"a\":\"\\x\"}", good + ",\"a\":\"\\u12\"}",
        good + ",\"a\":\"\\ud83d\"}", good + ",\"a\":\"raw\x01\"}", good + ",a:1}",
        // Two records run together (a lost newline) are not one.
        good + "}" + good + "}",
        // No usable index or item.
        "{\"item\":\"x\"}"s, "{\"index\":3}"s, "{\"index\":0,\"item\":\"x\"}"s,
        "{\"index\":-3,\"item\":\"x\"}"s, "{\"index\":3.5,\"item\":\"x\"}"s,
        "{\"index\":\"3\",\"item\":\"x\"}"s, "{\"index\":3,\"item\":7}"s,
        "{\"index\":3,\"item\":\"x\",\"item_b64\":\"not base64!\"}"s}) {
    EXPECT_FALSE(reader.Read(bad, &key)) << bad;
  }
  // The reader is not left in a bad state by what it refused.
  ASSERT_TRUE(reader.Read(good + "}", &key));
  EXPECT_EQ(key.index, 3u);
  EXPECT_EQ(key.item, "x");
}

// A record cut anywhere (a crash mid-write, if ForEachLine ever passed one
// on) is refused, so resume cannot mistake it for a record.
TEST(RecordKeyTest, RefusesEveryTornRecord) {
  const std::string line = Record(12345, "a \"b\" \\ \xff");
  RecordKeyReader reader;
  RecordKey key;
  ASSERT_TRUE(reader.Read(line, &key));
  const size_t close = line.rfind('}');
  for (size_t n = 0; n < close + 1; ++n) {
    EXPECT_FALSE(reader.Read(std::string_view(line).substr(0, n), &key)) << line.substr(0, n);
  }
}

}  // namespace
}  // namespace shoal
