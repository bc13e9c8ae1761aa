// Several fields per list record (issue 13, item 3), and what a list's lines
// are (item 6): CSV with any delimiter and a header naming the fields, each
// field in every placeholder form; CR-only line ends; blank lines, which are
// no items but keep the line numbers that {index} is.
#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

// The `n`-th line of `text` (1-based, LF line ends), as `sed -n Np` prints it.
std::string LineOf(const std::string& text, uint64_t n) {
  size_t start = 0;
  for (uint64_t i = 1; i < n; ++i) {
    start = text.find('\n', start);
    if (start == std::string::npos) return "(no line " + std::to_string(n) + ")";
    ++start;
  }
  return text.substr(start, text.find('\n', start) - start);
}

// A ';'-delimited CSV with a header: {1}, {region} and {2/} of every row,
// shell-quoted; a short row and a row whose command fails are in failed.txt
// as whole records, and `shoal retry` runs them by the header's names
// although failed.txt has no header line.
TEST_F(E2e, SemicolonCsvWithHeaderFieldsAndRetry) {
  std::string csv = "id;file;region\n";
  std::map<uint64_t, std::string> want;  // line -> output
  uint64_t line = 1;
  for (int i = 1; i <= 120; ++i) {
    if (i % 25 == 0) {
      csv += "\n";  // a blank line: no item, but it has a number
      ++line;
    }
    std::string id = "id" + std::to_string(i);
    std::string file = "data/part-" + std::to_string(i % 7) + "/f" + std::to_string(i) + ".log";
    std::string region = i % 2 ? "eu" : "us west";
    std::string row = id + ";" + file + ";" + region;
    if (i == 33)
      row = id + ";\"" + file + "\";\"it's; $(touch pwned)\"";  // quoted, delimiter inside
    if (i == 33) region = "it's; $(touch pwned)";
    csv += row + "\n";
    ++line;
    want[line] = id + "|" + region + "|f" + std::to_string(i) + ".log";
  }
  const std::string short_row = "id999;only-two";
  csv += short_row + "\n";
  const uint64_t short_line = ++line;
  WriteFile(dir_ / "rows.csv", csv);
  WriteFile(dir_ / "fail-id7", "");  // id7's command fails until this is gone
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"fields\"\n"
            "workers = 3\n"
            "[input]\n"
            "path = \"rows.csv\"\n"
            "delimiter = \";\"\n"
            "header = true\n"
            "[command]\n"
            "shell = true\n"
            "argv = [\"test ! -e fail-{1} && printf '%s|%s|%s' {1} {region} {2/}\"]\n");

  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  EXPECT_FALSE(fs::exists(dir_ / "pwned"));
  std::map<uint64_t, std::string> got;
  for (const Record& r : results) {
    got[r.index] = r.output.value_or("");
    EXPECT_EQ(r.item, LineOf(csv, r.index)) << "index " << r.index << " is its line";
  }
  std::map<uint64_t, std::string> want_ok = want;
  const uint64_t id7_line = 8;
  ASSERT_EQ(LineOf(csv, id7_line).substr(0, 4), "id7;");
  want_ok.erase(id7_line);
  EXPECT_EQ(got, want_ok);

  ASSERT_EQ(errors.size(), 2u);
  std::map<std::string, Record> failed;
  for (const Record& r : errors) failed[r.item] = r;
  ASSERT_EQ(failed.count(short_row), 1u);
  EXPECT_EQ(failed[short_row].index, short_line);
  EXPECT_EQ(failed[short_row].reason.value_or(""),
            "line " + std::to_string(short_line) + " has 2 fields, but {region} needs field 3");
  const std::string id7_row = LineOf(csv, id7_line);
  ASSERT_EQ(failed.count(id7_row), 1u);
  // Whole records, no header: a list `shoal retry` reads as the run did.
  EXPECT_EQ(Sorted(Lines(ReadFile(run / "failed.txt"))), Sorted({short_row, id7_row}));

  fs::remove(dir_ / "fail-id7");
  std::set<fs::path> before = RunDirs();
  ProcessResult r = Shoal({"retry", run.string()});
  ASSERT_EQ(r.status, 1) << Describe(r);  // the short row is still short
  EXPECT_EQ(RunDirs(), before) << "the retry completes the run's own directory";
  // Now every row once, at its own line: id7 succeeded, the short row failed
  // again with its line number, not its position in failed.txt.
  std::vector<Record> after, after_errors;
  ASSERT_TRUE(ReadRun(run, &after, &after_errors));
  std::map<uint64_t, std::string> got_after;
  for (const Record& rec : after) got_after[rec.index] = rec.output.value_or("");
  EXPECT_EQ(got_after, want);
  ASSERT_EQ(after_errors.size(), 1u);
  EXPECT_EQ(after_errors[0].item, short_row);
  EXPECT_EQ(after_errors[0].index, short_line);
  EXPECT_EQ(after_errors[0].reason.value_or(""),
            "line " + std::to_string(short_line) + " has 2 fields, but {region} needs field 3");
  EXPECT_EQ(Lines(ReadFile(run / "failed.txt")), std::vector<std::string>{short_row});
}

// A name no header field has is a settings error before anything runs.
TEST_F(E2e, AMisspeltFieldNameFailsBeforeAnythingRuns) {
  WriteFile(dir_ / "rows.csv", "id,region\n1,eu\n");
  WriteFile(dir_ / "settings.toml",
            "[input]\n"
            "path = \"rows.csv\"\n"
            "delimiter = \",\"\n"
            "header = true\n"
            "[command]\n"
            "argv = [\"echo\", \"{regoin}\"]\n");
  ProcessResult r = RunJob();
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("did you mean {region}?"), std::string::npos) << r.err;
  EXPECT_TRUE(RunDirs().empty());
  ProcessResult check = Shoal({"check", "settings.toml"});
  EXPECT_EQ(check.status, 2) << Describe(check);
  EXPECT_NE(check.err.find("did you mean {region}?"), std::string::npos) << check.err;
}

// A list with CR line ends (and a header line to skip) is one item per line.
TEST_F(E2e, CrOnlyListIsOneItemPerLine) {
  std::string list = "name\r";
  std::vector<std::string> items;
  for (int i = 1; i <= 50; ++i) {
    items.push_back("item " + std::to_string(i));
    list += items.back() + "\r";
  }
  WriteFile(dir_ / "list.txt", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"cr\"\n"
            "[input]\n"
            "path = \"list.txt\"\n"
            "skip_header = true\n"
            "[command]\n"
            "argv = [\"printf\", \"%s\", \"{}\"]\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  EXPECT_EQ(Items(results), Sorted(items));
  EXPECT_TRUE(errors.empty());
  for (const Record& r : results) {
    EXPECT_EQ(r.output.value_or(""), r.item);
    EXPECT_EQ(r.item, "item " + std::to_string(r.index - 1));  // the header is line 1
  }
}

// output.order = "input" over a list with blank lines: every item, in the
// order of the file, each with its own line as index.
TEST_F(E2e, InputOrderOverBlankLinesKeepsEveryItemInOrder) {
  std::string list;
  std::vector<uint64_t> lines;
  uint64_t line = 0;
  for (int i = 1; i <= 3000; ++i) {
    for (int blank = 0; blank < (i % 5 == 0 ? 2 : i % 3 == 0 ? 1 : 0); ++blank) {
      list += "\n";
      ++line;
    }
    list.append("x").append(std::to_string(i)).append("\n");
    lines.push_back(++line);
  }
  WriteFile(dir_ / "list.txt", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\n"
            "name = \"ordered\"\n"
            "workers = 4\n"
            "[input]\n"
            "path = \"list.txt\"\n"
            "[command]\n"
            "argv = [\"printf\", \"%s\", \"{index}\"]\n"
            "[output]\n"
            "order = \"input\"\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  EXPECT_TRUE(errors.empty());
  std::vector<uint64_t> got;
  for (const Record& r : results) {
    got.push_back(r.index);
    EXPECT_EQ(r.item, LineOf(list, r.index));
    EXPECT_EQ(r.output.value_or(""), std::to_string(r.index));
  }
  EXPECT_EQ(got, lines);  // in the file's order, none missing
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
