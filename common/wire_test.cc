#include "common/wire.h"

#include <gtest/gtest.h>

#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace shoal {
namespace {

using namespace std::string_literals;  // "..."s keeps embedded NULs
using namespace std::string_view_literals;

const std::vector<std::string>& Strings() {
  static const std::vector<std::string> strings = {
      "",
      "plain/path/to/item.txt",
      "nul\0inside\0"s,
      "\0"s,
      "\xff\xfe invalid \xc0\x80 utf-8 \xed\xa0\x80"s,
      std::string(70000, 'x'),  // longer than 16 bits of length
  };
  return strings;
}

TEST(WireTest, TaskRoundTrip) {
  for (const std::string& item : Strings()) {
    TaskRecord in;
    in.seq = 0x0102030405060708ULL;
    in.index = std::numeric_limits<uint64_t>::max();
    in.attempt = 3;
    in.item = item;
    std::string payload = "stale bytes the encoder must clear";
    EncodeTask(in, &payload);
    TaskRecord out;
    ASSERT_TRUE(DecodeTask(payload, &out));
    EXPECT_EQ(out.seq, in.seq);
    EXPECT_EQ(out.index, in.index);
    EXPECT_EQ(out.attempt, 3u);
    EXPECT_EQ(out.item, item);
    EXPECT_EQ(out.item.size(), item.size());
  }
}

TEST(WireTest, OutcomeRoundTrip) {
  const std::vector<std::string>& s = Strings();
  for (size_t i = 0; i < s.size(); ++i) {
    OutcomeRecord in;
    in.seq = 77 + i;
    in.ok = i % 2 == 0;
    in.exit_code = -12345;
    in.signal = 9;
    in.ms = 1234.5625;
    in.start_ns = 987654321012ULL;
    in.reason = s[i];
    in.output = s[(i + 1) % s.size()];
    in.output_file = s[(i + 2) % s.size()];
    in.stderr_tail = s[(i + 3) % s.size()];
    std::string payload;
    EncodeOutcome(in, &payload);
    OutcomeRecord out;
    ASSERT_TRUE(DecodeOutcome(payload, &out)) << i;
    EXPECT_EQ(out.seq, in.seq);
    EXPECT_EQ(out.ok, in.ok);
    EXPECT_EQ(out.exit_code, -12345);
    EXPECT_EQ(out.signal, 9);
    EXPECT_EQ(out.ms, 1234.5625);
    EXPECT_EQ(out.start_ns, 987654321012ULL);
    EXPECT_EQ(out.reason, in.reason);
    EXPECT_EQ(out.output, in.output);
    EXPECT_EQ(out.output_file, in.output_file);
    EXPECT_EQ(out.stderr_tail, in.stderr_tail);
  }
}

TEST(WireTest, OutcomeDefaultsRoundTrip) {
  OutcomeRecord in;  // all strings empty
  std::string payload;
  EncodeOutcome(in, &payload);
  OutcomeRecord out;
  out.ok = true;
  out.reason = "stale";
  ASSERT_TRUE(DecodeOutcome(payload, &out));
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.exit_code, -1);
  EXPECT_EQ(out.reason, "");
  EXPECT_EQ(out.stderr_tail, "");
}

TEST(WireTest, OutcomeServiceFieldsRoundTrip) {
  OutcomeRecord in;
  in.seq = 9;
  in.http_status = 429;
  in.bytes = 1ULL << 40;
  in.retry_after_ms = 3000;
  in.final = true;
  in.output_json = true;
  in.reason = "http 429";
  std::string payload;
  EncodeOutcome(in, &payload);
  OutcomeRecord out;
  ASSERT_TRUE(DecodeOutcome(payload, &out));
  EXPECT_EQ(out.http_status, 429);
  EXPECT_EQ(out.bytes, 1ULL << 40);
  EXPECT_EQ(out.retry_after_ms, 3000u);
  EXPECT_TRUE(out.final);
  EXPECT_TRUE(out.output_json);
  EXPECT_EQ(out.reason, "http 429");
  // Decoding another record into the same struct clears them.
  EncodeOutcome(OutcomeRecord{}, &payload);
  ASSERT_TRUE(DecodeOutcome(payload, &out));
  EXPECT_EQ(out.http_status, 0);
  EXPECT_EQ(out.bytes, 0u);
  EXPECT_FALSE(out.final);
  EXPECT_FALSE(out.output_json);
}

// Exit code and signal in every combination the handlers produce, with and
// without strings: what is left out of the payload must decode the same.
TEST(WireTest, OutcomeExitAndSignalRoundTrip) {
  for (bool ok : {true, false}) {
    for (auto [exit_code, signal] : std::vector<std::pair<int32_t, int32_t>>{
             {-1, 0}, {0, 0}, {1, 0}, {255, 0}, {-1, 9}, {0, 15}, {-12345, 0}}) {
      for (std::string_view reason : {""sv, "exit 1"sv}) {
        OutcomeRecord in;
        in.seq = 5;
        in.ok = ok;
        in.exit_code = exit_code;
        in.signal = signal;
        in.ms = 0.25;
        in.reason = reason;
        std::string payload;
        EncodeOutcome(in, &payload);
        OutcomeRecord out;
        out.exit_code = 77;  // stale values must not survive
        out.signal = 77;
        out.output = "stale";
        ASSERT_TRUE(DecodeOutcome(payload, &out));
        EXPECT_EQ(out.ok, ok);
        EXPECT_EQ(out.exit_code, exit_code);
        EXPECT_EQ(out.signal, signal);
        EXPECT_EQ(out.ms, 0.25);
        EXPECT_EQ(out.reason, reason);
        EXPECT_EQ(out.output, "");
      }
    }
  }
  OutcomeRecord plain;  // the common success: no exit bytes, no strings
  plain.ok = true;
  plain.exit_code = 0;
  std::string payload;
  EncodeOutcome(plain, &payload);
  EXPECT_EQ(payload.size(), 25u);
}

TEST(WireTest, LogRoundTrip) {
  for (const std::string& text : Strings()) {
    LogRecord in;
    in.seq = 9;
    in.index = 17;
    in.text = text;
    std::string payload;
    EncodeLog(in, &payload);
    LogRecord out;
    ASSERT_TRUE(DecodeLog(payload, &out));
    EXPECT_EQ(out.seq, 9u);
    EXPECT_EQ(out.index, 17u);
    EXPECT_EQ(out.text, text);
  }
}

TEST(WireTest, OutputRoundTrip) {
  for (const std::string& bytes : Strings()) {
    OutputRecord in;
    in.seq = 4;
    in.index = 12;
    in.stream = 2;
    in.item = "a b";
    in.bytes = bytes;
    std::string payload;
    EncodeOutput(in, &payload);
    OutputRecord out;
    ASSERT_TRUE(DecodeOutput(payload, &out));
    EXPECT_EQ(out.seq, 4u);
    EXPECT_EQ(out.index, 12u);
    EXPECT_EQ(out.stream, 2);
    EXPECT_EQ(out.item, "a b");
    EXPECT_EQ(out.bytes, bytes);
  }
  OutputRecord bad;
  bad.stream = 3;  // neither stdout nor stderr
  std::string payload;
  EncodeOutput(bad, &payload);
  OutputRecord out;
  EXPECT_FALSE(DecodeOutput(payload, &out));
}

// The stderr file is on the wire only when there is one, and decoding
// another record into the same struct clears it.
TEST(WireTest, OutcomeStderrFileRoundTrip) {
  OutcomeRecord in;
  in.stderr_tail = "tail\n";
  in.stderr_file = "spill/7.stderr";
  std::string with, without;
  EncodeOutcome(in, &with);
  in.stderr_file = {};
  EncodeOutcome(in, &without);
  EXPECT_GT(with.size(), without.size());
  OutcomeRecord out;
  ASSERT_TRUE(DecodeOutcome(with, &out));
  EXPECT_EQ(out.stderr_file, "spill/7.stderr");
  EXPECT_EQ(out.stderr_tail, "tail\n");
  ASSERT_TRUE(DecodeOutcome(without, &out));
  EXPECT_EQ(out.stderr_file, "");
}

// A command line's tag is on the wire only when the worker made one; an
// empty tag is still a tag (a tagstring that expands to nothing).
TEST(WireTest, LineTagRoundTrip) {
  OutcomeRecord in;
  in.ok = true;
  std::string plain, tagged, empty;
  EncodeOutcome(in, &plain);
  in.line_tagged = true;
  in.line_tag = "a b";
  EncodeOutcome(in, &tagged);
  in.line_tag = {};
  EncodeOutcome(in, &empty);
  OutcomeRecord out;
  ASSERT_TRUE(DecodeOutcome(tagged, &out));
  EXPECT_TRUE(out.line_tagged);
  EXPECT_EQ(out.line_tag, "a b");
  ASSERT_TRUE(DecodeOutcome(empty, &out));
  EXPECT_TRUE(out.line_tagged);
  EXPECT_EQ(out.line_tag, "");
  ASSERT_TRUE(DecodeOutcome(plain, &out));
  EXPECT_FALSE(out.line_tagged);
  EXPECT_EQ(plain.size() + 4, empty.size());

  OutputRecord piece;
  piece.stream = kStdoutStream;
  piece.item = "a";
  piece.bytes = "x\n";
  piece.line_tagged = true;
  piece.line_tag = "a b";
  std::string payload;
  EncodeOutput(piece, &payload);
  OutputRecord got;
  ASSERT_TRUE(DecodeOutput(payload, &got));
  EXPECT_TRUE(got.line_tagged);
  EXPECT_EQ(got.line_tag, "a b");
  piece.line_tagged = false;
  EncodeOutput(piece, &payload);
  ASSERT_TRUE(DecodeOutput(payload, &got));
  EXPECT_FALSE(got.line_tagged);
  EXPECT_EQ(got.line_tag, "");
}

// Valid payloads of each type, with short strings so that every cut is tried.
std::vector<std::string> TaskPayloads() {
  std::vector<std::string> out;
  for (std::string item : {""s, "a\0b"s, "\xff\xfe"s}) {
    TaskRecord t;
    t.seq = 1;
    t.index = 2;
    t.item = item;
    EncodeTask(t, &out.emplace_back());
  }
  return out;
}

std::vector<std::string> OutcomePayloads() {
  std::vector<std::string> out;
  OutcomeRecord empty;
  EncodeOutcome(empty, &out.emplace_back());
  OutcomeRecord full;
  full.ok = true;
  full.reason = "r";
  const std::string output = "out\0put"s;  // outlives the view in `full`
  full.output = output;
  full.output_file = "/tmp/f";
  full.stderr_tail = "\xc3\x28";
  EncodeOutcome(full, &out.emplace_back());
  OutcomeRecord exited;  // exit code and signal written out
  exited.exit_code = 3;
  EncodeOutcome(exited, &out.emplace_back());
  OutcomeRecord signalled;
  signalled.signal = 9;
  EncodeOutcome(signalled, &out.emplace_back());
  OutcomeRecord spilled;  // with a stderr file
  spilled.stderr_file = "spill/1.stderr";
  EncodeOutcome(spilled, &out.emplace_back());
  OutcomeRecord line;  // with a command line's tag
  line.line_tagged = true;
  line.line_tag = "a b";
  EncodeOutcome(line, &out.emplace_back());
  return out;
}

std::vector<std::string> OutputPayloads() {
  std::vector<std::string> out;
  for (std::string bytes : {""s, "line\n"s}) {
    OutputRecord o;
    o.seq = 3;
    o.item = "i";
    o.bytes = bytes;
    EncodeOutput(o, &out.emplace_back());
    o.line_tagged = true;
    o.line_tag = "i j";
    EncodeOutput(o, &out.emplace_back());
  }
  return out;
}

std::vector<std::string> LogPayloads() {
  std::vector<std::string> out;
  for (std::string text : {""s, "line\n"s, "\0\0"s}) {
    LogRecord l;
    l.seq = 9;
    l.text = text;
    EncodeLog(l, &out.emplace_back());
  }
  return out;
}

TEST(WireTest, EveryTruncationRejected) {
  for (const std::string& p : TaskPayloads()) {
    TaskRecord t;
    ASSERT_TRUE(DecodeTask(p, &t));
    for (size_t n = 0; n < p.size(); ++n) EXPECT_FALSE(DecodeTask(p.substr(0, n), &t)) << n;
  }
  for (const std::string& p : OutcomePayloads()) {
    OutcomeRecord o;
    ASSERT_TRUE(DecodeOutcome(p, &o));
    for (size_t n = 0; n < p.size(); ++n) EXPECT_FALSE(DecodeOutcome(p.substr(0, n), &o)) << n;
  }
  for (const std::string& p : OutputPayloads()) {
    OutputRecord o;
    ASSERT_TRUE(DecodeOutput(p, &o));
    for (size_t n = 0; n < p.size(); ++n) EXPECT_FALSE(DecodeOutput(p.substr(0, n), &o)) << n;
  }
  for (const std::string& p : LogPayloads()) {
    LogRecord l;
    ASSERT_TRUE(DecodeLog(p, &l));
    for (size_t n = 0; n < p.size(); ++n) EXPECT_FALSE(DecodeLog(p.substr(0, n), &l)) << n;
  }
}

TEST(WireTest, TrailingBytesRejected) {
  for (const std::string& tail : {"\0"s, "x"s, "12345678"s}) {
    for (const std::string& p : TaskPayloads()) {
      TaskRecord t;
      EXPECT_FALSE(DecodeTask(p + tail, &t));
    }
    for (const std::string& p : OutcomePayloads()) {
      OutcomeRecord o;
      EXPECT_FALSE(DecodeOutcome(p + tail, &o));
    }
    for (const std::string& p : LogPayloads()) {
      LogRecord l;
      EXPECT_FALSE(DecodeLog(p + tail, &l));
    }
  }
}

TEST(WireTest, LengthFieldLargerThanPayloadRejected) {
  LogRecord l;
  l.seq = 1;
  l.text = "abc";
  std::string p;
  EncodeLog(l, &p);
  for (uint32_t bad : {uint32_t{4}, uint32_t{1000}, std::numeric_limits<uint32_t>::max()}) {
    std::string q = p;
    std::memcpy(q.data() + 16, &bad, sizeof bad);  // the text's length, after seq and index
    LogRecord out;
    EXPECT_FALSE(DecodeLog(q, &out)) << bad;
  }
}

TEST(WireTest, OutcomeFlagsMustBeKnown) {
  OutcomeRecord in;
  in.ok = true;
  std::string p;
  EncodeOutcome(in, &p);
  p[8] = static_cast<char>(0x81);  // the flags byte, after seq
  OutcomeRecord out;
  EXPECT_FALSE(DecodeOutcome(p, &out));
  // "exit code follows" and "exited 0" contradict each other.
  in.exit_code = 2;
  EncodeOutcome(in, &p);
  ASSERT_TRUE(DecodeOutcome(p, &out));
  p[8] = static_cast<char>(p[8] | 8);
  EXPECT_FALSE(DecodeOutcome(p, &out));
}

TEST(WireTest, EmptyPayloadRejected) {
  TaskRecord t;
  OutcomeRecord o;
  LogRecord l;
  EXPECT_FALSE(DecodeTask("", &t));
  EXPECT_FALSE(DecodeOutcome("", &o));
  EXPECT_FALSE(DecodeLog("", &l));
}

}  // namespace
}  // namespace shoal
