// Workers run exactly the settings the master runs by: overrides given to
// `shoal resume` reach the commands of the items it runs, and the run's own
// settings.toml records them for the next resume or retry.
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

}  // namespace
}  // namespace e2e
}  // namespace shoal
