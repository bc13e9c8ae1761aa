// What a run or a dry run reads, and the checks that must pass before
// anything is created: the input kind, the command templates every worker
// will compile, the plugin library every worker will load.
#include <filesystem>

#include "job/argv_builder.h"
#include "job/command_cwd.h"
#include "job/http_request.h"
#include "job/output_file.h"
#include "job/plugin_library.h"
#include "job/template.h"
#include "master/master.h"
#include "master/read_ahead.h"
#include "master/resume.h"
#include "master/retry.h"

namespace shoal {
namespace {

// command.stdout_path must name a file inside the run directory for every
// item; a fixed part that cannot would fail every item at run time.
Status CheckStdoutPath(const CommandSettings& command, const std::string& tree) {
  if (command.stdout_mode != StdoutMode::kFile) return Status::Ok();
  const std::string& text = command.stdout_path;
  Result<Template> t = Template::Parse(text);
  if (!t.ok()) return Status::Error("command.stdout_path: " + t.status().message());
  Status inside = t->CheckInsideRun(tree);
  if (inside.ok()) return inside;
  // The suggestion keeps what follows the fixed directories: "/data/mirror/{rel}.gz"
  // becomes "{out}/{rel}.gz".
  size_t brace = text.find('{', text.starts_with("{run}") || text.starts_with("{out}") ? 5 : 0);
  size_t slash = text.rfind('/', brace == std::string::npos ? std::string::npos : brace);
  std::string rest = slash == std::string::npos ? text : text.substr(slash + 1);
  return Status::Error("command.stdout_path \"" + text + "\" is not inside the run directory (" +
                       inside.message() + "): write it under {out}, e.g. \"{out}/" + rest + "\"");
}

}  // namespace

Status CheckJob(const Settings& s) {
  Status tree = CheckOutputTree(s.output.tree, /*create=*/false);
  if (!tree.ok()) return tree;
  if (s.job.handler == HandlerKind::kPlugin) return CheckPluginLibrary(s.plugin.library);
  if (s.job.handler == HandlerKind::kHttp) return CheckHttpJob(s, nullptr);
  if (s.job.handler == HandlerKind::kCommand) {
    // What every worker will compile, checked once before anything runs.
    Result<ArgvBuilder> argv = ArgvBuilder::Compile(s.command);
    if (!argv.ok()) return Status::Error("command.argv: " + argv.status().message());
    Status stdout_path = CheckStdoutPath(s.command, s.output.tree);
    if (!stdout_path.ok()) return stdout_path;
    return CheckFixedCwd(s.command);
  }
  return Status::Ok();
}

Result<JobInput> OpenJobInput(const Settings& s, const RunOptions& options) {
  JobInput input;
  auto kind = ResolveInputKind(s.input);
  if (!kind.ok()) return kind.status();
  input.kind = *kind;
  Status checked = CheckJob(s);
  if (!checked.ok()) return checked;
  if (!options.dry_run) {
    checked = CheckOutputTree(s.output.tree, /*create=*/true);
    if (!checked.ok()) return checked;
  }
  input.items = options.items_file.empty() ? s.input.items : options.items_file;
  if (!options.retry_items.empty()) {
    // shoal retry: the failed records, with their indices, not the input.
    auto retry = OpenRetryItems(options.retry_items);
    if (!retry.ok()) return retry.status();
    input.source = std::move(*retry);
    return input;
  }
  if (!input.items.empty() && input.items != "-") {
    input.items = std::filesystem::absolute(input.items).lexically_normal();
  }
  auto source = OpenItemSource(s, input.items);
  if (!source.ok()) return source.status();
  input.source = std::move(*source);
  if (input.kind == InputKind::kTree && input.items.empty()) {
    // A walk is mostly getdents64 and sorting: on a thread of its own it
    // overlaps dispatch rather than adding to it.
    auto ahead = ReadAhead::Start(std::move(input.source));
    if (!ahead.ok()) return ahead.status();
    input.source = std::move(*ahead);
  }
  return input;
}

}  // namespace shoal
