// Inputs as users write them, mistakes included: a list is read to its end
// whatever one bad line holds, and what fails is listed in failed.txt as a
// list that `shoal retry` can run again.
#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// A stray quote in a CSV fails its own line, not the thousand after it.
TEST_F(E2e, CsvStrayQuoteFailsOnlyItsLine) {
  const std::string bad = "\"2,id with a stray quote";
  std::string csv;
  std::vector<std::string> ids;
  for (int i = 1; i <= 1000; ++i) {
    if (i == 2) {
      csv += bad + "\n";
      continue;
    }
    ids.push_back("id" + std::to_string(i));
    csv += ids.back() + ",row " + std::to_string(i) + "\n";
  }
  WriteFile(dir_ / "ids.csv", csv);
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"ids\"\n"
            "workers = 2\n"
            "handler = \"command\"\n"
            "\n"
            "[input]\n"
            "path = \"ids.csv\"\n"
            "column = 1\n"
            "\n"
            "[command]\n"
            "argv = [\"printf\", \"%s\", \"{item}\"]\n");

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  EXPECT_EQ(results.size(), 999u);
  EXPECT_EQ(Items(results), Sorted(ids));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].index, 2u);
  EXPECT_EQ(errors[0].item, bad);
  const std::string reason = errors[0].reason.value_or("");
  EXPECT_TRUE(reason.starts_with("line 2: unclosed quote")) << reason;
  EXPECT_EQ(ReadFile(run / "failed.txt"), bad + "\n");

  // failed.txt is a list of items: the line runs again as it is.
  ProcessResult r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::vector<Record> retried, retry_errors;
  ASSERT_TRUE(ReadRun(run, &retried, &retry_errors));
  EXPECT_EQ(retry_errors.size(), 0u);
  ASSERT_EQ(retried.size(), 1000u);
  auto it = std::find_if(retried.begin(), retried.end(),
                         [](const Record& rec) { return rec.index == 2; });
  ASSERT_NE(it, retried.end());
  EXPECT_EQ(it->item, bad);
  EXPECT_EQ(it->output.value_or(""), bad);
}

// TOML++ 3.3.0 dies on a non-ASCII character where it looks for whitespace,
// and asserts on a control character in a key: settings errors instead.
TEST_F(E2e, SettingsTheTomlParserWouldDieOnAreSettingsErrors) {
  WriteFile(dir_ / "accent.toml", "[job]\n\xc3\xa9 = 1\n");
  ProcessResult r = Shoal({"check", "accent.toml"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("accent.toml:2:1: non-ASCII character outside a string or comment; "),
            std::string::npos)
      << r.err;
  WriteFile(dir_ / "control.toml", "[job\x01]\n");
  r = Shoal({"check", "control.toml"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("control.toml:1:5: control character U+0001 outside a string; "),
            std::string::npos)
      << r.err;
  // UTF-8 in strings and comments is what they are for.
  WriteFile(dir_ / "utf8.toml",
            "# donn\xc3\xa9"
            "es\n[input]\npath = \"donn\xc3\xa9"
            "es\"\n[job]\nname = 'caf\xc3\xa9'\n");
  r = Shoal({"check", "utf8.toml"});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.out.find("donn\xc3\xa9"
                       "es"),
            std::string::npos)
      << r.out;
  // A --set value that is not TOML is its text, "v = \xc3\xa9t\xc3\xa9" never parsed.
  r = Shoal({"check", "utf8.toml", "--set", "job.name=\xc3\xa9t\xc3\xa9"});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.out.find("name = \"\xc3\xa9t\xc3\xa9\""), std::string::npos) << r.out;
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
