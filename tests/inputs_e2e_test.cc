// Inputs as users write them, mistakes included: a list is read to its end
// whatever one bad line holds, and what fails is listed in failed.txt as a
// list that `shoal retry` can run again.
#include <map>

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
  // The line never ran: retrying the same bytes would fail them the same
  // way (or, worse, run the raw line as if it were column 1). It is not in
  // failed.txt, and retry says why and what to fix.
  EXPECT_EQ(ReadFile(run / "failed.txt"), "");
  ProcessResult r = Shoal({"retry", run.string()});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_NE(r.err.find("has 1 failed item(s) that cannot run again: the input could not deliver "
                       "them whole"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("Fix those lines and run them with 'shoal run SETTINGS --items FILE'"),
            std::string::npos)
      << r.err;
  std::vector<Record> retried, retry_errors;
  ASSERT_TRUE(ReadRun(run, &retried, &retry_errors));
  EXPECT_EQ(retried.size(), 999u);
  ASSERT_EQ(retry_errors.size(), 1u);
  EXPECT_EQ(retry_errors[0].item, bad);
}

// Every kind of failure while a CSV is read (a short row, an empty column,
// a stray quote) is in errors.jsonl with its line and never ran; the run's
// summary counts them apart from what retry can run, and a field with a
// quoted line end that fails in its command is retried.
TEST_F(E2e, ParseFailuresAreNamedAndWhatCanRunIsRetried) {
  const std::string csv = "id,name\n1,a\n2\n3,\n4,\"unterminated\n5,\"two\nlines\"\n6,fail\n";
  WriteFile(dir_ / "rows.csv", csv);
  WriteFile(dir_ / "fail-fail", "");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"rows\"\n[input]\npath = \"rows.csv\"\ncolumn = 2\n"
            "skip_header = true\n[command]\n"
            "argv = [\"sh\", \"-c\", \"test ! -e \\\"fail-$1\\\" && printf %s \\\"$1\\\"\", "
            "\"sh\", \"{}\"]\n");
  fs::path run;
  std::vector<Record> results, errors;
  ProcessResult r = RunJob();
  ASSERT_EQ(r.status, 1) << Describe(r);
  EXPECT_NE(r.err.find("to retry the 1 failed item:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("shoal: 3 failed items never ran: the input could not deliver them whole;"),
            std::string::npos)
      << r.err;
  ASSERT_EQ(RunDirs().size(), 1u);
  run = *RunDirs().begin();
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  std::map<uint64_t, std::string> reasons;
  for (const Record& e : errors) reasons[e.index] = e.reason.value_or("");
  EXPECT_EQ(reasons[3], "line 3 has 1 columns, column 2 requested");
  EXPECT_EQ(reasons[4], "line 4: column 2 is empty");
  EXPECT_TRUE(reasons[5].starts_with("line 5: unclosed quote")) << reasons[5];
  EXPECT_EQ(reasons[8], "exit 1");
  EXPECT_EQ(ReadFile(run / "failed.txt"), "fail\n");
  fs::remove(dir_ / "fail-fail");
  r = Shoal({"retry", run.string()});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_NE(r.err.find("has 3 failed item(s) that this retry leaves out"), std::string::npos)
      << r.err;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  EXPECT_EQ(errors.size(), 3u);
  EXPECT_EQ(Items(results), Sorted({"a", "fail", "two\nlines"}));
}

// CSV records (input.delimiter) that hold a quoted line end are listed in
// failed.txt as they were written, which reads back as the same records.
TEST_F(E2e, FailedCsvRecordsWithQuotedLineEndsAreInTheFailedList) {
  const std::string two_lines = "7,\"first\nsecond\",x";
  WriteFile(dir_ / "rows.csv", "1,one,ok\n" + two_lines + "\n9,\"a,b\",x\n");
  WriteFile(
      dir_ / "settings.toml",
      "[job]\nname = \"csv\"\nworkers = 1\n[input]\npath = \"rows.csv\"\ndelimiter = \",\"\n"
      "[command]\nargv = [\"sh\", \"-c\", \"test \\\"$1\\\" = ok\", \"sh\", \"{3}\", \"{2}\"]\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(1, &run, &results, &errors));
  EXPECT_EQ(ReadFile(run / "failed.txt"), two_lines + "\n9,\"a,b\",x\n");
  EXPECT_EQ(ReadFile(run / "log.txt").find("cannot list it"), std::string::npos);
  // Read back as the run reads an items file: the same two records.
  ProcessResult r =
      Shoal({"run", "settings.toml", "--items", (run / "failed.txt").string(), "--dry-run"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out,
            "sh -c 'test \"$1\" = ok' sh x $'first\\nsecond'\n"
            "sh -c 'test \"$1\" = ok' sh x a,b\n");
}

// log.txt holds item names escaped to valid UTF-8, as the terminal shows them.
TEST_F(E2e, LogTxtEscapesItemNamesThatAreNotUtf8) {
  WriteFile(dir_ / "list.txt", "caf\xe9.txt\n");
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"latin1\"\n[input]\npath = \"list.txt\"\n"
            "[command]\nargv = [\"true\", \"{}\"]\n");
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_NO_FATAL_FAILURE(RunAndRead(0, &run, &results, &errors));
  const std::string log = ReadFile(run / "log.txt");
  EXPECT_NE(log.find("caf\\xe9.txt"), std::string::npos) << log;
  EXPECT_EQ(log.find("caf\xe9"), std::string::npos) << "a raw byte that is not UTF-8";
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
  // UTF-8 in strings and comments is what they are for (the input must
  // exist: check opens it as run does).
  fs::create_directories(dir_ /
                         "donn\xc3\xa9"
                         "es");
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
