#include "master/dry_run.h"

#include <time.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/shell_quote.h"
#include "master/resume.h"
#include "worker/command_handler.h"
#include "worker/handler.h"

namespace shoal {

namespace {

// The argv a worker would run for one item (as the command handler builds
// it); the sha256 and plugin handlers run in-process and show as a pseudo-argv.
Result<std::vector<std::string>> DryRunArgv(const Settings& s, const ItemPaths& paths) {
  switch (s.job.handler) {
    case HandlerKind::kSha256:
      return std::vector<std::string>{"sha256", paths.path};
    case HandlerKind::kPlugin:
      return std::vector<std::string>{"plugin", s.plugin.library, paths.path};
    case HandlerKind::kCommand:
      break;
  }
  return CommandArgv(s.command, paths, /*make_out_dir=*/false);
}

}  // namespace

int DryRun(const Settings& s, const RunOptions& options) {
  auto input = OpenJobInput(s, options);
  if (!input.ok()) {
    std::fprintf(stderr, "shoal: %s\n", input.status().message().c_str());
    return kExitUsage;
  }
  std::string run_dir = options.resume_dir;
  if (run_dir.empty()) {
    time_t now = ::time(nullptr);
    struct tm tm;
    ::localtime_r(&now, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    run_dir = s.output.dir + "/" + s.job.name + "-" + stamp;
  }
  ItemSource& source = *input->source;
  std::string line;
  Item item;
  ItemPaths paths;
  while (source.Next(&item)) {
    if (options.resume && options.resume->done.Contains(item.index)) continue;
    Result<std::vector<std::string>> argv = Status::Error(item.error);
    if (item.error.empty()) {
      FillItemPaths(s, input->kind, item.text, item.index, 1, run_dir, &paths);
      argv = DryRunArgv(s, paths);
    }
    if (!argv.ok()) {
      std::fflush(stdout);
      std::fprintf(stderr, "shoal: item %llu would fail: %s\n",
                   static_cast<unsigned long long>(item.index), argv.status().message().c_str());
      continue;
    }
    line.clear();
    for (const std::string& arg : *argv) {
      if (!line.empty()) line.push_back(' ');
      AppendShellWord(&line, arg);
    }
    line.push_back('\n');
    std::fwrite(line.data(), 1, line.size(), stdout);
  }
  std::fflush(stdout);
  for (const std::string& w : source.TakeWarnings())
    std::fprintf(stderr, "shoal: input: %s\n", w.c_str());
  if (!source.status().ok()) {
    std::fprintf(stderr, "shoal: %s\n", source.status().message().c_str());
    return kExitInternal;
  }
  return kExitOk;
}

}  // namespace shoal
