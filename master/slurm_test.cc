#include "master/slurm.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "common/test_util.h"
#include "config/load.h"
#include "master/run_state.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

using test::ReadFile;

void WriteFile(const fs::path& path, const std::string& text, fs::perms perms) {
  test::WriteFile(path, text);
  fs::permissions(path, perms);
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

SlurmJob Job() {
  SlurmJob job;
  job.shoal = "/opt/shoal/bin/shoal";
  job.dir = "/shared/runs/sums-20261122-031500-slurm";
  job.name = "shoal-sums";
  job.shards = 4;
  return job;
}

class SlurmFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/shoal-slurm-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { fs::remove_all(root_); }

  // `bash -n`: the text parses as a bash script.
  bool BashParses(const std::string& script) {
    const fs::path path = root_ / "check.sh";
    WriteFile(path, script, fs::perms::owner_all);
    return std::system(("bash -n " + path.string()).c_str()) == 0;
  }

  fs::path root_;
};

TEST(SlurmScriptTest, ShardsScriptIsAnArrayOfShoalRuns) {
  const std::string s = ShardsScript(Job());
  EXPECT_TRUE(s.starts_with("#!/bin/bash\n"));
  EXPECT_TRUE(Contains(s, "\n#SBATCH --job-name=shoal-sums\n")) << s;
  EXPECT_TRUE(Contains(s, "\n#SBATCH --array=0-3\n")) << s;
  EXPECT_TRUE(
      Contains(s, "\n#SBATCH --output=/shared/runs/sums-20261122-031500-slurm/shard-%a.out\n"))
      << s;
  EXPECT_FALSE(Contains(s, "--partition")) << s;
  EXPECT_FALSE(Contains(s, "--cpus-per-task")) << s;
  // The shard comes from the array's environment, not from the command line.
  EXPECT_TRUE(Contains(s,
                       "\nexec /opt/shoal/bin/shoal run "
                       "/shared/runs/sums-20261122-031500-slurm/settings.toml --no-progress\n"))
      << s;
  EXPECT_FALSE(Contains(s, "--shard")) << s;
  // Every #SBATCH line comes before the first command, or sbatch ignores it.
  EXPECT_LT(s.rfind("#SBATCH"), s.find("\nexec "));
}

TEST(SlurmScriptTest, OptionsBecomeDirectivesOfBothJobs) {
  SlurmJob job = Job();
  job.partition = "batch";
  job.time = "2:00:00";
  job.cpus_per_task = 8;
  job.sbatch_args = {"--mem=8G", "--account=proj"};
  const std::string shards = ShardsScript(job);
  const std::string merge = MergeScript(job);
  for (const std::string& s : {shards, merge}) {
    EXPECT_TRUE(Contains(s, "\n#SBATCH --partition=batch\n")) << s;
    EXPECT_TRUE(Contains(s, "\n#SBATCH --time=2:00:00\n")) << s;
    EXPECT_TRUE(Contains(s, "\n#SBATCH --mem=8G\n#SBATCH --account=proj\n")) << s;
  }
  EXPECT_TRUE(Contains(shards, "\n#SBATCH --cpus-per-task=8\n")) << shards;
  EXPECT_FALSE(Contains(merge, "--cpus-per-task")) << merge;
}

TEST(SlurmScriptTest, MergeScriptMergesEveryShardDirectory) {
  const std::string s = MergeScript(Job());
  EXPECT_TRUE(Contains(s, "\n#SBATCH --job-name=shoal-sums-merge\n")) << s;
  EXPECT_TRUE(Contains(s, "\n#SBATCH --output=/shared/runs/sums-20261122-031500-slurm/merge.out\n"))
      << s;
  EXPECT_TRUE(Contains(s, "shards=(/shared/runs/sums-20261122-031500-slurm/shards/*/)")) << s;
  EXPECT_TRUE(Contains(s,
                       "\nexec /opt/shoal/bin/shoal merge \"${shards[@]}\" -o "
                       "/shared/runs/sums-20261122-031500-slurm/merged\n"))
      << s;
  EXPECT_FALSE(Contains(s, "--array")) << s;
}

// shoal retry RUN --shards N: the tasks run their share of RUN's retry, and
// the merge joins them into RUN itself.
TEST(SlurmScriptTest, RetryTasksRunShardsOfTheRetryThatMergeJoinsIntoTheRun) {
  SlurmJob job = Job();
  job.dir = "/shared/runs/sums-1/retries/1/sums-20261122-041500-slurm";
  job.retry_of = "/shared/runs/sums-1";
  EXPECT_EQ(MergedDir(job), "/shared/runs/sums-1");
  EXPECT_EQ(MergedDir(Job()), "/shared/runs/sums-20261122-031500-slurm/merged");
  const std::string shards = ShardsScript(job);
  EXPECT_TRUE(Contains(shards,
                       "\nexec /opt/shoal/bin/shoal retry /shared/runs/sums-1 --shard "
                       "\"$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT\" --no-progress\n"))
      << shards;
  const std::string merge = MergeScript(job);
  EXPECT_TRUE(Contains(merge,
                       "\nexec /opt/shoal/bin/shoal merge \"${shards[@]}\" -o "
                       "/shared/runs/sums-1\n"))
      << merge;
  EXPECT_TRUE(Contains(SubmitScript(job), "once job $merge has ended: \"/shared/runs/sums-1"))
      << SubmitScript(job);
}

TEST(SlurmScriptTest, SubmitScriptChainsTheMergeAfterTheArray) {
  const std::string s = SubmitScript(Job());
  const size_t array =
      s.find("sbatch --parsable /shared/runs/sums-20261122-031500-slurm/shards.sbatch");
  const size_t merge = s.find(
      "sbatch --parsable --dependency=afterany:\"$array\" "
      "/shared/runs/sums-20261122-031500-slurm/merge.sbatch");
  ASSERT_NE(array, std::string::npos) << s;
  ASSERT_NE(merge, std::string::npos) << s;
  EXPECT_LT(array, merge);
  EXPECT_TRUE(Contains(s, "array=${array%%;*}")) << s;  // "12;cluster" -> "12"
}

TEST_F(SlurmFilesTest, ScriptsParseAsBashWithOddPaths) {
  SlurmJob job = Job();
  job.shoal = "/opt/it's here/shoal";  // quoted in commands
  for (const std::string& s : {ShardsScript(job), MergeScript(job), SubmitScript(job)}) {
    EXPECT_TRUE(BashParses(s)) << s;
  }
  EXPECT_TRUE(Contains(ShardsScript(job), "exec '/opt/it'\\''s here/shoal' run "))
      << ShardsScript(job);
}

TEST_F(SlurmFilesTest, WritesTheJobDirectory) {
  Settings settings;
  settings.job.name = "my sums";
  settings.input.path = "/data";
  settings.output.dir = (root_ / "runs").string();
  SlurmCommandLine options;
  options.shards = 3;
  options.cpus_per_task = 4;
  Result<SlurmJob> job = WriteSlurmJob(settings, options, "/opt/shoal/shoal");
  ASSERT_TRUE(job.ok()) << job.status().message();
  EXPECT_EQ(fs::path(job->dir).parent_path(), root_ / "runs");
  EXPECT_TRUE(fs::path(job->dir).filename().string().starts_with("my_sums-")) << job->dir;
  EXPECT_TRUE(job->dir.ends_with("-slurm")) << job->dir;
  EXPECT_EQ(job->name, "shoal-my_sums");
  EXPECT_TRUE(fs::is_directory(job->dir + "/shards"));
  EXPECT_EQ(ReadFile(job->dir + "/shards.sbatch"), ShardsScript(*job));
  EXPECT_EQ(ReadFile(job->dir + "/merge.sbatch"), MergeScript(*job));
  EXPECT_EQ(ReadFile(job->dir + "/submit.sh"), SubmitScript(*job));
  EXPECT_NE(fs::status(job->dir + "/submit.sh").permissions() & fs::perms::owner_exec,
            fs::perms::none);

  // The frozen settings: shards write under shards/, one worker per CPU given.
  Result<Settings> frozen = LoadSettings(job->dir + "/settings.toml", {});
  ASSERT_TRUE(frozen.ok()) << frozen.status().message();
  EXPECT_EQ(frozen->output.dir, job->dir + "/shards");
  EXPECT_EQ(frozen->input.shard, "");
  EXPECT_EQ(frozen->job.workers, 4);
  EXPECT_EQ(frozen->input.path, "/data");

  // A second job in the same second gets its own directory.
  Result<SlurmJob> again = WriteSlurmJob(settings, options, "/opt/shoal/shoal");
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_NE(again->dir, job->dir);
}

TEST_F(SlurmFilesTest, RefusesAnOutputDirThatSbatchCannotTake) {
  Settings settings;
  settings.output.dir = (root_ / "my runs").string();
  SlurmCommandLine options;
  options.shards = 2;
  Result<SlurmJob> job = WriteSlurmJob(settings, options, "/opt/shoal/shoal");
  ASSERT_FALSE(job.ok());
  EXPECT_TRUE(Contains(job.status().message(), "-o DIR")) << job.status().message();
}

// sbatch and scontrol faked by scripts on PATH.
class FakeSlurmTest : public SlurmFilesTest {
 protected:
  void SetUp() override {
    SlurmFilesTest::SetUp();
    fs::create_directories(root_ / "bin");
    const char* path = std::getenv("PATH");
    old_path_ = path == nullptr ? "" : path;
    ::setenv("PATH", ((root_ / "bin").string() + ":" + old_path_).c_str(), 1);
    job_ = Job();
    job_.dir = (root_ / "job").string();
    fs::create_directories(job_.dir);
  }
  void TearDown() override {
    ::setenv("PATH", old_path_.c_str(), 1);
    SlurmFilesTest::TearDown();
  }
  void Fake(const std::string& name, const std::string& body) {
    WriteFile(root_ / "bin" / name, "#!/bin/sh\n" + body, fs::perms::owner_all);
  }

  std::string old_path_;
  SlurmJob job_;
};

TEST_F(FakeSlurmTest, SubmitsTheArrayThenTheDependentMerge) {
  const std::string calls = (root_ / "calls").string();
  Fake("sbatch", "echo \"$*\" >>" + calls +
                     "\ncase \"$*\" in *shards.sbatch) echo '41;cluster' ;; *) echo 42 ;; esac\n");
  Result<SubmittedJob> submitted = SubmitSlurmJob(job_);
  ASSERT_TRUE(submitted.ok()) << submitted.status().message();
  EXPECT_EQ(submitted->array_id, "41");
  EXPECT_EQ(submitted->merge_id, "42");
  EXPECT_EQ(ReadFile(calls), "--parsable " + job_.dir + "/shards.sbatch\n--parsable " +
                                 "--dependency=afterany:41 " + job_.dir + "/merge.sbatch\n");
  EXPECT_EQ(ReadFile(job_.dir + "/jobs.txt"), "shards 41\nmerge 42\n");
}

TEST_F(FakeSlurmTest, SbatchFailureIsAnError) {
  Fake("sbatch", "echo 'sbatch: error: invalid partition' >&2\nexit 1\n");
  Result<SubmittedJob> submitted = SubmitSlurmJob(job_);
  ASSERT_FALSE(submitted.ok());
  EXPECT_TRUE(Contains(submitted.status().message(), "exit status 1"))
      << submitted.status().message();
}

TEST_F(FakeSlurmTest, WaitReturnsTheMergeJobsExitStatus) {
  Fake("scontrol",
       "echo 'JobId=42 JobName=shoal-sums-merge JobState=FAILED Reason=NonZeroExitCode "
       "ExitCode=1:0'\n");
  EXPECT_EQ(WaitForMergeJob(job_, "42"), 1);
  Fake("scontrol", "echo 'JobId=42 JobState=COMPLETED Reason=None ExitCode=0:0'\n");
  EXPECT_EQ(WaitForMergeJob(job_, "42"), 0);
  Fake("scontrol", "echo 'JobId=42 JobState=CANCELLED Reason=None ExitCode=0:15'\n");
  EXPECT_EQ(WaitForMergeJob(job_, "42"), 3);
}

// Once the controller has forgotten the job (after MinJobAge), the merged
// run's run.json says how the merge ended.
TEST_F(FakeSlurmTest, WaitReadsTheMergedRunJsonOnceSlurmForgetsTheJob) {
  Fake("scontrol", "echo 'slurm_load_jobs error: Invalid job id specified' >&2\nexit 1\n");
  RunState merged = RunState::Start("", 0, 0, 0);
  merged.End(1, 5, 1);
  fs::create_directories(job_.dir + "/merged");
  ASSERT_TRUE(WriteRunState(job_.dir + "/merged", merged).ok());
  EXPECT_EQ(WaitForMergeJob(job_, "42"), 1);
}

TEST_F(FakeSlurmTest, WaitPollsUntilTheJobEnds) {
  const std::string count = (root_ / "count").string();
  // PENDING twice, then COMPLETED.
  Fake("scontrol", "n=$(cat " + count + " 2>/dev/null || echo 0); echo $((n + 1)) >" + count +
                       "\nif [ $n -lt 2 ]; then echo 'JobId=42 JobState=PENDING ExitCode=0:0';"
                       " else echo 'JobId=42 JobState=COMPLETED ExitCode=0:0'; fi\n");
  EXPECT_EQ(WaitForMergeJob(job_, "42"), 0);
  EXPECT_EQ(ReadFile(count), "3\n");
}

}  // namespace
}  // namespace shoal
