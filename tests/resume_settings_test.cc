// Workers run exactly the settings the master runs by: overrides given to
// `shoal resume` reach the commands of the items it runs, and the run's own
// settings.toml records them for the next resume or retry.
#include <signal.h>

#include <fstream>
#include <regex>

#include "common/test_util.h"
#include "tests/e2e_support.h"

namespace shoal {
namespace e2e {
namespace {

class ResumeSettings : public E2e {
 protected:
  // A run of items a, b, c whose first item fails and halts it: b and c are
  // left without a record, for resume.
  void HaltAfterTheFirstItem(fs::path* run) {
    WriteFile(dir_ / "items.txt", "a\nb\nc\n");
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"halted\"\nworkers = 1\nmax_failures = 1\n"
              "[input]\npath = \"items.txt\"\n"
              "[command]\nargv = [\"false\"]\n"
              "[queue]\nbatch = 1\n");
    std::vector<Record> results, errors;
    ASSERT_NO_FATAL_FAILURE(RunAndRead(1, run, &results, &errors));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].item, "a");
    EXPECT_TRUE(results.empty());
  }

  ProcessResult Resume(const fs::path& run, const std::vector<std::string>& sets) {
    std::vector<std::string> args{"resume", run.string(), "--set", "job.max_failures=0"};
    for (const std::string& s : sets) {
      args.push_back("--set");
      args.push_back(s);
    }
    return Shoal(args);
  }
};

TEST_F(ResumeSettings, ACommandGivenToResumeIsTheOneThatRuns) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(HaltAfterTheFirstItem(&run));
  ProcessResult r = Resume(run, {R"(command.argv=["echo","new","{item}"])"});
  ASSERT_EQ(r.status, 1) << Describe(r);  // item a failed before the resume
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, {"a", "b", "c"});
  ASSERT_EQ(results.size(), 2u);
  for (const Record& rec : results) {
    EXPECT_EQ(rec.output.value_or(""), "new " + rec.item + "\n") << rec.item;
  }
  // What the next resume or retry of this run reads.
  std::string settings = ReadFile(run / "settings.toml");
  EXPECT_NE(settings.find(R"(argv = ["echo", "new", "{item}"])"), std::string::npos) << settings;
  EXPECT_FALSE(fs::exists(run / "settings.toml.tmp"));
}

TEST_F(ResumeSettings, ATimeoutGivenToResumeHoldsForTheCommands) {
  fs::path run;
  ASSERT_NO_FATAL_FAILURE(HaltAfterTheFirstItem(&run));
  // Without the new timeout these would succeed (the master's own watch
  // gives a command 5 s beyond job.timeout, and there was none).
  ProcessResult r = Resume(run, {R"(command.argv=["sleep","3"])", "job.timeout=200ms"});
  ASSERT_EQ(r.status, 1) << Describe(r);
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadRun(run, &results, &errors));
  ExpectEachItemOnce(results, errors, {"a", "b", "c"});
  EXPECT_TRUE(results.empty());
  auto reasons = ReasonsByItem(errors);
  EXPECT_EQ(reasons["b"], "timeout");
  EXPECT_EQ(reasons["c"], "timeout");
}

// A replacement worker reads the run's settings.toml again: if it no longer
// holds what the master runs by, the worker refuses to start and says why,
// rather than run other settings than the workers before it.
TEST_F(ResumeSettings, AWorkerRefusesSettingsThatChangedUnderItsMaster) {
  std::string list;
  for (int i = 1; i <= 200; ++i) list += std::to_string(i) + "\n";
  WriteFile(dir_ / "items.txt", list);
  WriteFile(dir_ / "settings.toml",
            "[job]\nname = \"edited\"\nworkers = 1\n"
            "[input]\npath = \"items.txt\"\n"
            "[command]\nargv = [\"sleep\", \"0.05\"]\n");
  Child run(WithShoal({"run", "settings.toml", "-o", runs_.string()}), dir_, NextCapture());
  fs::path dir;
  fs::path log;
  pid_t worker = 0;
  ASSERT_TRUE(test::WaitFor(
      [&] {
        if (!NewRunDir({}, &dir)) return false;
        log = dir / "log.txt";
        std::smatch m;
        const std::string text = ReadFile(log);
        static const std::regex started(R"(worker 1 started, pid (\d+))");
        if (!std::regex_search(text, m, started)) return false;
        worker = std::stoi(m[1]);
        return true;
      },
      std::chrono::seconds(60)))
      << "no worker started";
  std::ofstream(dir / "settings.toml", std::ios::app) << "# edited during the run\n";
  ASSERT_EQ(kill(worker, SIGKILL), 0);
  ProcessResult r = run.Wait(std::chrono::seconds(120));
  EXPECT_EQ(r.status, 3) << Describe(r);
  EXPECT_NE(r.err.find("is not the settings this run started with"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("could not start"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
