#include "config/keys.h"

#include <gtest/gtest.h>

#include "config/load.h"
#include "config/toml_text.h"

namespace shoal {
namespace {

std::string Dotted(const KeySpec& spec) {
  return std::string(spec.section) + "." + std::string(spec.key);
}

// Settings in which any one key may be changed alone: input.require is only
// accepted with select = "dirs".
const std::string kBaseSection = "input";
const std::string kBaseLine = "select = \"dirs\"\n";

// The base settings with `key = value` written into them.
std::string Document(const KeySpec& spec, const std::string& value) {
  const std::string line = std::string(spec.key) + " = " + value + "\n";
  if (spec.section != kBaseSection) {
    return "[" + kBaseSection + "]\n" + kBaseLine + "[" + std::string(spec.section) + "]\n" + line;
  }
  return "[" + kBaseSection + "]\n" + (kBaseLine.starts_with(spec.key) ? "" : kBaseLine) + line;
}

Settings Base() {
  Result<Settings> r =
      ParseSettings("[" + kBaseSection + "]\n" + kBaseLine, "base.toml", "/base", {});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? *r : Settings{};
}

// A TOML value for `spec` that differs from its value in `base`, chosen by
// kind so that a new key is covered without touching this test.
std::string OtherValue(const KeySpec& spec, const Settings& base) {
  const std::string current = TomlValue(spec, base);
  switch (spec.kind) {
    case Kind::kEnum:
      for (std::string_view name : Choices(spec)) {
        if (TomlString(name) != current) return TomlString(name);
      }
      return current;
    case Kind::kBoolean:
      return current == "true" ? "false" : "true";
    case Kind::kInteger:
      return current == "3" ? "4" : "3";
    case Kind::kDuration:
      return current == "\"1h2m3.5s\"" ? "\"7ms\"" : "\"1h2m3.5s\"";
    case Kind::kCountOrPercent:
      return "\"12.5%\"";
    case Kind::kWorkers:
      return current == "\"50%\"" ? "\"-1\"" : "\"50%\"";
    case Kind::kString:
    case Kind::kPath: {
      // The example, unless it is the default ("data"): then a longer one.
      std::string example(spec.example);
      Result<Settings> r = ParseSettings(Document(spec, example), "s.toml", "/base", {});
      if (r.ok() && *r == base) example.insert(example.size() - 1, "2");
      return example;
    }
    case Kind::kStringArray:
    case Kind::kStringTable:
    case Kind::kScalarTable:
      return std::string(spec.example);  // the defaults are empty
  }
  return current;
}

// Every key, one at a time, set to a value other than its default: the
// reader must take it (else the Settings would not change) and the writer
// must write it (else reading the written text would lose it).
TEST(SettingsKeysTest, EveryKeyRoundTripsThroughTheWriter) {
  const Settings base = Base();
  for (const KeySpec& spec : Keys()) {
    SCOPED_TRACE(Dotted(spec));
    const std::string text = Document(spec, OtherValue(spec, base));
    Result<Settings> read = ParseSettings(text, "s.toml", "/base", {});
    ASSERT_TRUE(read.ok()) << read.status().message() << "\n" << text;
    EXPECT_FALSE(*read == base) << Dotted(spec) << " is not read into Settings:\n" << text;

    const std::string written = SettingsToToml(*read);
    Result<Settings> back = ParseSettings(written, "effective.toml", "/elsewhere", {});
    ASSERT_TRUE(back.ok()) << back.status().message() << "\n" << written;
    EXPECT_TRUE(*back == *read) << Dotted(spec) << " is not written, or not read back:\n"
                                << written;

    const std::string annotated = SettingsToAnnotatedToml(*read);
    Result<Settings> again = ParseSettings(annotated, "check.toml", "/elsewhere", {});
    ASSERT_TRUE(again.ok()) << again.status().message() << "\n" << annotated;
    EXPECT_TRUE(*again == *read) << annotated;
  }
}

// --set reaches every key as the file does.
TEST(SettingsKeysTest, EveryKeyCanBeSetFromTheCommandLine) {
  const Settings base = Base();
  for (const KeySpec& spec : Keys()) {
    SCOPED_TRACE(Dotted(spec));
    const std::string value = OtherValue(spec, base);
    Result<Settings> set = ParseSettings("[" + kBaseSection + "]\n" + kBaseLine, "s.toml", "/base",
                                         {{Dotted(spec), value, false, ""}});
    ASSERT_TRUE(set.ok()) << set.status().message();
    EXPECT_FALSE(*set == base) << "--set " << Dotted(spec) << "=" << value << " changed nothing";
    if (spec.kind == Kind::kPath) continue;  // relative to the current directory, not the file's
    Result<Settings> file = ParseSettings(Document(spec, value), "s.toml", "/base", {});
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_TRUE(*set == *file);
  }
}

TEST(SettingsKeysTest, EveryKeyIsInTheTemplateAndTheReference) {
  const std::string init = InitTemplate();
  const std::string check = SettingsToAnnotatedToml(Settings{});
  const std::string text = SettingsReference(false);
  const std::string markdown = SettingsReference(true);
  for (const KeySpec& spec : Keys()) {
    SCOPED_TRACE(Dotted(spec));
    std::string line = "\n";
    line.append(spec.key).append(" = ");
    EXPECT_NE(init.find(line), std::string::npos);
    EXPECT_NE(check.find(line), std::string::npos);
    EXPECT_NE(text.find(std::string("  ").append(Dotted(spec)).append(" = ")), std::string::npos);
    EXPECT_NE(text.find(std::string(spec.doc)), std::string::npos);
    EXPECT_NE(markdown.find(std::string("`").append(Dotted(spec)).append("`")), std::string::npos);
    for (std::string_view name : Choices(spec)) {
      EXPECT_NE(text.find(std::string("\"").append(name).append("\"")), std::string::npos) << name;
    }
  }
}

TEST(SettingsKeysTest, TemplateLinesStayNarrow) {
  const std::string init = InitTemplate();
  size_t pos = 0;
  while (pos < init.size()) {
    const size_t end = init.find('\n', pos);
    const std::string line = init.substr(pos, end - pos);
    EXPECT_LE(line.size(), 100u) << line;
    pos = end + 1;
  }
  EXPECT_NE(init.find("handler = \"command\"       # "), std::string::npos) << init;
  EXPECT_NE(init.find("(command | sha256 | plugin | http | python)"), std::string::npos) << init;
}

TEST(SettingsKeysTest, Lookup) {
  ASSERT_NE(FindKey("job", "workers"), nullptr);
  EXPECT_EQ(FindKey("job", "workers")->kind, Kind::kWorkers);
  EXPECT_EQ(FindKey("job", "path"), nullptr);
  EXPECT_TRUE(IsSection("queue"));
  EXPECT_FALSE(IsSection("jobs"));
  EXPECT_EQ(KeysOf("queue"), (std::vector<std::string>{"slots", "batch"}));
  EXPECT_EQ(Choices(*FindKey("output", "order")).size(), 2u);
  EXPECT_TRUE(Choices(*FindKey("job", "name")).empty());
}

}  // namespace
}  // namespace shoal

namespace shoal {
namespace {

TEST(RunDirModeTest, NamesAndOctal) {
  EXPECT_EQ(RunDirMode("private"), 0700);
  EXPECT_EQ(RunDirMode("shared"), 0755);
  EXPECT_EQ(RunDirMode("0750"), 0750);
  EXPECT_EQ(RunDirMode("700"), 0700);
  EXPECT_EQ(RunDirMode("0644"), -1);  // the owner could not enter it
  EXPECT_EQ(RunDirMode("4755"), -1);
  EXPECT_EQ(RunDirMode("0778"), -1);
  EXPECT_EQ(RunDirMode(""), -1);
  EXPECT_EQ(RunDirMode("public"), -1);
}

}  // namespace
}  // namespace shoal
