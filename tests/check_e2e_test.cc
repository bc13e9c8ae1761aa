// `shoal check` is `shoal run` without running (issue 12): for each bad
// setting in a table, check and run both exit 2 with the same message, and
// run leaves no run directory and made no shared-memory segment. Where a
// mount namespace can be made (root), run sees a read-only /dev/shm: had it
// tried to make its segment before refusing the setting, it would have failed
// differently (exit 3, "cannot create shared memory").

#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

struct BadSetting {
  std::string name;
  std::string toml;               // the whole settings file
  std::vector<std::string> args;  // after `SETTINGS -o DIR`
  std::string says;               // a part of the message
  std::string output_dir = "";    // "" = runs/
};

std::string Job(const std::string& input, const std::string& command) {
  return "[job]\nname = \"bad\"\nworkers = 1\n\n[input]\n" + input + "\n[command]\n" + command;
}

const std::string kCat = "argv = [\"cat\", \"{path}\"]\n";

std::vector<BadSetting> BadSettings() {
  return {
      {"bad include glob",
       Job("path = \"data\"\ninclude = [\"[a\"]\n", kCat),
       {},
       "input.include: glob '[a'"},
      {"bad exclude glob",
       Job("path = \"data\"\nexclude = [\"x/[\"]\n", kCat),
       {},
       "input.exclude: glob 'x/['"},
      {"missing input path", Job("path = \"nope\"\n", kCat), {}, "nope' does not exist"},
      {"unknown placeholder",
       Job("path = \"data\"\n", "argv = [\"cat\", \"{pth}\"]\n"),
       {},
       "unknown placeholder {pth}"},
      {"unclosed brace",
       Job("path = \"data\"\n", "argv = [\"cat\", \"{path\"]\n"),
       {},
       "unclosed '{'"},
      {"unclosed brace, shell",
       Job("path = \"data\"\n", "shell = true\nargv = [\"cat {path\"]\n"),
       {},
       "unclosed '{'"},
      {"missing plugin library",
       "[job]\nname = \"bad\"\nhandler = \"plugin\"\n[input]\npath = \"data\"\n"
       "[plugin]\nlibrary = \"./nope.so\"\n",
       {},
       "plugin.library"},
      {"plugin library that is no library",
       "[job]\nname = \"bad\"\nhandler = \"plugin\"\n[input]\npath = \"data\"\n"
       "[plugin]\nlibrary = \"list.txt\"\n",
       {},
       "plugin.library"},
      {"kind list, path a directory",
       Job("path = \"data\"\nkind = \"list\"\n", kCat),
       {},
       "is a directory"},
      {"kind tree, path a file",
       Job("path = \"list.txt\"\nkind = \"tree\"\n", kCat),
       {},
       "is not a directory"},
      {"kind tree, path stdin",
       Job("path = \"-\"\nkind = \"tree\"\n", kCat),
       {},
       "needs a directory"},
      {"shard out of range",
       Job("path = \"data\"\n", kCat),
       {"--shard", "3/2"},
       "shard 3 does not exist"},
      {"shard not K/N",
       Job("path = \"data\"\n", kCat),
       {"--set", "input.shard=half"},
       "must be K/N"},
      {"cwd missing",
       Job("path = \"data\"\n", kCat + "cwd = \"/nonexistent\"\n"),
       {},
       "command.cwd \"/nonexistent\""},
      {"cwd a file", Job("path = \"data\"\n", kCat + "cwd = \"list.txt\"\n"), {}, "command.cwd"},
      {"stdout_path outside the run",
       Job("path = \"data\"\n", kCat + "stdout = \"file\"\nstdout_path = \"/tmp/m/{name}\"\n"),
       {},
       "is not inside the run directory"},
      {"items file missing",
       Job("path = \"data\"\nitems = \"gone.txt\"\n", kCat),
       {},
       "cannot open items file"},
      {"output.dir is the walked tree",
       Job("path = \"data\"\n", kCat),
       {},
       "is input.path",
       "data"},
  };
}

std::string FirstLine(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

// The /dev/shm entries of segments made by the master with pid `pid`.
std::vector<std::string> SegmentsOf(pid_t pid) {
  std::vector<std::string> mine;
  for (const std::string& name : DevShmEntries()) {
    if (name.starts_with("shoal-" + std::to_string(pid) + "-")) mine.push_back(name);
  }
  return mine;
}

class CheckIsRun : public E2e {
 protected:
  const std::string kReadOnlyShm =
      "mount -t tmpfs -o ro,size=64k shoal-check-test /dev/shm 2>/dev/null || exit 77\n"
      "exec \"$@\"\n";

  bool CanMountReadOnlyShm() {
    ProcessResult r = Run({"unshare", "-m", "sh", "-c", kReadOnlyShm, "sh", "true"});
    return r.status == 0;
  }
};

TEST_F(CheckIsRun, EveryBadSettingIsRefusedAlikeAndRunMakesNothing) {
  WriteFile(dir_ / "data" / "a.txt", "a\n");
  WriteFile(dir_ / "list.txt", "data/a.txt\n");
  const bool read_only_shm = CanMountReadOnlyShm();
  if (!read_only_shm) std::fprintf(stderr, "note: no mount namespace; segments checked by pid\n");
  const std::vector<BadSetting> table = BadSettings();
  ASSERT_GE(table.size(), 12u);
  for (const BadSetting& bad : table) {
    SCOPED_TRACE(bad.name);
    WriteFile(dir_ / "bad.toml", bad.toml);
    const fs::path out = bad.output_dir.empty() ? runs_ : dir_ / bad.output_dir;
    std::set<fs::path> before;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec)) before.insert(e.path());
    std::vector<std::string> tail{"bad.toml", "-o", out.string()};
    tail.insert(tail.end(), bad.args.begin(), bad.args.end());

    std::vector<std::string> check_args{"check"};
    check_args.insert(check_args.end(), tail.begin(), tail.end());
    ProcessResult check = Shoal(check_args);

    std::vector<std::string> run_argv = WithShoal({"run"});
    run_argv.insert(run_argv.end(), tail.begin(), tail.end());
    ProcessResult run;
    if (read_only_shm) {
      std::vector<std::string> argv{"unshare", "-m", "sh", "-c", kReadOnlyShm, "sh"};
      argv.insert(argv.end(), run_argv.begin(), run_argv.end());
      run = Run(argv);
    } else {
      Child child(run_argv, dir_, NextCapture());
      const pid_t pid = child.pid();
      run = child.Wait(seconds(60));
      EXPECT_TRUE(SegmentsOf(pid).empty()) << "run left a shared-memory segment";
    }

    EXPECT_EQ(check.status, 2) << Describe(check);
    EXPECT_EQ(run.status, 2) << Describe(run);
    EXPECT_NE(FirstLine(check.err).find(bad.says), std::string::npos) << check.err;
    EXPECT_EQ(FirstLine(check.err), FirstLine(run.err));
    EXPECT_TRUE(FirstLine(run.err).starts_with("shoal: ")) << run.err;
    std::set<fs::path> after;
    for (const auto& e : fs::directory_iterator(out, ec)) after.insert(e.path());
    EXPECT_EQ(after, before) << "run made something in " << out;
  }
  EXPECT_FALSE(fs::exists(runs_)) << "a run made " << runs_;
}

// The same settings with the mistake fixed pass both: the table's errors are
// the mistakes, not the rest of each file.
TEST_F(CheckIsRun, TheGoodSettingPassesBoth) {
  WriteFile(dir_ / "data" / "a.txt", "a\n");
  WriteFile(dir_ / "bad.toml", Job("path = \"data\"\ninclude = [\"[a]*\"]\n", kCat));
  ProcessResult check = Shoal({"check", "bad.toml", "-o", runs_.string(), "--shard", "0/2"});
  EXPECT_EQ(check.status, 0) << Describe(check);
  EXPECT_FALSE(fs::exists(runs_));
  ProcessResult run = Shoal({"run", "bad.toml", "-o", runs_.string(), "--shard", "0/1"});
  EXPECT_EQ(run.status, 0) << Describe(run);
  EXPECT_EQ(RunDirs().size(), 1u);
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
