#include "master/dry_run.h"

#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/shell_quote.h"
#include "common/timestamp.h"
#include "job/argv_builder.h"
#include "job/item_paths.h"
#include "master/resume.h"
#include "master/run_dir.h"

namespace shoal {

namespace {

// Output is gathered and written in chunks of about this size: a dry run over
// a large tree prints one line per item, and a stdio call per line costs more
// than building the line.
constexpr size_t kOutputChunk = 256 * 1024;

// The argv a worker would run for one item (as the command handler builds
// it); the sha256 and plugin handlers run in-process and show as a pseudo-argv.
class DryRunArgv {
 public:
  static Result<DryRunArgv> Make(const Settings& s) {
    DryRunArgv d(s);
    if (s.job.handler != HandlerKind::kCommand) return d;
    Result<ArgvBuilder> line = ArgvBuilder::Compile(s.command);
    if (!line.ok()) return Status::Error("command.argv: " + line.status().message());
    d.line_ = std::move(line).value();
    return d;
  }

  unsigned fields() const {
    return settings_->job.handler == HandlerKind::kCommand ? line_.fields() : kFieldPath;
  }

  Status Build(const ItemPaths& paths, std::vector<std::string>* argv) const {
    switch (settings_->job.handler) {
      case HandlerKind::kSha256:
        *argv = {"sha256", paths.path};
        return Status::Ok();
      case HandlerKind::kPlugin:
        *argv = {"plugin", settings_->plugin.library, paths.path};
        return Status::Ok();
      case HandlerKind::kCommand:
        break;
    }
    return line_.Build(paths, /*make_out_dir=*/false, argv);
  }

 private:
  explicit DryRunArgv(const Settings& s) : settings_(&s) {}
  const Settings* settings_;
  ArgvBuilder line_;
};

Status Flush(std::string* out) {
  std::fflush(stdout);
  Status s = WriteAll(STDOUT_FILENO, *out, "standard output");
  out->clear();
  return s;
}

}  // namespace

int DryRun(const Settings& s, const RunOptions& options) {
  auto input = OpenJobInput(s, options);
  if (!input.ok()) {
    std::fprintf(stderr, "shoal: %s\n", input.status().message().c_str());
    return kExitUsage;
  }
  // The {run} a real run started now would most likely get (not -2, -3).
  const std::string run_dir =
      options.resume_dir.empty() ? RunDirName(s, RunStamp()) : options.resume_dir;
  Result<DryRunArgv> builder = DryRunArgv::Make(s);
  if (!builder.ok()) {
    std::fprintf(stderr, "shoal: %s\n", builder.status().message().c_str());
    return kExitUsage;
  }
  ItemSource& source = *input->source;
  const unsigned fields = builder->fields();
  std::string out;
  out.reserve(kOutputChunk + 4096);
  std::vector<std::string> argv;
  Item item;
  ItemPaths paths;
  Status written;
  while (written.ok() && source.Next(&item)) {
    if (options.resume && options.resume->done.Contains(item.index)) continue;
    Status built = Status::Error(item.error);
    if (item.error.empty()) {
      FillItemPaths(s, input->kind, item.text, item.index, 1, run_dir, &paths, fields);
      built = builder->Build(paths, &argv);
    }
    if (!built.ok()) {
      written = Flush(&out);
      std::fprintf(stderr, "shoal: item %llu would fail: %s\n",
                   static_cast<unsigned long long>(item.index), built.message().c_str());
      continue;
    }
    for (size_t i = 0; i < argv.size(); ++i) {
      if (i > 0) out.push_back(' ');
      AppendShellWord(&out, argv[i]);
    }
    out.push_back('\n');
    if (out.size() >= kOutputChunk) written = Flush(&out);
  }
  if (written.ok()) written = Flush(&out);
  if (!written.ok()) {
    std::fprintf(stderr, "shoal: dry run: %s\n", written.message().c_str());
    return kExitInternal;
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
