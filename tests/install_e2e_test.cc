// Where shoal finds shoal-worker (issue 12): beside itself (the build tree),
// or in libexec/shoal/ relative to its bin/ (an installed tree); with neither,
// run, slurm, resume and retry say so, naming both places, before they create
// or change anything. Each test copies the built binaries into a layout of
// its own.

#include "tests/e2e_support.h"

#ifndef SHOAL_LIBEXEC_FROM_BIN
#error "SHOAL_LIBEXEC_FROM_BIN must be the libexec directory relative to bin (GNUInstallDirs)"
#endif

namespace shoal {
namespace e2e {
namespace {

class Install : public E2e {
 protected:
  void SetUp() override {
    E2e::SetUp();
    WriteFile(dir_ / "data" / "a.txt", "a\n");
    WriteFile(dir_ / "data" / "b.txt", "b\n");
    WriteFile(dir_ / "settings.toml",
              "[job]\nname = \"install\"\nworkers = 1\nhandler = \"sha256\"\n\n"
              "[input]\npath = \"data\"\n");
  }

  // Copies the built shoal (and shoal-worker into `worker_dir`, if given)
  // under dir_/prefix; returns the copied shoal.
  fs::path Lay(const std::string& worker_dir) {
    const fs::path built = SHOAL_BIN;
    const fs::path bin = dir_ / "prefix" / "bin";
    fs::create_directories(bin);
    fs::copy_file(built, bin / "shoal");
    if (!worker_dir.empty()) {
      const fs::path dest = (bin / worker_dir).lexically_normal();
      fs::create_directories(dest);
      fs::copy_file(built.parent_path() / "shoal-worker", dest / "shoal-worker");
    }
    return bin / "shoal";
  }

  ProcessResult RunWith(const fs::path& shoal, const std::vector<std::string>& args) {
    std::vector<std::string> argv{shoal.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return Run(argv);
  }
};

TEST_F(Install, WorkerInLibexecIsFound) {
  const fs::path shoal = Lay(std::string(SHOAL_LIBEXEC_FROM_BIN) + "/shoal");
  ProcessResult r = RunWith(shoal, {"run", "settings.toml", "-o", runs_.string(), "-q"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  fs::path run;
  std::vector<Record> results, errors;
  ASSERT_TRUE(ReadOnlyRun(&run, &results, &errors));
  EXPECT_EQ(Items(results), (std::vector<std::string>{"a.txt", "b.txt"}));
  EXPECT_TRUE(errors.empty());
}

TEST_F(Install, WorkerBesideShoalIsFound) {
  const fs::path shoal = Lay(".");
  ProcessResult r = RunWith(shoal, {"run", "settings.toml", "-o", runs_.string(), "-q"});
  ASSERT_EQ(r.status, 0) << Describe(r);
  EXPECT_EQ(RunDirs().size(), 1u);
}

// Before, a lone shoal failed with exit 3 only when starting the first worker,
// and left an empty run directory behind.
TEST_F(Install, NoWorkerIsSaidBeforeAnythingIsCreated) {
  const fs::path shoal = Lay("");
  const std::string beside = (shoal.parent_path() / "shoal-worker").string();
  const std::string libexec =
      (shoal.parent_path() / SHOAL_LIBEXEC_FROM_BIN / "shoal" / "shoal-worker")
          .lexically_normal()
          .string();
  const std::vector<std::vector<std::string>> commands = {
      {"run", "settings.toml", "-o", runs_.string()},
      {"slurm", "settings.toml", "--shards", "2", "-o", runs_.string()},
      {"check", "settings.toml", "-o", runs_.string()},  // what run would say
  };
  for (const std::vector<std::string>& args : commands) {
    SCOPED_TRACE(args[0]);
    ProcessResult r = RunWith(shoal, args);
    EXPECT_EQ(r.status, 3) << Describe(r);
    EXPECT_NE(r.err.find("cannot find shoal-worker"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(beside), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(libexec), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(runs_)) << "shoal " << args[0] << " created " << runs_;
  }
}

// resume and retry open an existing run directory: a lone shoal leaves it as it was.
TEST_F(Install, NoWorkerLeavesARunDirectoryAsItWas) {
  ASSERT_EQ(Shoal({"run", "settings.toml", "-o", runs_.string(), "-q"}).status, 0);
  fs::path run;
  ASSERT_TRUE(NewRunDir({}, &run));
  auto snapshot = [&run] {
    std::map<std::string, std::string> files;
    for (const auto& entry : fs::recursive_directory_iterator(run)) {
      files[entry.path().string()] = entry.is_regular_file() ? ReadFile(entry.path()) : "(dir)";
    }
    return files;
  };
  const auto before = snapshot();
  const fs::path shoal = Lay("");
  for (const char* verb : {"resume", "retry"}) {
    SCOPED_TRACE(verb);
    ProcessResult r = RunWith(shoal, {verb, run.string()});
    EXPECT_EQ(r.status, 3) << Describe(r);
    EXPECT_NE(r.err.find("cannot find shoal-worker"), std::string::npos) << r.err;
    EXPECT_EQ(snapshot(), before);
  }
}

}  // namespace
}  // namespace e2e
}  // namespace shoal
