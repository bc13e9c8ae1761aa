// The one-line form (issue 13, items 1 and 2): shoal COMMAND ::: ITEMS, the
// items on stdin, the jobs' output whole per item on shoal's stdout, in input
// order with -k, and a one-line run that retry completes.
#include <unistd.h>

#include <regex>

#include <algorithm>
#include <map>

#include "tests/e2e_support.h"

namespace shoal::e2e {
namespace {

class OneLine : public E2e {
 protected:
  // shoal -o RUNS ARGS...: run directories where the test finds them.
  ProcessResult Line(std::vector<std::string> args) {
    args.insert(args.begin(), {"-o", runs_.string()});
    return Shoal(args);
  }
  // A shell line with $SHOAL standing for the binary.
  ProcessResult Sh(const std::string& line) {
    std::vector<std::string> shoal = WithShoal({});
    return Run(
        {"/bin/sh", "-c", "SHOAL=" + shoal.front() + "; RUNS=" + runs_.string() + "; " + line});
  }
};

TEST_F(OneLine, EchoItemsOnStdoutNothingElse) {
  ProcessResult r = Line({"echo", "{}", ":::", "a", "b", "c"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(Sorted(Lines(r.out)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.err, "");  // stderr is no terminal: shoal says nothing on success
  // The placeholder is appended when there is none; -kf is the command's.
  r = Line({"-k", "printf", "%s-%s\\n", "-kf", ":::", "x", "y"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "-kf-x\n-kf-y\n");
}

TEST_F(OneLine, KeepOrderHoldsEarlyFinishers) {
  // Without -k, item 1 finishes only once item 6's record is in the run's
  // results.jsonl, so item 6 has been printed before it: the output is in
  // completion order. One worker per item, so that item 6 is never queued
  // behind item 1; the wait gives up after a while rather than hang the test.
  const std::string after_six =
      "if [ \"$1\" = 1 ]; then n=0; while ! grep -qs '\"item\":\"6\"' \"$2/results.jsonl\" "
      "&& [ $n -lt 2000 ]; do sleep 0.01; n=$((n+1)); done; fi; echo \"$1\"";
  ProcessResult unordered = Line(
      {"-j", "6", "sh", "-c", after_six, "sh", "{}", "{run}", ":::", "1", "2", "3", "4", "5", "6"});
  ASSERT_EQ(unordered.status, 0) << Describe(unordered);
  std::vector<std::string> lines = Lines(unordered.out);
  auto at = [&](const std::string& v) { return std::find(lines.begin(), lines.end(), v); };
  EXPECT_LT(at("6"), at("1")) << unordered.out;
  // With -k, the window holds 6's record until 1 is done (so the wait above
  // would last its whole bound): item 1 waits for a file item 6 makes.
  const std::string after_file =
      "if [ \"$1\" = 1 ]; then n=0; while [ ! -e six ] && [ $n -lt 2000 ]; do sleep 0.01; "
      "n=$((n+1)); done; fi; echo \"$1\"; "
      "if [ \"$1\" = 6 ]; then touch six; fi";
  ProcessResult ordered =
      Line({"-k", "-j", "6", "sh", "-c", after_file, "sh", ":::", "1", "2", "3", "4", "5", "6"});
  ASSERT_EQ(ordered.status, 0) << Describe(ordered);
  EXPECT_EQ(ordered.out, "1\n2\n3\n4\n5\n6\n");
  EXPECT_TRUE(fs::exists(dir_ / "six")) << "item 6 ran while item 1 waited";
}

TEST_F(OneLine, ItemsFromStdinAndFromAFile) {
  ProcessResult r = Sh("printf 'x\\ny y\\nz\\n' | $SHOAL -o $RUNS -k echo item");
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "item x\nitem y y\nitem z\n");
  WriteFile(dir_ / "list.txt", "p\nq\n");
  r = Line({"-k", "echo", "{}", "::::", "list.txt"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "p\nq\n");
  // -a FILE, as parallel's: the same source; not with ::: as well.
  r = Line({"-k", "-a", "list.txt", "echo", "it"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "it p\nit q\n");
  r = Line({"-a", "list.txt", "echo", ":::", "x"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("is the items' source: leave out the ::: and ::::"), std::string::npos)
      << r.err;
}

// parallel's options for fields: -C REGEX, --csv (with -C its one-byte
// delimiter), --header : naming them by the first item; each sets its key.
TEST_F(OneLine, FieldsByColsepCsvAndHeader) {
  ProcessResult r = Line({"-k", "-C", "\\s+", "echo", "{2}-{1}", ":::", "a  b", "c\td"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "b-a\nd-c\n");
  WriteFile(dir_ / "in.csv", "id;region\n1;\"eu;west\"\n2;us\n");
  r = Line({"-k", "--csv", "-C", ";", "--header", ":", "echo", "{region}/{id}", "::::", "in.csv"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "eu;west/1\nus/2\n");
  WriteFile(dir_ / "comma.csv", "\"a,b\",c\n");
  r = Line({"-k", "--csv", "echo", "{2}:{1}", "::::", "comma.csv"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "c:a,b\n");
  r = Line({"-k", "--csv", "-C", "\\t", "echo", "{2}", ":::", "x\ty"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "y\n");
  // What cannot be: exit 2 before anything runs, naming the fix.
  const size_t runs = RunDirs().size();
  r = Line({"--csv", "-C", ", ", "echo", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("with --csv, --colsep is the CSV delimiter, one byte"), std::string::npos)
      << r.err;
  r = Line({"--header", "^id", "echo", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("--header takes ':'"), std::string::npos) << r.err;
  EXPECT_EQ(RunDirs().size(), runs);  // no run directory for either
}

// -0 reads items that end at NUL bytes (find -print0), a newline inside one
// is part of it; --timeout N is N seconds, as parallel's.
TEST_F(OneLine, NulSeparatedItemsAndATimeoutInSeconds) {
  ProcessResult r = Sh("printf 'a b\\0c\\nd\\0' | $SHOAL -o $RUNS -0 -k printf '[%s]\\n'");
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "[a b]\n[c\nd]\n");
  r = Line({"--timeout", "0.2", "sleep", ":::", "100"});
  EXPECT_EQ(r.status, 1) << Describe(r);
  std::vector<Record> results, errors;
  ASSERT_EQ(RunDirs().size(), 2u);
  for (const fs::path& run : RunDirs()) {
    results.clear();
    errors.clear();
    ASSERT_TRUE(ReadRun(run, &results, &errors));
    if (errors.empty()) continue;
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].reason, "timeout");
    return;
  }
  ADD_FAILURE() << "no run with the timed-out item";
}

// --link zips every source with the one before, as :::+ does each.
TEST_F(OneLine, LinkZipsEverySource) {
  ProcessResult r = Line(
      {"-k", "--link", "echo", "{1}={2}{3}", ":::", "a", "b", ":::", "1", "2", ":::", "x", "y"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "a=1x\nb=2y\n");
  r = Line({"--link", "echo", ":::", "a", "b", ":::", "1"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("--link links sources of the same length"), std::string::npos) << r.err;
  WriteFile(dir_ / "s.toml", "[command]\nargv = [\"true\"]\n");
  r = Shoal({"run", "s.toml", "--link"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("--link zips the ::: sources of the one-line form"), std::string::npos)
      << r.err;
}

TEST_F(OneLine, LargeOutputIsPrintedWhole) {
  std::string big;
  for (int i = 0; big.size() < 300 * 1024; ++i) big += "line " + std::to_string(i) + "\n";
  WriteFile(dir_ / "big.txt", big);
  ProcessResult r = Line({"cat", ":::", "big.txt"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out.size(), big.size());
  EXPECT_TRUE(r.out == big);
  // Tagged too: every line of the spilled output after its item.
  r = Line({"--tag", "cat", ":::", "big.txt"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::vector<std::string> lines = Lines(r.out);
  EXPECT_EQ(lines.size(), Lines(big).size());
  for (const std::string& l : lines) ASSERT_EQ(l.rfind("big.txt\tline ", 0), 0u) << l;
}

TEST_F(OneLine, ConcurrentItemsNeverInterleave) {
  const std::string script =
      "i=0; while [ $i -lt 5000 ]; do echo \"$1 $i\"; i=$((i+1)); done; echo \"$1 err\" >&2";
  ProcessResult r = Line({"-j", "2", "sh", "-c", script, "sh", ":::", "A", "B"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 10000u);
  // Each item's lines in one run, in its own order.
  std::string first = lines[0].substr(0, 1);
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string who = i < 5000 ? first : (first == "A" ? "B" : "A");
    ASSERT_EQ(lines[i], who + " " + std::to_string(i % 5000)) << "line " << i;
  }
  EXPECT_EQ(Sorted(Lines(r.err)), (std::vector<std::string>{"A err", "B err"}));
}

TEST_F(OneLine, FailedItemThenRetryOnThePrintedRunDir) {
  const std::string script = "[ \"$1\" != bad ] || [ -e fixed ]; s=$?; echo \"$1\"; exit $s";
  ProcessResult r = Line({"-k", "sh", "-c", script, "sh", ":::", "good", "bad"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  EXPECT_EQ(r.out, "good\nbad\n");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.err, m, std::regex("run directory: (\\S+)"))) << r.err;
  const fs::path run = m[1].str();
  // The ::: items live in the run directory, named by its settings.toml.
  EXPECT_EQ(ReadFile(run / "input.txt"), "good\nbad\n");
  EXPECT_NE(ReadFile(run / "settings.toml").find((run / "input.txt").string()), std::string::npos);
  EXPECT_EQ(ReadFile(run / "failed.txt"), "bad\n");
  WriteFile(dir_ / "fixed", "");
  ProcessResult retried = Shoal({"retry", run.string()});
  ASSERT_EQ(retried.status, 0) << Describe(retried);
  EXPECT_EQ(retried.out, "bad\n");  // retry prints what it runs, too
  EXPECT_EQ(ReadFile(run / "failed.txt"), "");
}

TEST_F(OneLine, RunDirUnderXdgStateHome) {
  ProcessResult r = Sh("XDG_STATE_HOME=$PWD/state $SHOAL -v true ::: a");
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.err.find("run directory: " + (dir_ / "state/shoal/runs/true-").string()),
            std::string::npos)
      << r.err;
}

// No more workers than ::: items: the others would only start and stop.
TEST_F(OneLine, NoMoreWorkersThanItems) {
  ProcessResult r = Line({"-v", "-j", "8", "true", ":::", "a", "b"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_NE(r.err.find("worker 2 started"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("worker 3 started"), std::string::npos) << r.err;
}

TEST_F(OneLine, UsageErrors) {
  ProcessResult r = Line({"--bogus", "echo", ":::", "a"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
  r = Line({"echo", ":::", "a", ":::+", "1", "2"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(":::+ links sources of the same length"), std::string::npos) << r.err;
  EXPECT_TRUE(RunDirs().empty());
}

// What parallel users type first: a command line in one word, and a
// misspelt program. Each is a bad setting, said before anything runs.
TEST_F(OneLine, AProgramThatCannotRunFailsBeforeAnyItem) {
  ProcessResult r = Line({"sh -c \"exit {}\"", ":::", "0", "1"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("command.argv[0] \"sh -c \"exit {}\"\" is one word that holds spaces"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("--shell (command.shell = true)"), std::string::npos) << r.err;
  r = Line({"gzipp", "-k", "{}", ":::", "a"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("command.argv[0] \"gzipp\" is a program on no directory of PATH"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(RunDirs().empty());
  // A dry run runs nothing: its lines may be for a machine that has gzipp.
  r = Line({"--dry-run", "gzipp", "-k", "{}", ":::", "a"});
  EXPECT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "gzipp -k a\n");
  // Asked for, the shell runs the line; its run directory needs no quoting.
  r = Line({"-k", "--shell", "sh -c \"echo {}; exit {}\"", ":::", "0", "1"});
  EXPECT_EQ(r.status, 1) << Describe(r);
  EXPECT_EQ(r.out, "0\n1\n");
  const std::set<fs::path> runs = RunDirs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_TRUE(runs.begin()->filename().string().starts_with("sh-20")) << *runs.begin();
}

// GNU parallel and shoal on the same one-liners with -k: the same bytes.
TEST_F(OneLine, SameStdoutAsGnuParallel) {
  if (::access("/usr/bin/parallel", X_OK) != 0) GTEST_SKIP() << "GNU parallel is not installed";
  const std::vector<std::vector<std::string>> lines = {
      {"echo", ":::", "a", "b", "c"},
      {"echo", "x{}y", ":::", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"},
      {"echo", "{.}", "{/}", ":::", "dir/a.txt", "b.tar.gz", "/abs/c"},
      // The command quoted as one word, as parallel users write it.
      {"echo x{}y {.}", ":::", "a.b", "c"},
      // No backslashes or other shell syntax: parallel runs each line through
      // a shell, shoal does not (a documented difference).
      {"printf", "%s-%s.", "{}", "{}", ":::", "one", "two"},
      // Several sources: the product, and :::+ linking.
      {"echo", ":::", "a", "b", ":::", "1", "2", ":::", "x"},
      {"echo", "{2}-{1}", ":::", "a", "b", "c", ":::", "1", "2"},
      {"echo", "{1}={2}", ":::", "a", "b", ":::+", "1", "2", ":::", "p", "q"},
      // Many items a command line, tagged by all of them: consecutive items,
      // on one worker or spread over two.
      {"-j", "1", "-X", "-n", "2", "--tag", "echo", ":::", "a", "b", "c", "d/e.x", "f"},
      {"-j", "2", "-n", "2", "echo", ":::", "a", "b", "c", "d", "e", "f", "g"},
      {"-j", "2", "-X", "echo", ":::", "1", "2", "3", "4", "5", "6", "7"},
      {"-j", "3", "-m", "-n", "3", "--tag", "echo", ":::", "a", "b", "c", "d", "e", "f", "g"},
      {"-j", "1", "-m", "-n", "3", "--tag", "echo", "={}=", ":::", "a", "b", "c", "d", "e"},
      {"-j", "1", "-X", "-n", "2", "--tagstring", "[{/.}] {%}", "echo", ":::", "a.y", "d/e.x", "f"},
      {"-j", "1", "-m", "-n", "2", "--tagstring", "x{}y", "echo", ":::", "a", "b", "c"},
  };
  for (const std::vector<std::string>& words : lines) {
    std::vector<std::string> p{"/usr/bin/parallel", "-k"};
    p.insert(p.end(), words.begin(), words.end());
    ProcessResult theirs = Run(p);
    std::vector<std::string> s{"-k"};
    s.insert(s.end(), words.begin(), words.end());
    ProcessResult ours = Line(s);
    ASSERT_EQ(theirs.status, 0) << Describe(theirs);
    ASSERT_EQ(ours.status, 0) << Describe(ours);
    std::string line;
    for (const std::string& w : words) line += " " + w;
    EXPECT_EQ(ours.out, theirs.out) << line;
  }
}

// --line-buffer prints what a command line of many items prints as it comes
// (no -k: with it, output is printed whole at its turn), tagged by the line.
TEST_F(OneLine, LineBufferTagsACommandLineByItsItems) {
  ProcessResult r = Line({"-j", "1", "-X", "-n", "2", "--line-buffer", "--tagstring", "<{}>",
                          "echo", ":::", "a", "b", "c"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "<a> <b>\ta b\n<c>\tc\n");
}

// The placeholder table on tricky paths, shoal against GNU parallel byte for
// byte: every value is the same but for the documented differences (shoal(1),
// "Differences from GNU parallel"), each asserted with both sides' values.
TEST_F(OneLine, PlaceholderTableMatchesGnuParallelButForTheDocumentedDifferences) {
  if (::access("/usr/bin/parallel", X_OK) != 0) GTEST_SKIP() << "GNU parallel is not installed";
  const std::vector<std::string> paths = {"a.txt",
                                          "dir/f.c",
                                          "a.b/c",
                                          "x.y/",
                                          "dir/sub/",
                                          "a/b.c/",
                                          "x.y//",
                                          ".hidden",
                                          ".hidden.tar.gz",
                                          "dir/.bashrc",
                                          "a/.b",
                                          "file.",
                                          "dir/file.",
                                          "..",
                                          ".",
                                          "/",
                                          "a/..",
                                          "../up.txt",
                                          "./rel.txt",
                                          "/abs/p.q",
                                          "/x.y",
                                          "//double//slash.z",
                                          "a//b.c",
                                          "with space.txt",
                                          "dir with space/f g.h",
                                          "it's.txt",
                                          "say \"hi\".md",
                                          "-n.x",
                                          "-dash/-f.tar.gz",
                                          "caf\xc3\xa9/na\xc3\xafve.txt",
                                          "\xe6\x97\xa5\xe6\x9c\xac/x.\xe8\xaa\x9e",
                                          "emoji\xf0\x9f\x98\x80.png",
                                          "tab\there.t",
                                          "a*b?.glob",
                                          "$HOME.var",
                                          "back\\slash.b",
                                          "semi;colon.c",
                                          "paren(1).p",
                                          "trailing.dot./x",
                                          "multi.dots.in.name.ext",
                                          "noext",
                                          "dir.d/noext",
                                          "v1.2.3/",
                                          "..hidden",
                                          "...",
                                          "a..b",
                                          ".a.",
                                          "~tilde.t",
                                          "#hash.h",
                                          "100%.pct",
                                          "a.b.c/d.e",
                                          "--",
                                          "-"};
  ASSERT_GE(paths.size(), 40u);
  struct Cell {
    std::string placeholder, parallel, shoal;
  };
  // Where the two differ, and only there (each rule once in the man page):
  // {/} is basename(1), which drops trailing slashes, and "/" of "/"; leading
  // dots belong to a name (.bashrc has no extension) and a trailing dot is
  // no extension (file.), where parallel strips from the last dot.
  const std::map<std::string, std::vector<Cell>> differences = {
      {"x.y/", {{"{/}", "", "x.y"}, {"{/.}", "", "x.y"}}},
      {"dir/sub/", {{"{/}", "", "sub"}, {"{/.}", "", "sub"}}},
      {"a/b.c/", {{"{/}", "", "b.c"}, {"{/.}", "", "b.c"}}},
      {"x.y//", {{"{/}", "", "x.y"}, {"{/.}", "", "x.y"}}},
      {"v1.2.3/", {{"{/}", "", "v1.2.3"}, {"{/.}", "", "v1.2.3"}}},
      {"/", {{"{/}", "", "/"}, {"{/.}", "", "/"}}},
      {".hidden", {{"{.}", "", ".hidden"}, {"{/.}", "", ".hidden"}}},
      {"dir/.bashrc", {{"{.}", "dir/", "dir/.bashrc"}, {"{/.}", "", ".bashrc"}}},
      {"a/.b", {{"{.}", "a/", "a/.b"}, {"{/.}", "", ".b"}}},
      {"..hidden", {{"{.}", ".", "..hidden"}, {"{/.}", ".", "..hidden"}}},
      {"file.", {{"{.}", "file", "file."}, {"{/.}", "file", "file."}}},
      {"dir/file.", {{"{.}", "dir/file", "dir/file."}, {"{/.}", "file", "file."}}},
      {".a.", {{"{.}", ".a", ".a."}, {"{/.}", ".a", ".a."}}},
      {"..", {{"{.}", ".", ".."}, {"{/.}", ".", ".."}}},
      {".", {{"{.}", "", "."}, {"{/.}", "", "."}}},
      {"...", {{"{.}", "..", "..."}, {"{/.}", "..", "..."}}},
      {"a/..", {{"{.}", "a/.", "a/.."}, {"{/.}", ".", ".."}}},
  };
  std::string list;
  for (const std::string& p : paths) list += p + "\n";
  WriteFile(dir_ / "paths.txt", list);
  const std::vector<std::string> names = {"{}", "{/}", "{//}", "{.}", "{/.}", "{#}"};
  std::vector<std::string> words = {"printf", "%s\\037%s\\037%s\\037%s\\037%s\\037%s\\036"};
  words.insert(words.end(), names.begin(), names.end());
  words.insert(words.end(), {"::::", (dir_ / "paths.txt").string()});
  // parallel runs the line through a shell: the format is quoted for it.
  std::vector<std::string> p{"/usr/bin/parallel", "--will-cite", "-k", "printf",
                             "'" + words[1] + "'"};
  p.insert(p.end(), words.begin() + 2, words.end());
  ProcessResult theirs = Run(p);
  std::vector<std::string> s{"-k"};
  s.insert(s.end(), words.begin(), words.end());
  ProcessResult ours = Line(s);
  ASSERT_EQ(theirs.status, 0) << Describe(theirs);
  ASSERT_EQ(ours.status, 0) << Describe(ours);
  auto split = [](const std::string& text, char sep) {
    std::vector<std::string> parts;
    size_t start = 0;
    for (size_t at; (at = text.find(sep, start)) != std::string::npos; start = at + 1) {
      parts.push_back(text.substr(start, at - start));
    }
    if (start < text.size()) parts.push_back(text.substr(start));
    return parts;
  };
  std::vector<std::string> their_rows = split(theirs.out, '\x1e');
  std::vector<std::string> our_rows = split(ours.out, '\x1e');
  ASSERT_EQ(their_rows.size(), paths.size()) << theirs.out;
  ASSERT_EQ(our_rows.size(), paths.size()) << ours.out;
  size_t differing = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    std::vector<std::string> their = split(their_rows[i] + "\x1f", '\x1f');
    std::vector<std::string> our = split(our_rows[i] + "\x1f", '\x1f');
    ASSERT_EQ(their.size(), names.size()) << paths[i];
    ASSERT_EQ(our.size(), names.size()) << paths[i];
    auto known = differences.find(paths[i]);
    for (size_t k = 0; k < names.size(); ++k) {
      const Cell* cell = nullptr;
      if (known != differences.end()) {
        for (const Cell& c : known->second) {
          if (c.placeholder == names[k]) cell = &c;
        }
      }
      if (cell == nullptr) {
        EXPECT_EQ(our[k], their[k]) << names[k] << " of \"" << paths[i] << "\"";
        continue;
      }
      ++differing;
      EXPECT_EQ(their[k], cell->parallel) << "parallel's " << names[k] << " of " << paths[i];
      EXPECT_EQ(our[k], cell->shoal) << "shoal's " << names[k] << " of " << paths[i];
    }
  }
  size_t listed = 0;
  for (const auto& [path, cells] : differences) listed += cells.size();
  EXPECT_EQ(differing, listed) << "a listed difference is not a path of the table";
}

// Braces around what no placeholder is made of pass through (awk's), as in
// parallel; a misspelt placeholder still fails before anything runs.
TEST_F(OneLine, LiteralBracesPassThroughAndMisspeltPlaceholdersFail) {
  ProcessResult r = Line({"-k", "echo", "{print $1}", ":::", "x", "y"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "{print $1} x\n{print $1} y\n");  // no placeholder: the item is appended
  WriteFile(dir_ / "in.txt", "a 1\nb 2\n");
  r = Line({"-k", "awk", "BEGIN{n=0} {n++; print $2, FILENAME}", "{}", ":::", "in.txt"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(r.out, "1 in.txt\n2 in.txt\n");
  const std::set<fs::path> before = RunDirs();
  r = Line({"echo", "{nmae}", ":::", "x"});
  EXPECT_EQ(r.status, 2) << Describe(r);
  EXPECT_NE(r.err.find("unknown placeholder {nmae}"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean {name}?"), std::string::npos) << r.err;
  EXPECT_EQ(RunDirs(), before) << "nothing ran";
}

}  // namespace
}  // namespace shoal::e2e
