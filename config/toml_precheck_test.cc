#include "config/toml_precheck.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <string>

#include "config/load.h"

namespace shoal {
namespace {

// "LINE:COL: what", or "" when the text passes.
std::string Check(std::string_view text) {
  std::optional<TomlTextProblem> p = PrecheckToml(text);
  if (!p) return "";
  return std::to_string(p->line) + ":" + std::to_string(p->column) + ": " + p->what;
}

const std::string kOutside = "non-ASCII character outside a string or comment";

TEST(TomlPrecheckTest, NonAsciiOutsideStringsAndComments) {
  EXPECT_EQ(Check("\xc3\xa9 = 1\n"), "1:1: " + kOutside);  // é = 1
  EXPECT_EQ(Check("\xcc\xaa"), "1:1: " + kOutside);        // tomlplusplus issue #295
  EXPECT_EQ(Check("[job]\nname = \"x\" \xc3\xa9\n"), "2:12: " + kOutside);
  EXPECT_EQ(Check("a = 1\xc2\xa0\n"), "1:6: " + kOutside);  // a no-break space
  EXPECT_EQ(Check("a = \"\xc3\xa9\" \xc3\xa9"), "1:9: " + kOutside);
  EXPECT_EQ(Check("[caf\xc3\xa9]\n"), "1:5: " + kOutside);
  EXPECT_EQ(Check("a = '''x''' \xff\n"), "1:13: " + kOutside);
  EXPECT_EQ(Check("a = \"\"\"x\"\"\"\"\" \xe2\x80\x80\n"), "1:15: " + kOutside);  // 5 quotes
  EXPECT_EQ(Check("a = \"x\\\"\" \xc3\xa9\n"), "1:11: " + kOutside);  // an escaped quote
}

TEST(TomlPrecheckTest, QuoteGluedToAValueStartsNoString) {
  EXPECT_EQ(Check("a = 1\"\xc3\xa9\"\n"), "1:7: " + kOutside);
  EXPECT_EQ(Check("a = 1.5'''\xcc\xaa'''\n"), "1:11: " + kOutside);
  EXPECT_EQ(Check("a = 1.\"\xc3\xa9\"\n"), "1:8: " + kOutside);
  EXPECT_EQ(Check("a = 1979-05-27T07:32:00Z\"\xc3\xa9\"\n"), "1:26: " + kOutside);
  EXPECT_EQ(Check("a = +\"\xc3\xa9\"\n"), "1:7: " + kOutside);
  EXPECT_EQ(Check("a.\"\xc3\xa9\".b = 1\n[x.'\xc3\xa9']\nc = [\"\xc3\xa9\",'\xc3\xa9']\n"), "");
}

TEST(TomlPrecheckTest, TableHeadersAndBrackets) {
  EXPECT_EQ(Check("[=]\n"), "1:2: table header without a name");
  EXPECT_EQ(Check("a = 1\n  [[ .x]]\n"), "2:6: table header without a name");
  EXPECT_EQ(Check("["), "1:2: table header without a name");
  EXPECT_EQ(Check("a = [1, }]\n"), "1:9: '}' inside an array");
  EXPECT_EQ(Check("a = { b = [ }\n"), "1:13: '}' inside an array");
  EXPECT_EQ(Check("[a]\n[[b]]\n[ \"c\" ]\n['d'.e]\n"
                  "x = [\n  [ ],\n  [{ y = [] }],\n]\nz = { w = [1] }\n"),
            "");
}

TEST(TomlPrecheckTest, ControlCharactersOutsideStrings) {
  EXPECT_EQ(Check("[a\x01]\n"), "1:3: control character U+0001 outside a string");
  EXPECT_EQ(Check("a = 1\x7f\n"), "1:6: control character U+007F outside a string");
  EXPECT_EQ(Check("a = 1 # x\x0b\n"), "1:10: control character U+000B in a comment");
  EXPECT_EQ(Check(std::string("a\0= 1", 5)), "1:2: control character U+0000 outside a string");
  EXPECT_EQ(Check("a = 1\t\r\n\tb = 2\r\n"), "");
}

TEST(TomlPrecheckTest, BackslashesInMultiLineBasicStrings) {
  EXPECT_EQ(Check("s = \"\"\"\\\xc3\xa9\"\"\"\n"),
            "1:9: non-ASCII character after a backslash in a \"\"\" string");
  const std::string after =
      "non-ASCII character first after a line-ending backslash in a \"\"\" string";
  EXPECT_EQ(Check("s = \"\"\"\\\n\xc2\xa7\"\"\"\n"), "2:1: " + after);  // tomlplusplus issue #190
  EXPECT_EQ(Check("s = \"\"\"a\\  \r\n\n   \xc3\xa9\"\"\"\n"), "3:4: " + after);
  EXPECT_EQ(Check("s = \"\"\"\\\n  x\xc3\xa9\\\\\xc3\xa9\\\"\xc3\xa9\"\"\"\n"), "");
  EXPECT_EQ(Check("s = \"\\\xc3\xa9\"\n"), "");  // single-line: TOML++ refuses the escape
}

TEST(TomlPrecheckTest, TextInStringsAndCommentsIsLeftAlone) {
  EXPECT_EQ(Check(""), "");
  EXPECT_EQ(Check("\xef\xbb\xbf[job]\n"), "");  // a byte order mark
  EXPECT_EQ(Check("# caf\xc3\xa9 \xe2\x80\x80\n"
                  "\"k\xc3\xa9y\" = \"caf\xc3\xa9\" # na\xc3\xafve\n"
                  "b = 'C:\\caf\xc3\xa9'\n"
                  "c = \"\"\"\n\xc3\xa9\"\n'\xc3\xa9\n\"\"\"\n"
                  "d = '''\n\xc3\xa9'\n\"\"\"\xc3\xa9\n'''\n"
                  "e = \"\x01\"\n"),  // TOML++ refuses this one itself
            "");
}

// Valid TOML of every shape passes, and TOML++ reads it.
TEST(TomlPrecheckTest, ValidTomlPasses) {
  const std::string text =
      "\xef\xbb\xbf# caf\xc3\xa9\r\n"
      "title = \"na\xc3\xafve \\\"q\\\" \\\\\" # \xe2\x80\x94 dash\n"
      "path = 'C:\\caf\xc3\xa9\\'\n"
      "a.\"cl\xc3\xa9\".b-c = 1\n"
      "1.\"x\" = 2\n"
      "\"\xc3\xa9\" = { x = [1, 2.5e-3, 0x1F, +inf, nan], y = { z = \"\xc3\xa9\" } }\n"
      "when = 1979-05-27 07:32:00.999-07:00\n"
      "day = 1979-05-27\n"
      "big = 1_000_000\n"
      "ml = \"\"\"\n\xc3\xa9 \"\" \\\"\"\" ''' \\\n   x\xc3\xa9 \"\"\"\"\"\n"
      "lit = '''\n\xc3\xa9 '' \"\"\" \\ '''''\n"
      "arr = [\n  \"\xc3\xa9\", # \xc3\xa9\n  [ ],\n  [{ k = 'v' }],\n  true,\n]\n"
      "[t\xc3\xa9st] # not a valid key, but a comment after a header is fine\n";
  const std::string valid = text.substr(0, text.rfind("[t"));
  EXPECT_EQ(Check(valid + "[\"t\xc3\xa9st\".'k'] # \xc3\xa9\n[[ list ]]\n[ x . y ]\n"), "");
  EXPECT_NO_THROW((void)toml::parse(valid + "[\"t\xc3\xa9st\".'k']\n[[ list ]]\n[ x . y ]\n"));
}

// What passes the check does not crash TOML++: every pair of bytes from a
// set of troublesome ones, in the contexts TOML++ reads them in. Under
// UBSan, and with TOML++'s assertions in a debug build, a miss dies here.
TEST(TomlPrecheckTest, WhatPassesParsesOrFailsCleanly) {
  // clang-format off
  const std::vector<std::string> pieces = {
      "\xc3\xa9", "\xcc\xaa", "\xc2\xa0", "\xe3\x80\x80", "\xef\xbb\xbf", "\xff", "\x01", "\x7f",
      "\\", "\"", "'", "\"\"\"", "'''", "#", "\n", "\r", "\t", " ", "[", "]", "{", "}", ",", ".",
      "=", "a", "1"};
  const std::vector<std::pair<std::string, std::string>> contexts = {
      {"", ""}, {"a = ", ""}, {"[", "]"}, {"[a.", "]"}, {"a = [", "]"}, {"a = [1,", "]"},
      {"a = {b=", "}"}, {"a = {b=[", "}"}, {"a = 1", ""}, {"a = 1.5", ""},
      {"a = 1979-05-27", ""}, {"a = \"\"\"", "\"\"\""}, {"a = \"\"\"\\", "\"\"\""},
      {"a = \"\"\"\\\n", "\"\"\""}, {"# ", "\na = 1"}, {"a = '''", "'''"}, {"a = \"", "\""},
      {"[\"", "\"]"}, {"a.", " = 1"}};
  // clang-format on
  int parsed = 0;
  for (const auto& [before, after] : contexts) {
    for (const std::string& x : pieces) {
      for (const std::string& y : pieces) {
        const std::string text = before + x + y + after;
        if (PrecheckToml(text)) continue;
        try {
          (void)toml::parse(text);
          ++parsed;
        } catch (const toml::parse_error&) {
        }
      }
    }
  }
  EXPECT_GT(parsed, 0);
}

TEST(TomlPrecheckTest, SettingsFileProblemHasItsPosition) {
  Result<Settings> r = ParseSettings("[job]\n\xc3\xa9 = 1\n", "s.toml", "/base", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUsage);
  EXPECT_EQ(r.status().message(), "s.toml:2:1: " + kOutside +
                                      "; quote it (\"...\") or remove it: TOML allows it only in "
                                      "strings and comments");
  r = ParseSettings("[a\x01]\n", "s.toml", "/base", {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "s.toml:1:3: control character U+0001 outside a string; remove it (in a string, "
            "write it as \\u0001)");
  r = ParseSettings("[job]\nname = \"caf\xc3\xa9\" # na\xc3\xafve\n", "s.toml", "/base", {});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->job.name, "caf\xc3\xa9");
}

TEST(TomlPrecheckTest, OverrideThatIsNotSafeTomlIsItsText) {
  // "v = é" would reach TOML++'s unreachable code: it is not TOML, so it is text.
  Result<Settings> r =
      ParseSettings("", "s.toml", "/base", {{"input.path", "/d/\xc3\xa9", false, ""}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->input.path, "/d/\xc3\xa9");
  r = ParseSettings("", "s.toml", "/base", {{"plugin.config.k", "\xc3\xa9", false, ""}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  r = ParseSettings("", "s.toml", "/base",
                    {{"command.env.X", "\"\"\"\\\n\xc2\xa7\"\"\"", false, ""}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->command.env.at("X"), "\"\"\"\\\n\xc2\xa7\"\"\"");
  r = ParseSettings("", "s.toml", "/base", {{"job.name", "a\x01", false, "--set job.name=a\x01"}});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().message().starts_with("--set job.name=a\x01: job.name"))
      << r.status().message();
}

}  // namespace
}  // namespace shoal
